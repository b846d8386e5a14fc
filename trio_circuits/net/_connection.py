"""One stream connection: the ``sock`` handed to handlers.

A :class:`Connection` owns its stream, its :class:`~._state.ConnectionState` (what
it may do next) and its :class:`~._gate.ReadGate` (one ``read`` in flight, governed
by that read's cascade).  Moving the bytes is a *driver*'s job:

* a :class:`~._reactor.Reactor` serves a server's plain TCP/UNIX connections from
  one task, one wake-up per batch of ready sockets (Linux, with ``epoll``);
* a :class:`~._streamed.StreamDriver` gives a connection a reader and a writer task
  of its own: TLS connections, clients, and plain sockets where there is no epoll.
  A plain connection that starts TLS moves from the reactor to a StreamDriver.

``write`` never blocks and never drops data: it sends at once on a plain socket
when nothing is queued, and queues the rest for the driver to send in order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import struct
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Protocol

import trio

from ..core.events import Event
from ..core.flow import Intake, cascade_root, note_receiver
from ..core.values import Value
from ._backlog import Backlog
from ._gate import ReadGate
from ._settings import Settings
from ._state import ConnectionState, Phase

log = logging.getLogger("trio_circuits.net")

READ_SIZE = 65536
# Once closing: how long to wait for the peer's EOF, and how much of what it still
# sends to read (and drop) meanwhile, so that unread input does not turn the close
# into a reset.
LINGER = 1.0
LINGER_BYTES = 1 << 18

# SO_LINGER on, zero seconds: close() sends a reset.
_RESET = struct.pack("ii", 1, 0)

Upgrade = Callable[[trio.abc.Stream], Awaitable[trio.abc.Stream]]


def peer_sent_eof(fd: int) -> bool:
    """True if the next thing the socket ``fd`` would read is the peer's EOF.

    A reader paused for output looks, without reading, so that a peer that
    half-closed and never reads cannot hold the connection for ever.
    """
    # A duplicate of the descriptor, for a non-blocking peek (recv ignores the family).
    with socket.fromfd(fd, socket.AF_UNIX, socket.SOCK_STREAM) as peek:
        try:
            return peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except OSError:
            return False  # nothing to read yet (or an error the reader will meet)


class Endpoint(Protocol):
    """What a connection needs from the component that owns it."""

    def fire(self, event: Event, *channels: Hashable) -> Value:
        """Fire an event (the component's ``fire``)."""

    def read_event(self, conn: Connection, data: bytes | bytearray) -> Event:
        """The ``read`` event for ``data`` received on ``conn``."""

    def error_event(self, conn: Connection, exc: BaseException) -> Event:
        """The ``error`` event for ``conn`` failing with ``exc``."""

    def drain_event(self, conn: Connection) -> Event:
        """The ``drain`` event that holds a cascade until ``conn``'s output drains."""

    def eof_event(self, conn: Connection) -> Event:
        """The ``eof`` event: ``conn``'s peer has half-closed (``half_close=True``)."""

    @property
    def can_start_tls(self) -> bool:
        """True if a plaintext connection of this component may still start TLS."""


class Driver(Protocol):
    """What moves a connection's bytes (see the module docs); told of each change."""

    def output_queued(self, conn: Connection) -> None:
        """Bytes were queued: send them."""

    def resume_input(self, conn: Connection) -> bool | None:
        """The read gate opened, or output drained: reading may resume.

        Returns True if that woke a task."""

    def close_requested(self, conn: Connection) -> None:
        """``close()``: send what is queued, then EOF, then close."""

    def upgrade_requested(self, conn: Connection) -> None:
        """``start_tls()``: send what is queued in plaintext, then upgrade."""

    def shutdown_requested(self, conn: Connection) -> None:
        """``send_eof()``: send what is queued, then EOF; keep reading."""

    def abort_requested(self, conn: Connection) -> None:
        """Close now, dropping what is queued (the connection failed)."""


class Connection:
    """A connection of a server or client component (the ``sock`` of the events).

    Hashable and stable for the connection's life (also across ``starttls``).

    Attributes:
        peer: the peer's address (``(host, port)``; a path or ``""`` for UNIX).
        owner: the component serving this connection.
    """

    def __init__(
        self,
        stream: trio.abc.Stream,
        peer: Any,
        owner: Endpoint,
        settings: Settings,
        intake: Intake,
    ) -> None:
        self.peer = peer
        self.owner = owner
        self._settings = settings
        self._state = ConnectionState(settings.high_water, settings.high_water // 2)
        self._intake = intake
        self._gate = ReadGate(intake, self._input_resumable, self._write_back)
        self._driver: Driver | None = None
        self._upgrade: Upgrade | None = None
        self._errored = False
        self._eof_fired = False
        self._backlog = Backlog(self, self._state, settings)
        # Set by the driver while ``write`` may send on the descriptor at once.
        self._direct = False
        self._fd: int | None = None
        self.stream: trio.abc.Stream
        self.use(stream)

    def __repr__(self) -> str:
        return f"<Connection {self.peer!r}{' tls' if self.secure else ''}>"

    def use(self, stream: trio.abc.Stream) -> None:
        """Carry on over ``stream`` (the TLS layer, after a handshake)."""
        self.stream = stream
        self._fd = stream.socket.fileno() if isinstance(stream, trio.SocketStream) else None

    # -- what handlers see -----------------------------------------------------------

    @property
    def secure(self) -> bool:
        """True once the connection is TLS-protected."""
        return isinstance(self.stream, trio.SSLStream)

    @property
    def buffered(self) -> int:
        """Bytes queued for sending and not yet sent."""
        return self._state.buffered

    @property
    def closed(self) -> bool:
        """True once the connection is closing or closed, or has sent its EOF (writes
        are refused)."""
        return not self._state.writable

    @property
    def congested(self) -> bool:
        """True while more than ``max_buffered`` bytes are queued for sending.

        A producer of many writes (``Line``'s batches) waits for :meth:`wait_drained`
        before it goes on.
        """
        return self._backlog.congested

    @property
    def may_start_tls(self) -> bool:
        """True while the connection is plaintext and its component can upgrade it."""
        return not self.secure and self.owner.can_start_tls

    @property
    def phase(self) -> Phase:
        """Where the connection is in its life."""
        return self._state.phase

    def getpeername(self) -> Any:
        """The peer's address, as ``socket.getpeername`` would give it."""
        return self.peer

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data`` for sending (never blocks, never drops).

        Raises ``trio.ClosedResourceError`` once the application has closed the
        connection (or sent its EOF).  A connection that *failed* -- reset by its
        peer, closed as too slow -- takes writes and drops them: its ``error`` has
        reported it, and a handler writing to many connections (a broadcast) must not
        stop at the one that just went away.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes bytes, not {type(data).__name__}")
        state = self._state
        if not state.writable:
            if self._errored:
                return
            raise trio.ClosedResourceError(f"{self!r} is closed")
        if not data:
            return
        root = cascade_root()
        own = root is not None and self._gate.fired(root)
        if root is not None and not own:
            note_receiver(root, self)  # a cascade of another source's
        if isinstance(data, bytearray) or (isinstance(data, memoryview) and not data.readonly):
            data = bytes(data)  # the caller may change it after this returns
        if self._direct and state.phase is Phase.OPEN and not state.has_output:
            # Nothing is queued: send now, saving the driver a wake-up per message.
            try:
                sent = os.write(self._fd, data)  # type: ignore[arg-type]
            except OSError:
                sent = 0  # full, or broken: the driver sends it (and reports)
            if sent == len(data):
                return
            if sent:
                data = memoryview(data)[sent:]  # the rest, without a copy
        if not state.buffered:
            self._backlog.started()
        state.queue(data)
        self._output_queued()
        if state.buffered > state.high_water and self._backlog.over_high_water(own):
            # A relay: the ``drain`` event belongs to the writing cascade, and its
            # handler (hold_until_drained) holds that cascade.
            self.owner.fire(self.owner.drain_event(self))

    async def wait_drained(self) -> None:
        """Return once at most the low-water mark is queued, or the connection closes.

        Cancellation: cancellable; nothing changes then.
        """
        await self._backlog.wait_drained()

    async def hold_until_drained(self) -> None:
        """The ``drain`` handler: hold the running cascade until this output drains.

        A tunnel waits for :meth:`wait_drained` (within ``drain_timeout``: past it the
        peer is reported, ``error(sock, TooSlowError)``, and closed); a broadcast
        waits only while the output moves, and closes the connection once it is past
        ``max_buffered``.  See ``slow_receivers`` (:mod:`._backlog`).

        Cancellation: cancellable; nothing changes then.
        """
        await self._backlog.hold()

    def _abort(self, reason: BaseException) -> None:
        """Report ``reason`` (``error``) and close at once, dropping what is queued.

        The close is a reset: the kernel drops what it still holds for the peer too
        (a peer that does not read would otherwise keep those buffers, and never see
        the close behind the data).
        """
        if self._failed(reason) and self._driver is not None:
            stream = self.stream
            if isinstance(stream, trio.SSLStream):
                stream = stream.transport_stream
            if isinstance(stream, trio.SocketStream):
                with contextlib.suppress(OSError):
                    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
            self._driver.abort_requested(self)

    def send_eof(self) -> None:
        """Send EOF once what is queued has gone; the connection goes on reading.

        The connection closes once the peer has sent its EOF too.  Writes are refused
        from now on.  Does nothing once closing.
        """
        state = self._state
        if not state.writable:
            return
        state.request_shutdown()
        self._output_progress()
        if self._driver is not None:
            self._driver.shutdown_requested(self)

    def _finished(self) -> None:
        """The drivers: the transport is closed (what was queued is dropped)."""
        self._direct = False
        self._state.finished()
        self._output_progress()

    def _eof_sent(self) -> None:
        """The drivers: our EOF is sent (``send_eof``); closes if the peer's came too."""
        self._state.sent_eof()
        if self._state.both_ended:
            self.close()

    def _peer_done(self) -> None:
        """The drivers: the peer's EOF was read and the last read's cascade completed.

        Closes, unless ``half_close``: then ``eof`` is fired (once) and the connection
        stays open for writing until :meth:`send_eof` or :meth:`close`.
        """
        state = self._state
        if not self._settings.half_close or state.phase is not Phase.OPEN:
            self.close()
            return
        if not self._eof_fired:
            self._eof_fired = True
            self.owner.fire(self.owner.eof_event(self))
        if state.both_ended:
            self.close()

    def close(self) -> None:
        """Close once everything queued has been sent (bounded by ``close_timeout``)."""
        state = self._state
        if state.phase is Phase.CLOSING or state.phase is Phase.CLOSED:
            return
        state.request_close()
        self._output_progress()
        if self._driver is not None:
            self._driver.close_requested(self)

    def start_tls(self, upgrade: Upgrade) -> None:
        """Switch to TLS once what is queued now has been sent in plaintext.

        ``upgrade(stream)`` is awaited for the TLS stream; nothing is read
        meanwhile, and what is written meanwhile is sent encrypted.
        """
        if self.secure:
            raise RuntimeError(f"{self!r} already uses TLS")
        self._state.start_upgrade()
        self._upgrade = upgrade
        if self._driver is not None:
            self._driver.upgrade_requested(self)

    # -- for the drivers -------------------------------------------------------------

    def _fire_read(self, data: bytes) -> bool:
        """Fire ``read`` for ``data`` if the intake admits it now (see ReadGate)."""
        owner = self.owner
        # No local keeps the event: once dispatched, it and its Value can be freed
        # at once (see core/_release.py).
        return self._gate.try_fire(owner.fire, owner.read_event(self, data), len(data))

    def _fire_granted(self, data: bytes, granted: int) -> None:
        """Fire ``read`` for ``data``, read under a grant of the intake's."""
        owner = self.owner
        self._gate.fire_granted(owner.fire, owner.read_event(self, data), len(data), granted)

    async def _fire_read_later(self, data: bytes) -> None:
        """Fire ``read`` for ``data`` once the intake admits it.

        Cancellation: the data is dropped (the connection is being torn down).
        """
        owner = self.owner
        await self._gate.fire(owner.fire, owner.read_event(self, data), len(data))

    def _input_resumable(self) -> bool | None:
        if self._driver is not None:
            return self._driver.resume_input(self)
        return None

    def _write_back(self, _value: Value, data: bytes) -> None:
        state = self._state
        if state.phase is Phase.OPEN and self._direct and not state.has_output:
            # The echo path: straight to the socket (see write()).
            try:
                sent = os.write(self._fd, data)  # type: ignore[arg-type]
            except OSError:
                sent = 0
            if sent == len(data):
                return
            if sent:
                state.queue(memoryview(data)[sent:])
                self._output_queued()
                return
        if state.writable:
            self.write(data)

    def _output_queued(self) -> None:
        if self._driver is not None:
            self._driver.output_queued(self)

    def _output_progress(self) -> None:
        """The drivers: output was sent, or the connection is closing."""
        self._backlog.progress()

    def _failed(self, exc: BaseException) -> bool:
        """Report a broken connection (once): ``error``; True if reported now."""
        if self._errored or self._state.phase is Phase.CLOSED:
            return False
        self._errored = True
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        log.debug("connection %r failed: %r", self, cause)
        self._state.request_close()
        self._output_progress()
        self.owner.fire(self.owner.error_event(self, cause))
        return True
