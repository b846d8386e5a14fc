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

import logging
import os
import socket
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Protocol

import attrs
import trio

from ..core.events import Event
from ..core.flow import DrainWait, Intake, cascade_root
from ..core.values import Value
from ._gate import ReadGate
from ._state import ConnectionState, Phase

log = logging.getLogger("trio_circuits.net")

READ_SIZE = 65536
# Stop reading a connection while more than this is queued for it: asyncio's
# default too.  Memory per connection stays near one read, and the socket's own
# send buffer keeps the link busy.
HIGH_WATER = 1 << 16
# Once closing: how long to wait for the peer's EOF, and how much of what it still
# sends to read (and drop) meanwhile, so that unread input does not turn the close
# into a reset.
LINGER = 1.0
LINGER_BYTES = 1 << 18

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


@attrs.frozen
class Settings:
    """A component's settings for each of its connections.

    Attributes:
        high_water: stop reading while more bytes than this are queued for sending.
        idle_timeout: close a connection that receives nothing for this many seconds
            while it is ready to read (``None``: never).
        close_timeout: seconds a close may take to flush, send EOF and linger.
        handshake_timeout: seconds a TLS handshake may take.
        drain_timeout: seconds a connection may keep another's cascade waiting for
            its output to drain (``drain``) before it is closed as a peer that does
            not read (``None``: as long as it stays connected).
    """

    high_water: int = HIGH_WATER
    idle_timeout: float | None = None
    close_timeout: float = 5.0
    handshake_timeout: float = 10.0
    drain_timeout: float | None = None

    def __attrs_post_init__(self) -> None:
        if isinstance(self.high_water, bool) or self.high_water < 1:
            raise ValueError(f"high_water must be >= 1, not {self.high_water!r}")
        for name in ("close_timeout", "handshake_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        for name in ("idle_timeout", "drain_timeout"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0 (or None)")


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
        self._gate = ReadGate(intake, self._input_resumable, self._write_back)
        self._driver: Driver | None = None
        self._upgrade: Upgrade | None = None
        self._errored = False
        # ``drain`` handlers waiting for this connection's output.
        self._drained = DrainWait()
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
        state.queue(data)
        self._output_queued()
        if state.buffered > state.high_water:
            self._hold_cascade()

    async def wait_drained(self) -> None:
        """Return once at most the low-water mark is queued, or the connection closes.

        Cancellation: cancellable; nothing changes then.
        """
        state = self._state
        await self._drained.until(lambda: not state.writable or state.drained)

    async def hold_until_drained(self) -> None:
        """The ``drain`` handler: wait for :meth:`wait_drained`, within ``drain_timeout``.

        A peer that reads nothing for that long while another connection's cascade
        waits for it is reported (``error(sock, TooSlowError)``) and closed, so that
        it cannot hold the others back for ever (a chat server's silent member).

        Cancellation: cancellable; nothing changes then.
        """
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
            log.debug("connection %r: %s", self, reason)
            self.owner.fire(self.owner.error_event(self, reason))
            self.close()  # what is queued still has close_timeout to go out

    def _hold_cascade(self) -> None:
        """More than the high-water mark is queued: hold the cascade that wrote it.

        Written in the cascade of *another* source's read (a relay), the ``drain``
        event fired here belongs to that cascade, and its handler returns once this
        connection's output has drained: the source reads nothing more meanwhile, so
        a peer that does not read cannot make the relay queue without bound.  A
        cascade of this connection's own reads needs no hold: the connection stops
        reading by itself while its output is above the mark.
        """
        root = cascade_root()
        if root is not None and not self._gate.fired(root):
            self.owner.fire(self.owner.drain_event(self))

    def close(self) -> None:
        """Close once everything queued has been sent (bounded by ``close_timeout``)."""
        state = self._state
        if not state.writable:
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
        if self._drained.waiting and (self._state.drained or not self._state.writable):
            self._drained.wake()

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
