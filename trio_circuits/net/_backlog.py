"""A connection's queued output, seen from the cascades that write to it.

When more than its high-water mark is queued for a connection, whoever is writing
to it is either made to wait (back-pressure) or not:

* a cascade of the connection's *own* reads is not held here: the connection stops
  reading by itself while its output is above the mark, and ``Line`` waits while it
  is past ``max_buffered`` (``congested``);
* a *tunnel* -- a cascade of another source that writes to this connection alone --
  is held by a ``drain`` event until the output has drained: the source reads
  nothing more meanwhile, so a peer that does not read cannot make a relay queue
  without bound (within ``drain_timeout``, if set);
* a *broadcast* -- a cascade that writes to several connections -- is held only
  while this connection's output is moving: once it has made no progress for
  :data:`STALL` seconds the broadcast goes on without it, and once more than
  ``max_buffered`` is queued the connection is closed as too slow
  (``error(sock, TooSlowError)``, an IRC server's "sendq exceeded").  One member of
  a chat that never reads costs the others at most one stall, never a freeze.

``slow_receivers`` chooses: ``"auto"`` (as above), ``"hold"`` (every cascade is a
tunnel: nothing is ever dropped) or ``"close"`` (every cascade is a broadcast).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from ..core.flow import DrainWait, cascade_root, is_broadcast

if TYPE_CHECKING:
    from ..core.values import Value
    from ._connection import Connection
    from ._settings import Settings
    from ._state import ConnectionState

__all__ = ["STALL", "Backlog"]

log = logging.getLogger("trio_circuits.net")

#: Seconds without progress after which a broadcast no longer waits for a receiver.
STALL = 0.05


class Backlog:
    """What a connection's queued output does to the cascades that write to it."""

    __slots__ = ("_conn", "_drained", "_settings", "_state", "moved")

    def __init__(self, conn: Connection, state: ConnectionState, settings: Settings) -> None:
        self._conn = conn
        self._state = state
        self._settings = settings
        # ``drain`` handlers waiting for this connection's output.
        self._drained = DrainWait()
        #: When the output last moved (or began to wait): the broadcast's stall clock.
        self.moved = 0.0

    @property
    def congested(self) -> bool:
        """True while more than ``max_buffered`` bytes are queued."""
        return self._state.buffered > self._settings.buffer_limit

    def started(self) -> None:
        """Output began to wait (nothing was queued before): start the stall clock."""
        self.moved = trio.current_time()

    def progress(self) -> None:
        """Output was sent, or the connection is closing: waiters check again."""
        self.moved = trio.current_time()
        if self._drained.waiting:
            self._drained.wake()

    async def wait_drained(self) -> None:
        """Return once at most the low-water mark is queued, or the connection closes.

        Cancellation: cancellable; nothing changes then.
        """
        state = self._state
        await self._drained.until(lambda: not state.writable or state.drained)

    # -- the policy ---------------------------------------------------------------------

    def _broadcast(self, root: Value | None) -> bool:
        mode = self._settings.slow_receivers
        if mode == "hold" or root is None:
            return False
        return mode == "close" or is_broadcast(root)

    def over_high_water(self, own: bool) -> bool:
        """More than the high-water mark is queued by the running cascade.

        Returns True if that cascade is to be held (the caller fires ``drain``);
        closes the connection if a broadcast has taken it past ``max_buffered``.
        ``own``: the cascade is one of the connection's own reads.
        """
        if own:
            return False
        root = cascade_root()
        if root is None:
            return False
        if self._broadcast(root):
            if self.congested:
                self._too_slow()
            return False
        return True

    async def hold(self) -> None:
        """The ``drain`` handler: hold the running cascade as the policy says.

        A tunnel waits until the output has drained (within ``drain_timeout``: past
        it, the peer is reported and closed).  A broadcast waits while the output
        moves, :data:`STALL` seconds without progress at most.

        Cancellation: cancellable; nothing changes then.
        """
        if self._broadcast(cascade_root()):
            if self.congested:
                self._too_slow()
                return
            await self._while_moving()
            return
        timeout = self._settings.drain_timeout
        if timeout is None:
            await self.wait_drained()
            return
        with trio.move_on_after(timeout):
            await self.wait_drained()
            return
        state = self._state
        if state.writable and not state.drained:
            reason = trio.TooSlowError(
                f"the peer is not reading: {state.buffered} bytes still queued after {timeout} s"
            )
            log.debug("connection %r: %s", self._conn, reason)
            self._conn.owner.fire(self._conn.owner.error_event(self._conn, reason))
            self._conn.close()  # what is queued still has close_timeout to go out

    async def _while_moving(self) -> None:
        state = self._state
        while state.writable and not state.drained:
            left = self.moved + STALL - trio.current_time()
            if left <= 0:
                return  # stalled: the broadcast goes on without this receiver
            with trio.move_on_after(left):
                await self._drained.changed()

    def _too_slow(self) -> None:
        """Past ``max_buffered`` for a broadcast that does not wait: close it."""
        state = self._state
        reason = trio.TooSlowError(
            f"{self._conn.peer!r} is not reading: {state.buffered} bytes queued, more than "
            f"max_buffered ({self._settings.buffer_limit})"
        )
        self._conn._abort(reason)
