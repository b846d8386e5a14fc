"""What a stream connection may do next: its states and transitions, with no I/O.

A connection moves through these phases, in this order (``UPGRADING`` any number
of times, ``CLOSING`` at most once)::

    OPEN --start_upgrade--> UPGRADING --upgraded--> OPEN
    OPEN or UPGRADING --request_close--> CLOSING --finished--> CLOSED

* ``OPEN``: reads are fired and writes are sent.
* ``UPGRADING``: a starttls was asked for.  What was written before it is sent in
  plaintext, then the handshake runs; what is written meanwhile is *held* and sent
  once TLS is up.  Nothing is read.
* ``CLOSING``: a close was asked for (by the application, the peer's EOF or an
  error).  No more reads are fired; what is queued is sent, then EOF.  A close asked
  for while upgrading takes effect once the upgrade has finished, so held bytes are
  sent encrypted, as they were written.
* ``CLOSED``: the transport is gone; writes are refused.

Reading is *paused*, besides, while more than ``high_water`` bytes are queued for
sending, and once the peer has sent EOF (and, outside this object, while a read's
cascade has not completed: SPEC 5.1).

Half-close: :meth:`ConnectionState.request_shutdown` ends *our* side while the
connection stays ``OPEN`` for reading: writes are refused from then on, what is
queued is sent, then EOF (:attr:`ConnectionState.shutdown_due`, then
:meth:`ConnectionState.sent_eof`).  The connection closes once both sides have sent
EOF.  :class:`ConnectionState` answers "may it
read?" and "what does it send next?"; the I/O around it (:mod:`._connection`) only
performs what it decides.
"""

from __future__ import annotations

import enum
from collections import deque

import attrs

__all__ = ["COALESCE", "ConnectionState", "Phase"]

#: Queued chunks are joined up to this many bytes per send.
COALESCE = 65536

#: What is queued: bytes, or a read-only view of the unsent end of some (no copy).
Chunk = bytes | memoryview


class Phase(enum.Enum):
    """Where a connection is in its life (see the module docs)."""

    OPEN = "open"
    UPGRADING = "upgrading"
    CLOSING = "closing"
    CLOSED = "closed"


@attrs.define(eq=False)
class ConnectionState:
    """The state of one connection's input and output (pure; unit-tested alone).

    Attributes:
        high_water: reading pauses while more bytes than this are queued.
        low_water: a reader paused for output resumes at or below this.
        phase: see :class:`Phase`.
        buffered: bytes written and not yet sent (held ones included).
        eof: the peer has sent EOF.
        shutdown: our side is to end after what is queued (half-close).
        eof_sent: our EOF has been sent.

    Whether a ``read``'s cascade is still running is the read gate's business
    (:class:`~._gate.ReadGate`), not this object's.
    """

    high_water: int
    low_water: int
    phase: Phase = Phase.OPEN
    buffered: int = 0
    eof: bool = False
    shutdown: bool = False
    eof_sent: bool = False
    _close_after_upgrade: bool = False
    _out: deque[Chunk] = attrs.field(factory=deque)
    _held: deque[Chunk] = attrs.field(factory=deque)

    # -- input --------------------------------------------------------------------------

    @property
    def may_read(self) -> bool:
        """True if the next chunk may be read (the read gate permitting)."""
        return self.phase is Phase.OPEN and not self.eof and self.buffered <= self.high_water

    @property
    def accepts_input(self) -> bool:
        """True while input is still wanted (it is discarded once closing)."""
        return self.phase is Phase.OPEN or self.phase is Phase.UPGRADING

    def peer_eof(self) -> None:
        """The peer sent EOF: nothing more will be read."""
        self.eof = True

    # -- output -------------------------------------------------------------------------

    @property
    def writable(self) -> bool:
        """True while :meth:`queue` accepts data."""
        return (self.phase is Phase.OPEN or self.phase is Phase.UPGRADING) and not self.shutdown

    def queue(self, data: Chunk) -> None:
        """Queue ``data`` (immutable: bytes, or a read-only view) after what is queued."""
        if not self.writable:
            raise ValueError(f"cannot write to a connection that is {self.phase.value}")
        if self.phase is Phase.UPGRADING:
            self._held.append(data)
        else:
            self._out.append(data)
        self.buffered += len(data)

    @property
    def has_output(self) -> bool:
        """True if bytes wait to be sent on the current transport."""
        return bool(self._out)

    def next_chunk(self) -> Chunk:
        """Take the next bytes to send: queued chunks joined up to :data:`COALESCE`."""
        out = self._out
        first = out.popleft()
        if not out or len(first) >= COALESCE:
            return first
        parts = [first]
        size = len(first)
        while out and size + len(out[0]) <= COALESCE:
            part = out.popleft()
            parts.append(part)
            size += len(part)
        return b"".join(parts)

    def unsend(self, rest: Chunk) -> None:
        """Put back the unsent end of a chunk taken with :meth:`next_chunk`."""
        self._out.appendleft(rest)

    def sent(self, size: int) -> None:
        """``size`` bytes of a taken chunk have been sent."""
        self.buffered -= size

    @property
    def drained(self) -> bool:
        """True once output has fallen to the low-water mark."""
        return self.buffered <= self.low_water

    # -- starttls -----------------------------------------------------------------------

    def start_upgrade(self) -> None:
        """Ask for TLS after what is queued now has been sent in plaintext."""
        if self.phase is not Phase.OPEN:
            raise RuntimeError(f"cannot start TLS on a connection that is {self.phase.value}")
        self.phase = Phase.UPGRADING

    @property
    def upgrade_due(self) -> bool:
        """True when the plaintext is flushed and the handshake should run."""
        return self.phase is Phase.UPGRADING and not self._out

    def upgraded(self) -> None:
        """TLS is up: held bytes become the output (a pending close takes effect)."""
        if self.phase is not Phase.UPGRADING:
            raise RuntimeError("upgraded() without start_upgrade()")
        self._out, self._held = self._held, self._out
        self.phase = Phase.CLOSING if self._close_after_upgrade else Phase.OPEN

    # -- half-close ---------------------------------------------------------------------

    def request_shutdown(self) -> None:
        """End our side once what is queued has been sent; keep reading."""
        if self.phase is Phase.OPEN:
            self.shutdown = True

    @property
    def shutdown_due(self) -> bool:
        """True when our EOF should be sent now (half-close, output flushed)."""
        return self.shutdown and not self.eof_sent and not self._out and self.phase is Phase.OPEN

    def sent_eof(self) -> None:
        """Our EOF has been sent."""
        self.eof_sent = True

    @property
    def both_ended(self) -> bool:
        """True once both sides have sent EOF: nothing is left to do but close."""
        return self.eof and self.eof_sent

    # -- closing ------------------------------------------------------------------------

    def request_close(self) -> None:
        """Close once what is queued has been sent (a second request changes nothing)."""
        if self.phase is Phase.OPEN:
            self.phase = Phase.CLOSING
        elif self.phase is Phase.UPGRADING:
            self._close_after_upgrade = True

    @property
    def flushed(self) -> bool:
        """True once closing and everything queued has been sent."""
        return self.phase is Phase.CLOSING and not self._out

    def finished(self) -> None:
        """The transport is closed: queued bytes are dropped."""
        self.phase = Phase.CLOSED
        self._out.clear()
        self._held.clear()
        self.buffered = 0
