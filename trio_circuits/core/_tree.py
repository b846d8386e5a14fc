"""The component tree: each component's :class:`Node`, and what a tree shares.

A :class:`~trio_circuits.Manager` keeps its place in the tree in one ``Node``; a
whole tree shares one :class:`Tree` -- its event queue, its handler cache and, while
the application runs, its run-time -- owned by the root.  The functions here move
subtrees between trees; the Manager's methods call them and fire the events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import attrs

from ._queue import EventQueue

if TYPE_CHECKING:
    from collections.abc import Hashable

    from ._runtime import Runtime
    from .handlers import Handler
    from .manager import Manager

__all__ = ["Node", "Tree", "attach", "detach", "walk"]


@attrs.define(eq=False)
class Tree:
    """What every component of one tree shares (the root's).

    Attributes:
        queue: the tree's event queue.
        cache: handlers by ``(event name, channels)``.
        runtime: the running application, or ``None``.
    """

    queue: EventQueue = attrs.field(factory=EventQueue)
    cache: dict[tuple[str, tuple[Hashable, ...]], tuple[Handler, ...]] = attrs.field(factory=dict)
    runtime: Runtime | None = None


@attrs.define(eq=False)
class Node:
    """One component's place in its tree."""

    owner: Manager
    parent: Manager
    root: Manager
    tree: Tree
    components: list[Manager] = attrs.field(factory=list)
    handlers: list[Handler] = attrs.field(factory=list)
    unregister_pending: bool = False
    #: A handler of its own finishes its unregistration (components, as circuits').
    finishes_unregister: bool = False

    @classmethod
    def alone(cls, owner: Manager) -> Node:
        """The node of a component that is the root of a tree of its own."""
        return cls(owner, owner, owner, Tree())

    def add_handler(self, fn: Callable[..., Any]) -> None:
        """Bind the handler function ``fn`` (a bound method) to this component."""
        from .handlers import Handler

        self.handlers.append(Handler(fn))
        self.tree.cache.clear()

    def remove_handler(self, func: Callable[..., Any], name: str | None) -> bool:
        """Remove the handlers of ``func`` (for event ``name`` only, if given).

        Returns True if ``func`` handles nothing here any more.
        """
        kept: list[Handler] = []
        for h in self.handlers:
            same = getattr(h.fn, "__func__", h.fn) is func
            if same and (name is None or not h.names or name in h.names):
                if name is not None and len(h.names) > 1:
                    h.names = tuple(n for n in h.names if n != name)
                    kept.append(h)
                continue
            kept.append(h)
        self.handlers[:] = kept
        self.tree.cache.clear()
        return not any(getattr(h.fn, "__func__", h.fn) is func for h in kept)


def walk(top: Manager) -> Iterator[Manager]:
    """The components under ``top``, depth first, parents before children."""
    stack = [top]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node._node.components))


def attach(child: Manager, parent: Manager) -> None:
    """Make ``child`` (the root of its own tree) a child of ``parent``.

    Every component of the subtree joins ``parent``'s tree; what was queued in the
    subtree's own queue moves to that tree's queue, in order.
    """
    node = child._node
    ancestor: Manager | None = parent
    while ancestor is not None:
        if ancestor is child:
            raise ValueError("registering a component under its own subtree")
        up = ancestor._node.parent
        ancestor = up if up is not ancestor else None
    old_tree = node.tree
    new = parent._node
    node.parent = parent
    new.components.append(child)
    for member in walk(child):
        member._node.root = new.root
        member._node.tree = new.tree
    new.tree.cache.clear()
    old_tree.queue.move_to(new.tree.queue)


def detach(child: Manager) -> Tree:
    """Cut ``child``'s subtree loose from its parent; return the tree it left.

    The subtree becomes a tree of its own, with a new queue.
    """
    node = child._node
    parent = node.parent
    old_tree = node.tree
    parent._node.components.remove(child)
    node.parent = child
    own = Tree()
    for member in walk(child):
        member._node.root = child
        member._node.tree = own
    old_tree.cache.clear()
    return old_tree
