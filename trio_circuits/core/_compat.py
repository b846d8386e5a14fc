"""circuits' other spellings, and the attributes its own tests read.

A base class of :class:`~trio_circuits.Manager`: ``fireEvent``, ``callEvent``,
``waitEvent``, ``flush``/``flushEvents`` and the read-only views ``_running`` and
``_handlers`` that circuits' test suite inspects.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from ._runtime import flush

if TYPE_CHECKING:
    from .events import Event
    from .manager import Manager
    from .values import Value

__all__ = ["CircuitsNames"]


class _View:
    """A read-only attribute computed on access; an instance may shadow it."""

    def __init__(self, get: Callable[[Any], Any]) -> None:
        self._get = get

    def __get__(self, obj: Any, cls: type) -> Any:
        return self if obj is None else self._get(obj)


def _handlers_by_name(manager: Manager) -> dict[str, set[Any]]:
    """circuits' ``_handlers``: event name (``"*"``: every event) -> handler functions."""
    found: dict[str, set[Any]] = {}
    for h in manager._node.handlers:
        for name in h.names or ("*",):
            found.setdefault(name, set()).add(h.fn)
    return found


class CircuitsNames:
    """circuits' names for :class:`~trio_circuits.Manager`'s operations."""

    _running = _View(lambda self: self.running)
    _handlers = _View(_handlers_by_name)

    def fireEvent(self: Any, event: Event, *channels: Hashable, priority: int = 0) -> Value:
        """circuits' name for :meth:`~trio_circuits.Manager.fire`."""
        value: Value = self.fire(event, *channels, priority=priority)
        return value

    async def callEvent(
        self: Any,
        event: Event,
        *channels: Hashable,
        timeout: float | None = None,
    ) -> Value:
        """circuits' name for :meth:`~trio_circuits.Manager.call`."""
        value: Value = await self.call(event, *channels, timeout=timeout)
        return value

    async def waitEvent(
        self: Any,
        event: str | Event,
        *channels: Hashable,
        timeout: float | None = None,
    ) -> Value:
        """circuits' name for :meth:`~trio_circuits.Manager.wait`."""
        value: Value = await self.wait(event, *channels, timeout=timeout)
        return value

    def flush(self: Any) -> None:
        """Dispatch the events queued now, in a tree that is not running (circuits').

        ``while len(app): app.flush()`` handles everything, as circuits' tests do.
        Plain handlers run in the calling thread, ``async`` ones to their end; no I/O
        starts.  While the application runs its dispatcher does this: a no-op then.
        """
        tree = self._node.tree
        if tree.runtime is None:
            flush(self._node.root, tree)

    def flushEvents(self) -> None:
        """circuits' name for :meth:`flush`."""
        self.flush()
