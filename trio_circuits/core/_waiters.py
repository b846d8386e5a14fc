"""``wait()``: tasks waiting for the next dispatch of an event, matched by the dispatcher."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

import trio

from .events import Event

if TYPE_CHECKING:
    from .values import Value

__all__ = ["Waiters"]


class _Waiter:
    __slots__ = ("channels", "instance", "ready", "value")

    def __init__(self, instance: Event | None, channels: tuple[Hashable, ...]) -> None:
        self.instance = instance
        self.channels = channels
        self.value: Value | None = None
        self.ready = trio.Event()

    def matches(self, event: Event, channels: tuple[Hashable, ...]) -> bool:
        if self.instance is not None:
            return self.instance is event
        if "*" in channels:
            return True
        return any(c == "*" or c in channels for c in self.channels)


class Waiters:
    """The tasks waiting in ``wait()``, by event name (falsy when there are none)."""

    def __init__(self) -> None:
        #: The waiting tasks by event name (empty when nobody waits).
        self.by_name: dict[str, list[_Waiter]] = {}

    def __bool__(self) -> bool:
        return bool(self.by_name)

    async def wait_for(self, target: str | Event, channels: tuple[Hashable, ...]) -> Value:
        """Return the Value of the next dispatched event named ``target`` (or ``target``).

        An event matches when it is dispatched on one of ``channels`` (``"*"``: any),
        whether it was fired before or after this call.

        Cancellation: the wait is forgotten.
        """
        if isinstance(target, Event):
            name, waiter = target.name, _Waiter(target, channels)
        else:
            name, waiter = target, _Waiter(None, channels)
        waiting = self.by_name.setdefault(name, [])
        waiting.append(waiter)
        try:
            await waiter.ready.wait()
        finally:
            if waiter.value is None:
                waiting.remove(waiter)
                if not waiting:
                    del self.by_name[name]
        assert waiter.value is not None
        return waiter.value

    def match(self, event: Event, value: Value) -> bool:
        """``event`` is being dispatched: wake the waiters it matches (True if any)."""
        waiting = self.by_name.get(event.name)
        if not waiting:
            return False
        woke = False
        for waiter in list(waiting):
            if waiter.matches(event, value._channels):
                waiter.value = value
                waiter.ready.set()
                waiting.remove(waiter)
                woke = True
        if not waiting:
            del self.by_name[event.name]
        return woke
