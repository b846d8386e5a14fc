"""One plain connection's descriptor, as the reactor serves it.

:class:`PlainSlot` performs the system calls on a connection's non-blocking
descriptor -- one read, a flush, a drop of input while lingering, EOF, the close --
and keeps its grant from the intake; it reports what happened, and the
:class:`~._reactor.Reactor` decides what follows.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from ._connection import LINGER_BYTES, READ_SIZE, peer_sent_eof
from ._state import Phase

if TYPE_CHECKING:
    from ..core.intake import Intake
    from ._connection import Connection

__all__ = ["PlainSlot"]


class PlainSlot:
    """The reactor's record of one connection, and the calls on its descriptor."""

    __slots__ = (
        "conn",
        "deadline",
        "dropped",
        "ended",
        "fd",
        "grant",
        "lingering",
        "queued",
        "readable",
        "seen",
        "send_by",
        "wake",
    )

    def __init__(
        self, conn: Connection, fd: int, now: float, wake: Callable[[PlainSlot], object]
    ) -> None:
        self.conn = conn
        self.fd = fd
        self.wake = wake  # the reactor's: serve this slot in its next pass
        self.grant = 0  # bytes the intake granted and not read yet
        self.readable = True  # until a read finds it drained
        self.ended = False  # the peer's EOF (or an error) is behind the data
        self.queued = False  # in the reactor's run list
        self.lingering = False  # our EOF is sent; waiting for the peer's
        self.deadline = float("inf")  # closing: when to give up
        self.dropped = 0  # bytes dropped while lingering
        self.seen = now  # last input, for idle_timeout
        self.send_by = float("inf")  # send_timeout: queued output must move by then

    def ready(self, readable: int, ended: int) -> bool:
        """epoll's news; True if the connection should be served (it is readable)."""
        if not readable:
            return False
        self.readable = True
        if ended:
            self.ended = True  # the peer's EOF (or an error) is behind the data
        return True

    def wants_read(self) -> bool:
        """True if the connection would take a read now (else it is resumed later)."""
        conn = self.conn
        state = conn._state
        return (
            state.phase is Phase.OPEN
            and not state.eof
            and not conn._gate.pending
            and state.buffered <= state.high_water
        )

    def paused_at_eof(self) -> bool:
        """Paused for output: True if the peer half-closed (looked at, not read).

        A peer that half-closed and never reads would otherwise hold the connection
        for ever.
        """
        state = self.conn._state
        return (
            state.phase is Phase.OPEN
            and not state.eof
            and not self.conn._gate.pending
            and self.ended
            and peer_sent_eof(self.fd)
        )

    def take_grant(self, intake: Intake) -> int:
        """The bytes this connection may read now (its grant, or a new one); 0: it
        waits in the intake's line instead."""
        granted = self.grant or intake.grant_now()
        self.grant = 0
        if not granted:
            intake.wait(self)
        return granted

    def give_back(self, intake: Intake) -> None:
        """It will not read now: give back its grant, or its place in line."""
        if self.grant:
            intake.settle(self.grant, 0)
            self.grant = 0
        else:
            intake.forget(self)

    def shut_write(self) -> None:
        """Send EOF (``shutdown(SHUT_WR)``); raises the ``OSError`` of a broken socket."""
        self._socket().shutdown(socket.SHUT_WR)

    def close(self) -> None:
        """Close the socket."""
        self._socket().close()

    def _socket(self) -> trio.socket.SocketType:
        stream = self.conn.stream
        assert isinstance(stream, trio.SocketStream)
        return stream.socket

    def granted(self, size: int) -> None:
        """The intake granted ``size`` bytes to this connection (see ``Intake.wait``)."""
        self.grant = size
        self.wake(self)

    def read(self, size: int = READ_SIZE) -> bytes | None:
        """One read of up to ``size`` bytes: the data (``b""`` at EOF), or ``None`` if
        there is none now.

        Raises the ``OSError`` of a broken connection.
        """
        try:
            data = os.read(self.fd, size)
        except BlockingIOError:
            self.readable = False
            return None
        if len(data) < size and not self.ended:
            self.readable = False  # drained until the next edge
        return data

    def send(self) -> bool:
        """Send what is queued until the kernel refuses more; True if all went.

        Raises the ``OSError`` of a broken connection.
        """
        state = self.conn._state
        while state.has_output:
            chunk = state.next_chunk()
            try:
                sent = os.write(self.fd, chunk)
            except BlockingIOError:
                state.unsend(chunk)
                return False  # the next writable edge brings us back
            state.sent(sent)
            if sent < len(chunk):
                state.unsend(memoryview(chunk)[sent:])  # no copy of the rest
                return False
        return True

    def drop_input(self) -> bool:
        """Lingering: read and drop input; True at the peer's EOF (or enough of it)."""
        while self.dropped < LINGER_BYTES:
            try:
                data = os.read(self.fd, READ_SIZE)
            except BlockingIOError:
                return False  # the next edge brings us back
            except OSError:
                return True
            if not data:
                return True
            self.dropped += len(data)
        return True
