"""Naming a factory so that another process can import it, and building its tree.

A worker is a new Python process (never a fork): it finds the factory again by
name.  A reference is plain JSON: ``{"module": NAME, "qualname": QUALNAME}``, or
``{"path": FILE, "qualname": QUALNAME}`` for a function of the script being run
(``__main__``), which the worker loads under another module name so that its
``if __name__ == "__main__":`` block does not run again.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any

from ..core import Manager

__all__ = ["Factory", "build", "load", "reference"]

Factory = Callable[[], Manager]

# The module name a worker gives the parent's script (as multiprocessing's spawn does).
_MAIN_ALIAS = "__trio_circuits_main__"


def reference(factory: Factory | str) -> dict[str, str]:
    """A JSON-able reference to ``factory`` (a callable, or ``"module:qualname"``).

    Raises:
        TypeError: ``factory`` cannot be imported by name (a lambda, a nested
            function, a ``functools.partial``...).
        ValueError: a string that is not ``"module:qualname"``.
    """
    if isinstance(factory, str):
        module, sep, qualname = factory.partition(":")
        if not sep or not module or not qualname:
            raise ValueError(f"expected 'module:factory', got {factory!r}")
        return {"module": module, "qualname": qualname}
    module_name = getattr(factory, "__module__", None)
    name = getattr(factory, "__qualname__", None)
    if not callable(factory) or module_name is None or name is None or "<" in name:
        raise TypeError(
            f"the factory must be importable by name (a module-level function or class), "
            f"not {factory!r}"
        )
    if module_name == "__main__":
        main = sys.modules["__main__"]
        spec = getattr(main, "__spec__", None)
        if spec is not None and spec.name and spec.name != "__main__":
            return {"module": spec.name, "qualname": name}  # python -m package.module
        path = getattr(main, "__file__", None)
        if path is None:
            raise TypeError(f"{factory!r} is defined at the interactive prompt: use a module")
        return {"path": os.path.abspath(path), "qualname": name}
    return {"module": module_name, "qualname": name}


def load(ref: dict[str, str]) -> Factory:
    """Import the factory ``ref`` names (see :func:`reference`); raises what importing raises."""
    if "path" in ref:
        module = sys.modules.get(_MAIN_ALIAS)
        if module is None:
            spec = importlib.util.spec_from_file_location(_MAIN_ALIAS, ref["path"])
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {ref['path']!r}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[_MAIN_ALIAS] = module
            spec.loader.exec_module(module)
    else:
        module = importlib.import_module(ref["module"])
    found: Any = module
    for part in ref["qualname"].split("."):
        found = getattr(found, part)
    if not callable(found):
        raise TypeError(f"{ref['qualname']!r} is not callable: {found!r}")
    factory: Factory = found
    return factory


def build(factory: Factory) -> Manager:
    """Call ``factory`` and check that it built a root component."""
    root = factory()
    if not isinstance(root, Manager):
        raise TypeError(f"the factory returned {root!r}, not a component")
    if root.parent is not root:
        raise ValueError(f"the factory returned {root!r}, which is not the root of its tree")
    return root
