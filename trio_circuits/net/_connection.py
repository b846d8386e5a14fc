"""One stream connection: the ``sock`` handed to handlers.

A :class:`Connection` owns its stream, a reader task and a writer task (run by
:meth:`Connection.serve` in the component's nursery).  The writer is the only task
that sends, so ``write`` never blocks and never drops data: it appends to an output
buffer.  Back-pressure:

* the reader fires a ``read`` event only once its previous one has been dispatched
  (on a plain socket it may already have waited for the next chunk to arrive), so a
  flooding peer cannot grow the event queue without bound;
* the reader stops reading while more than ``high_water`` bytes are queued for output,
  so a peer that never reads cannot grow the output buffer without bound.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable
from typing import Any

import trio

from ..core.values import Value

log = logging.getLogger("trio_circuits.net")

READ_SIZE = 65536
_UPGRADE = object()
# The writer joins queued chunks up to this size into one send.
_COALESCE = 65536


class _ReadGate:
    """Whether the last ``read`` event is still waiting to be dispatched (internal).

    The dispatcher calls :meth:`set` once it has run the event's handlers (it stands in
    for the Value's "dispatched" event); the reader waits with :meth:`wait_clear`.  One
    object per connection, so no allocation per read.
    """

    __slots__ = ("_task", "pending")

    def __init__(self) -> None:
        self.pending = False
        self._task: trio.lowlevel.Task | None = None

    def set(self) -> None:
        """The last ``read`` event has been dispatched."""
        self.pending = False
        task, self._task = self._task, None
        if task is not None:
            trio.lowlevel.reschedule(task)

    async def wait_clear(self) -> None:
        """Return once no ``read`` event is waiting to be dispatched.

        Cancellation: cancellable while waiting; nothing changes then.
        """
        if not self.pending:
            return
        self._task = trio.lowlevel.current_task()

        def abort(_: Any) -> trio.lowlevel.Abort:
            self._task = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)


class Connection:
    """A connection of a server or client component (the ``sock`` of the events).

    Hashable and stable for the connection's life (also across ``starttls``).

    Attributes:
        peer: the peer's address (``(host, port)``; a path or ``""`` for UNIX).
        buffered: bytes queued for sending and not yet sent.
        secure: True once the connection is TLS-protected.
    """

    def __init__(
        self,
        stream: trio.abc.Stream,
        peer: Any,
        fire_read: Callable[[Connection, bytes | bytearray], Value],
        fire_error: Callable[[Connection, BaseException], None],
        high_water: int,
    ) -> None:
        self.peer = peer
        self.buffered = 0
        self._fire_read = fire_read
        self._fire_error = fire_error
        self.owner: Any = None
        # Plain sockets: while the writer task is idle and nothing is queued, write()
        # sends straight away, saving a task switch per message (see write()).
        self._fd: int | None = None
        self._writer_idle = False
        self._use(stream)
        self._high_water = high_water
        self._low_water = high_water // 2
        # Bytes to send, and at most one _UPGRADE marker: what was written before a
        # starttls goes out in plaintext, what was written after it encrypted.
        self._out: deque[bytes | object] = deque()
        self._wake_writer = trio.Event()
        self._drained = trio.Event()
        self._closing = False
        self._closed = False
        self._reader_scope: trio.CancelScope | None = None
        self._upgrade: Callable[[], Any] | None = None
        self._pausing = False
        self._errored = False
        self._resume = trio.Event()
        self._gate = _ReadGate()

    def __repr__(self) -> str:
        return f"<Connection {self.peer!r}{' tls' if self.secure else ''}>"

    def _use(self, stream: trio.abc.Stream) -> None:
        """Carry on over ``stream`` (a TLS layer over the old one, after a handshake)."""
        self.stream = stream
        self.secure = isinstance(stream, trio.SSLStream)
        self._fd = stream.socket.fileno() if isinstance(stream, trio.SocketStream) else None

    def getpeername(self) -> Any:
        """The peer's address, as ``socket.getpeername`` would give it."""
        return self.peer

    @property
    def closed(self) -> bool:
        """True once the connection has closed (or is closing)."""
        return self._closed or self._closing

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data`` for sending (never blocks, never drops)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes bytes, not {type(data).__name__}")
        if self._closed or self._closing:
            raise trio.ClosedResourceError(f"{self!r} is closed")
        if not data:
            return
        if self._writer_idle and not self._out and self._fd is not None:
            try:
                sent = os.write(self._fd, data)
            except OSError:
                sent = 0  # full, or broken: the writer task sends (and reports) it
            if sent == len(data):
                return
            data = data[sent:]
        self._out.append(bytes(data))
        self.buffered += len(data)
        self._wake_writer.set()

    def close(self) -> None:
        """Close once everything queued has been sent."""
        self._closing = True
        self._fd = None
        self._wake_writer.set()

    # -- tasks --------------------------------------------------------------------------

    async def serve(self) -> None:
        """Run the reader and the writer until the connection has closed.

        A graceful close sends what is queued, then EOF (plain TCP/UNIX) or
        ``close_notify`` (TLS), and waits up to a second for the peer's EOF so that
        unread data does not turn the close into a reset.

        Cancellation: closes the stream at once (unsent data is lost).
        """
        reader_done = trio.Event()
        graceful = False
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._reader, nursery.cancel_scope, reader_done)
                graceful = await self._writer()
                if graceful and isinstance(self.stream, trio.abc.HalfCloseableStream):
                    with trio.move_on_after(1):
                        await reader_done.wait()
                nursery.cancel_scope.cancel()
            if graceful and not isinstance(self.stream, trio.abc.HalfCloseableStream):
                # TLS: close_notify (SSLStream.aclose never waits for the peer's).
                with trio.move_on_after(1):
                    await self.stream.aclose()
        finally:
            self._closed = True
            self._fd = None
            self._out.clear()
            self.buffered = 0
            self._drained.set()
            await trio.aclose_forcefully(self.stream)

    async def _reader(self, done: trio.CancelScope, finished: trio.Event) -> None:
        try:
            fd = self._fd
            if fd is not None:
                with trio.CancelScope() as scope:
                    self._reader_scope = scope
                    if await self._read_plain(fd):
                        return
                self._reader_scope = None
            # TLS, or a plain socket after starttls or close(): through the stream.
            await self._read_stream()
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._failed(exc)
            done.cancel()
        finally:
            finished.set()

    async def _read_plain(self, fd: int) -> bool:
        """Read a plain socket straight from its descriptor; True once at EOF.

        Returns False when the stream must take over: ``start_tls`` (which also
        cancels the enclosing scope) or ``close()``.  The reader waits for data
        before it waits for its previous ``read`` event to be dispatched: with
        request/response traffic that dispatch is long done when the next request
        arrives, so the reader wakes once per message.  It holds no data at any
        checkpoint, so a cancellation loses nothing.
        """
        gate = self._gate
        while True:
            if self.buffered > self._high_water:
                await self._wait_drained()
                continue
            if gate.pending:
                await trio.lowlevel.wait_readable(fd)
                await gate.wait_clear()
            if self._pausing or self._fd is None:
                return False
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(fd)
                continue
            if not data:
                self.close()  # peer EOF: answer what is queued, then close
                return True
            self._deliver(data)

    def _deliver(self, data: bytes | bytearray) -> None:
        """Fire ``read`` for ``data``; the gate closes until it has been dispatched."""
        self._gate.pending = True
        # No local keeps the Value: once dispatched it can be freed at once.
        self._fire_read(self, data)._dispatched_event = self._gate

    async def _wait_drained(self) -> None:
        """Wait until the queued output has fallen to the low-water mark."""
        self._drained = trio.Event()
        await self._drained.wait()

    async def _read_stream(self) -> None:
        gate = self._gate
        while True:
            if self._pausing:
                await self._resume.wait()
                continue
            if self.buffered > self._high_water:
                await self._wait_drained()
                continue
            await gate.wait_clear()
            with trio.CancelScope() as scope:
                self._reader_scope = scope
                data = await self.stream.receive_some(READ_SIZE)
            self._reader_scope = None
            if scope.cancelled_caught:
                continue  # paused for starttls; no data was lost
            if not data:
                self.close()  # peer EOF: answer what is queued, then close
                return
            self._deliver(data)

    async def _writer(self) -> bool:
        try:
            while True:
                if self._out and self._out[0] is _UPGRADE:
                    self._out.popleft()
                    await self._do_upgrade()
                    continue
                if not self._out:
                    if self._closing:
                        break
                    self._wake_writer = trio.Event()
                    self._writer_idle = True
                    try:
                        await self._wake_writer.wait()
                    finally:
                        self._writer_idle = False
                    continue
                chunk = self._take()
                await self.stream.send_all(chunk)
                self.buffered -= len(chunk)
                if self.buffered <= self._low_water:
                    self._drained.set()
            stream = self.stream
            if isinstance(stream, trio.abc.HalfCloseableStream):
                await stream.send_eof()
            return True
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._failed(exc)
            return False

    def _take(self) -> bytes:
        out = self._out
        first = out.popleft()
        assert isinstance(first, bytes)
        if not out or len(first) >= _COALESCE:
            return first
        parts = [first]
        size = len(first)
        while out:
            part = out[0]
            if not isinstance(part, bytes) or size + len(part) > _COALESCE:
                break
            out.popleft()
            parts.append(part)
            size += len(part)
        return b"".join(parts)

    def _failed(self, exc: BaseException) -> None:
        if self._closed or self._errored:
            return
        self._errored = True
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        log.debug("connection %r failed: %r", self, cause)
        self._closing = True
        self._fire_error(self, cause)

    # -- starttls -----------------------------------------------------------------------

    def start_tls(self, upgrade: Callable[[trio.abc.Stream], Any]) -> None:
        """Upgrade to TLS after what is already queued has been sent in plaintext.

        ``upgrade(stream)`` is awaited by the writer and returns the new stream.
        """
        if self.secure or self._pausing:
            raise RuntimeError(f"{self!r} already uses TLS")
        self._pausing = True
        self._resume = trio.Event()
        self._upgrade = lambda: upgrade(self.stream)
        self._out.append(_UPGRADE)
        if self._reader_scope is not None:
            # A cancelled receive loses no data: the bytes wait in the kernel.
            self._reader_scope.cancel()
        self._wake_writer.set()

    async def _do_upgrade(self) -> None:
        assert self._upgrade is not None
        upgrade, self._upgrade = self._upgrade, None
        try:
            self._fd = None  # TLS from now on: every byte goes through the SSLStream
            self._use(await upgrade())
        except Exception as exc:
            # A failed handshake leaves the stream unusable: report, then close.
            self._failed(exc)
            raise trio.BrokenResourceError("starttls failed") from exc
        finally:
            self._pausing = False
            self._resume.set()
