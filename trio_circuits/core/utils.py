"""Small helpers over a component tree, and a module import that can be retried.

These are circuits' ``circuits.core.utils``: walking a tree, finding a component in it
by channel or by type, and importing (or re-importing) a module without leaving a
half-imported one behind when it fails.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Hashable, Iterator
from types import ModuleType
from typing import Literal, TypeVar, overload

from .manager import Manager

__all__ = ["findchannel", "findcmp", "findroot", "findtype", "flatten", "safeimport"]

M = TypeVar("M", bound=Manager)


def flatten(root: Manager) -> Iterator[Manager]:
    """Yield ``root`` and every component below it, depth first, parents first.

    The tree is read as it is when each component is reached; a component is yielded
    once even if it somehow appears twice.
    """
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(reversed(list(node.components)))


@overload
def findchannel(root: Manager, channel: Hashable, all: Literal[False] = ...) -> Manager | None: ...
@overload
def findchannel(root: Manager, channel: Hashable, all: Literal[True]) -> list[Manager]: ...
def findchannel(
    root: Manager, channel: Hashable, all: bool = False
) -> Manager | list[Manager] | None:
    """The first component under ``root`` (included) whose channel is ``channel``.

    With ``all=True``, the list of every such component.
    """
    found = [c for c in flatten(root) if c.channel == channel]
    if all:
        return found
    return found[0] if found else None


@overload
def findtype(root: Manager, cls: type[M], all: Literal[False] = ...) -> M | None: ...
@overload
def findtype(root: Manager, cls: type[M], all: Literal[True]) -> list[M]: ...
def findtype(root: Manager, cls: type[M], all: bool = False) -> M | list[M] | None:
    """The first component under ``root`` (included) that is an instance of ``cls``.

    With ``all=True``, the list of every such component.
    """
    found = [c for c in flatten(root) if isinstance(c, cls)]
    if all:
        return found
    return found[0] if found else None


findcmp = findtype


def findroot(component: Manager) -> Manager:
    """The root of the tree ``component`` is in (itself when it has no parent)."""
    node = component
    while node.parent is not node:
        node = node.parent
    return node


def safeimport(name: str) -> ModuleType | None:
    """Import the module ``name``, or re-import it if it was already imported.

    Returns the module, or ``None`` if importing it raised: every module that the
    failed attempt added to ``sys.modules`` is removed again (a module that failed to
    re-import is dropped too), so that a corrected module can be imported later.
    Meant for loading plugins; the error itself is not reported.
    """
    before = set(sys.modules)
    try:
        module = sys.modules.get(name)
        if module is not None:
            # Stale bytecode would hide the edit that the caller wants to load.
            importlib.invalidate_caches()
            return importlib.reload(module)
        importlib.invalidate_caches()
        return importlib.import_module(name)
    except Exception:
        for added in set(sys.modules) - before:
            del sys.modules[added]
        sys.modules.pop(name, None)
        return None
