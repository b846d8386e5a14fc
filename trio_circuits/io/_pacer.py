"""When a File may read again: its reads governed by their cascades.

A File fires each chunk it reads as ``read(data)`` through a :class:`ReadPacer`,
which returns once the File may read on: once the read's cascade has completed --
its handlers, what they fired, and the writes they queued down to their Files' and
connections' high-water marks (``drain``) -- so a fast file floods neither the queue
nor a slow sink.  If the read's own handlers are still running after ``read_wait``
seconds (an ``async`` handler may be waiting for the next read), reading goes on,
with at most one such read outstanding.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from ..core.events import Event
from ..core.values import Value

__all__ = ["ReadPacer"]


class ReadPacer:
    """Fires a File's reads one cascade at a time (see the module docs)."""

    __slots__ = ("_lagging", "_reading")

    def __init__(self) -> None:
        # The id of the read in flight (0: none): an id, not a reference, so that
        # the event is still freed the moment it is dispatched.
        self._reading = 0
        self._lagging: Value | None = None  # a read whose handlers outlasted read_wait

    def carries(self, root: Value) -> bool:
        """True if ``root`` (a cascade's root, alive) is the read in flight."""
        return self._reading != 0 and id(root.event) == self._reading

    async def fire(self, fire: Callable[[Event], Value], event: Event, read_wait: float) -> None:
        """Fire ``event`` (a ``read``); return once the File may read again.

        Cancellation: cancellable; the read's handlers are unaffected.
        """
        cascade = trio.Event()
        self._reading = id(event)
        value = fire(event)
        del event
        value.on_complete(lambda _: cascade.set())
        with trio.move_on_after(read_wait):
            await value.wait_done()
        if value.done:
            await cascade.wait()
            self._reading = 0
            return
        if self._lagging is not None:
            await self._lagging.wait_done()
        self._lagging = value
