"""``Loader``: import a module by name and register the component it defines.

A plugin mechanism in circuits' shape: ``loader.load("name")`` (a method, or the
``load`` event on the loader's channel) imports ``name`` from ``sys.path`` (with the
loader's own ``paths`` in front), picks the first component class the module defines
(in alphabetical order, as ``inspect.getmembers`` lists them), instantiates it with the
loader's ``init_args``/``init_kwargs`` and registers it under the loader.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from .components import BaseComponent
from .events import Event
from .handlers import handler
from .utils import safeimport

__all__ = ["Loader", "load"]


class load(Event):
    """Ask a :class:`Loader` to load a module: ``load(name)``; the value is the component."""

    def __init__(self, name: str) -> None:
        super().__init__(name)


class Loader(BaseComponent):
    """Load components from modules by name.

    Args:
        auto_register: register each loaded component under this loader.
        init_args: positional arguments for the loaded component's constructor.
        init_kwargs: keyword arguments for it.
        paths: directories put in front of ``sys.path`` (once) for the imports.
        channel: default ``"loader"``.

    :meth:`load` may be called from any thread, also while the application runs in
    another one (``start()`` mode): registering from another thread is routed into the
    application as :meth:`~trio_circuits.Manager.register` always is.
    """

    channel: Hashable = "loader"

    def __init__(
        self,
        auto_register: bool = True,
        init_args: Sequence[Any] | None = None,
        init_kwargs: Mapping[str, Any] | None = None,
        paths: Iterable[str] | None = None,
        channel: Hashable = "loader",
    ) -> None:
        super().__init__(channel=channel)
        self.auto_register = auto_register
        self.init_args: tuple[Any, ...] = tuple(init_args or ())
        self.init_kwargs: dict[str, Any] = dict(init_kwargs or {})
        self.paths = [str(p) for p in paths or ()]
        for path in reversed(self.paths):
            if path not in sys.path:
                sys.path.insert(0, path)

    @handler("load")
    def load(self, name: str) -> BaseComponent | None:
        """Import (or re-import) module ``name`` and instantiate its component.

        Returns the new component, or ``None`` if the module cannot be imported or
        defines no component class of its own (classes it merely imports are skipped).
        """
        module = safeimport(name)
        if module is None:
            return None

        def defined_here(obj: object) -> bool:
            return (
                inspect.isclass(obj)
                and issubclass(obj, BaseComponent)
                and inspect.getmodule(obj) is module
            )

        classes = [cls for _name, cls in inspect.getmembers(module, defined_here)]
        if not classes:
            return None
        component: BaseComponent = classes[0](*self.init_args, **self.init_kwargs)
        if self.auto_register:
            component.register(self)
        return component
