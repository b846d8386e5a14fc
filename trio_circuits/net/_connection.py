"""One stream connection: the ``sock`` handed to handlers.

A :class:`Connection` owns its stream, its :class:`~._state.ConnectionState` and
two tasks, a reader and a writer, run by :meth:`Connection.serve` in the owning
component's nursery.  The state decides, the tasks perform:

* the **reader** fires each chunk through a :class:`~._gate.ReadGate` and reads
  the next only once that ``read``'s whole cascade has completed, while the output
  is under its high-water mark, and while the application's intake admits input.
  A plain socket is read straight from its descriptor; after ``starttls`` every
  byte goes through the ``trio.SSLStream``.
* the **writer** is the only task that sends: ``write`` never blocks and never
  drops data.  While it is idle, a plain socket's ``write`` sends at once.

At the peer's EOF the reader lets the last cascade complete, then asks for the
close; a close sends what is queued, then EOF (TLS: ``close_notify``), then waits
briefly for the peer's EOF, discarding what still arrives, so that unread input
does not turn the close into a reset.  The whole close is bounded by
``close_timeout``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Protocol

import attrs
import trio

from ..core.events import Event
from ..core.flow import Intake
from ..core.values import Value
from ._gate import ReadGate, Wakeup
from ._state import ConnectionState, Phase

log = logging.getLogger("trio_circuits.net")

READ_SIZE = 65536
# Stop reading a connection while more than this is queued for it: asyncio's
# default too.  Memory per connection stays near one read, and the socket's own
# send buffer keeps the link busy.
HIGH_WATER = 1 << 16
# Once closing: how long to wait for the peer's EOF, and how much of what it still
# sends to read (and drop) meanwhile.
_LINGER = 1.0
_LINGER_BYTES = 1 << 18

Upgrade = Callable[[trio.abc.Stream], Awaitable[trio.abc.Stream]]


def _at_eof_already(fd: int) -> bool:
    """True if the next thing the socket ``fd`` would read is the peer's EOF."""
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


@attrs.frozen
class Settings:
    """A component's settings for each of its connections.

    Attributes:
        high_water: stop reading while more bytes than this are queued for sending.
        idle_timeout: close a connection that receives nothing for this many seconds
            while it is ready to read (``None``: never).
        close_timeout: seconds a close may take to flush, send EOF and linger.
        handshake_timeout: seconds a TLS handshake may take.
    """

    high_water: int = HIGH_WATER
    idle_timeout: float | None = None
    close_timeout: float = 5.0
    handshake_timeout: float = 10.0

    def __attrs_post_init__(self) -> None:
        if isinstance(self.high_water, bool) or self.high_water < 1:
            raise ValueError(f"high_water must be >= 1, not {self.high_water!r}")
        for name in ("close_timeout", "handshake_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        if self.idle_timeout is not None and self.idle_timeout <= 0:
            raise ValueError("idle_timeout must be > 0 (or None)")


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
        self._reader_wakeup = Wakeup()
        self._writer_wakeup = Wakeup()
        self._gate = ReadGate(intake, self._reader_wakeup, self._write_back)
        self._upgrade: Upgrade | None = None
        self._life: trio.CancelScope | None = None
        self._reading: trio.CancelScope | None = None
        self._waiting_readable = False
        self._writer_idle = False
        self._errored = False
        self._fd: int | None = None
        self.stream: trio.abc.Stream
        self.use(stream)

    def __repr__(self) -> str:
        return f"<Connection {self.peer!r}{' tls' if self.secure else ''}>"

    def use(self, stream: trio.abc.Stream) -> None:
        """Carry on over ``stream`` (the TLS layer after an accept-time handshake)."""
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
        """True once the connection is closing or closed (writes are refused)."""
        return not self._state.writable

    @property
    def phase(self) -> Phase:
        """Where the connection is in its life."""
        return self._state.phase

    def getpeername(self) -> Any:
        """The peer's address, as ``socket.getpeername`` would give it."""
        return self.peer

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data`` for sending (never blocks, never drops).

        Raises ``trio.ClosedResourceError`` once the connection is closing.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes bytes, not {type(data).__name__}")
        state = self._state
        if not state.writable:
            raise trio.ClosedResourceError(f"{self!r} is closed")
        if not data:
            return
        fd = self._fd
        if (
            fd is not None
            and self._writer_idle
            and state.phase is Phase.OPEN
            and not state.has_output
        ):
            # Nothing is queued: send now, saving the writer a wake-up per message.
            try:
                sent = os.write(fd, data)
            except OSError:
                sent = 0  # full, or broken: the writer sends it (and reports)
            if sent == len(data):
                return
            data = data[sent:]
        state.queue(bytes(data))
        self._writer_wakeup.poke()

    def close(self) -> None:
        """Close once everything queued has been sent (bounded by ``close_timeout``)."""
        state = self._state
        if not state.writable:
            return
        state.request_close()
        life = self._life
        if life is not None:
            life.deadline = min(life.deadline, trio.current_time() + self._settings.close_timeout)
        self._writer_wakeup.poke()
        self._reader_wakeup.poke()

    def start_tls(self, upgrade: Upgrade) -> None:
        """Switch to TLS once what is queued now has been sent in plaintext.

        The writer awaits ``upgrade(stream)`` for the TLS stream; nothing is read
        meanwhile, and what is written meanwhile is sent encrypted.
        """
        if self.secure:
            raise RuntimeError(f"{self!r} already uses TLS")
        self._state.start_upgrade()
        self._upgrade = upgrade
        if self._waiting_readable and self._reading is not None:
            # The handshake reads the socket: stop waiting on it.  Nothing is lost,
            # the reader holds no data while it waits.
            self._reading.cancel()
        self._writer_wakeup.poke()

    def _write_back(self, _value: Value, data: bytes) -> None:
        if self._state.writable:
            self.write(data)

    # -- the tasks --------------------------------------------------------------------

    async def serve(self) -> None:
        """Run the reader and the writer until the connection has closed.

        Cancellation: closes the stream at once (unsent data is lost).
        """
        reader_done = trio.Event()
        graceful = False
        half_closeable = isinstance(self.stream, trio.abc.HalfCloseableStream)
        try:
            with trio.CancelScope() as life:
                self._life = life
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._reader, reader_done)
                    graceful = await self._writer()
                    half_closeable = isinstance(self.stream, trio.abc.HalfCloseableStream)
                    if graceful and half_closeable:
                        # Our EOF is sent: the reader drops input until the peer's.
                        with trio.move_on_after(_LINGER):
                            await reader_done.wait()
                    nursery.cancel_scope.cancel()
                if graceful and not half_closeable:
                    with trio.move_on_after(_LINGER):
                        await self.stream.aclose()  # TLS: close_notify
        finally:
            self._life = None
            self._fd = None
            self._state.finished()
            await trio.aclose_forcefully(self.stream)

    async def _reader(self, done: trio.Event) -> None:
        state = self._state
        try:
            while True:
                fd = self._fd
                with trio.CancelScope() as reading:
                    self._reading = reading
                    if fd is not None:
                        await self._read_fd(fd)
                    else:
                        await self._read_stream()
                self._reading = None
                while state.phase is Phase.UPGRADING:
                    await self._reader_wakeup.wait()
                if state.phase is not Phase.OPEN or state.eof:
                    return
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._failed(exc)
        finally:
            done.set()

    async def _read_fd(self, fd: int) -> None:
        """Read a plain socket from its descriptor until EOF, the close or a starttls."""
        state = self._state
        gate = self._gate
        wakeup = self._reader_wakeup
        owner = self.owner
        fire = owner.fire
        high_water = state.high_water
        wait_readable = trio.lowlevel.wait_readable
        while True:
            phase = state.phase
            if phase is Phase.UPGRADING:
                return
            if phase is not Phase.OPEN:
                await self._discard(fd)
                return
            if gate.pending:
                # With request/response traffic the cascade is long complete when
                # the next request arrives: wait for it first, one wake-up per message.
                self._waiting_readable = True
                try:
                    await wait_readable(fd)
                finally:
                    self._waiting_readable = False
                while gate.pending and state.phase is Phase.OPEN:
                    await wakeup.wait()
                continue
            if state.buffered > high_water:
                # Output above the high-water mark: read nothing until it drains.  A
                # peer that half-closed and never reads would hold us here for ever:
                # look (without reading) for its EOF first.
                if _at_eof_already(fd):
                    await self._at_eof()
                    return
                await wakeup.wait()
                continue
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                await self._readable(fd)
                continue
            if not data:
                await self._at_eof()
                return
            # No local keeps the event: once dispatched, it and its Value can be
            # freed at once (see core/values.py).
            if not gate.try_fire(fire, owner.read_event(self, data), len(data)):
                await gate.fire(fire, owner.read_event(self, data), len(data))

    async def _read_stream(self) -> None:
        """Read through the (TLS) stream until EOF or the close."""
        state = self._state
        gate = self._gate
        owner = self.owner
        while state.phase is Phase.OPEN:
            if gate.pending or not state.may_read:
                await self._reader_wakeup.wait()
                continue
            data = await self._receive()
            if not data:
                await self._at_eof()
                return
            if state.phase is Phase.OPEN:
                await gate.fire(owner.fire, owner.read_event(self, data), len(data))

    async def _readable(self, fd: int) -> None:
        """Wait for input, at most ``idle_timeout`` (then close)."""
        self._waiting_readable = True
        try:
            timeout = self._settings.idle_timeout
            if timeout is None:
                await trio.lowlevel.wait_readable(fd)
                return
            with trio.move_on_after(timeout) as waiting:
                await trio.lowlevel.wait_readable(fd)
            if waiting.cancelled_caught:
                self._idle()
        finally:
            self._waiting_readable = False

    async def _receive(self) -> bytes | bytearray:
        timeout = self._settings.idle_timeout
        if timeout is None:
            return await self.stream.receive_some(READ_SIZE)
        with trio.move_on_after(timeout):
            return await self.stream.receive_some(READ_SIZE)
        self._idle()
        return b""

    def _idle(self) -> None:
        log.debug("%r received nothing for %s s: closing", self, self._settings.idle_timeout)
        self.close()

    async def _at_eof(self) -> None:
        """The peer sent EOF: let the last cascade complete, then close."""
        self._state.peer_eof()
        while self._gate.pending and self._state.phase is Phase.OPEN:
            await self._reader_wakeup.wait()
        self.close()

    async def _discard(self, fd: int) -> None:
        """Closing: read and drop input until the peer's EOF (or enough of it)."""
        dropped = 0
        while dropped < _LINGER_BYTES:
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(fd)
                continue
            if not data:
                return
            dropped += len(data)

    async def _writer(self) -> bool:
        """Send what is queued until the close; True if it ended gracefully."""
        state = self._state
        try:
            while True:
                if state.upgrade_due:
                    await self._do_upgrade()
                elif state.has_output:
                    chunk = state.next_chunk()
                    await self.stream.send_all(chunk)
                    state.sent(len(chunk))
                    if state.drained:
                        self._reader_wakeup.poke()
                elif state.flushed:
                    break
                else:
                    self._writer_idle = True
                    try:
                        await self._writer_wakeup.wait()
                    finally:
                        self._writer_idle = False
            stream = self.stream
            if isinstance(stream, trio.abc.HalfCloseableStream):
                await stream.send_eof()
            return True
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._failed(exc)
            return False

    async def _do_upgrade(self) -> None:
        upgrade, self._upgrade = self._upgrade, None
        assert upgrade is not None
        self._fd = None  # from now on every byte goes through the TLS stream
        try:
            self.use(await upgrade(self.stream))
        except (OSError, trio.BrokenResourceError, trio.TooSlowError) as exc:
            # A failed handshake leaves the stream unusable.
            raise trio.BrokenResourceError("starttls failed") from exc
        self._state.upgraded()
        self._reader_wakeup.poke()

    def _failed(self, exc: BaseException) -> None:
        """Report a broken connection once, then close it at once."""
        if self._errored or self._state.phase is Phase.CLOSED:
            return
        self._errored = True
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        log.debug("connection %r failed: %r", self, cause)
        self._state.request_close()
        self.owner.fire(self.owner.error_event(self, cause))
        if self._life is not None:
            self._life.cancel()
