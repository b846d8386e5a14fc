"""A server's plain connections, served from one task: one wake-up per batch.

Trio wakes a task per ready socket; under request/response load that scheduling,
and an ``epoll_ctl`` per wait, is where a Trio server's time goes.  The
:class:`Reactor` instead owns an ``epoll`` set of its own, registered once per
connection (edge-triggered, in and out), and waits on that one descriptor with
``trio.lowlevel.wait_readable``.  When it wakes, every ready connection is served
in one pass:

* it reads once (a read shorter than the buffer means the socket is drained until
  the next edge -- unless the peer's EOF was signalled, which waits behind the
  data) and fires ``read`` through the connection's gate; the
  connection is read again only once that read's cascade has completed (the gate
  then resumes it here), while its output is under the high-water mark, and while
  the application's intake admits input;
* ``write`` sends at once; what the kernel refuses waits for the socket's next
  writable edge;
* a close flushes, sends EOF (``shutdown(SHUT_WR)``), then drops what the peer
  still sends until its EOF, for at most ``LINGER`` seconds; the whole close is
  bounded by ``close_timeout``; ``idle_timeout`` closes silent connections.

A connection that starts TLS leaves the reactor for a
:class:`~._streamed.StreamDriver` of its own once its plaintext is sent.

Cancellation: the reactor's task closes every descriptor it still owns, at once.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from ._connection import LINGER
from ._plain import PlainSlot
from ._state import Phase
from ._streamed import StreamDriver

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["Reactor", "available"]

if hasattr(select, "epoll"):
    _ENDED = select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR
    _IN = select.EPOLLIN | _ENDED
    _OUT = select.EPOLLOUT
    _EDGE = select.EPOLLET
else:  # pragma: no cover - no reactor here (see available())
    _ENDED = _IN = _OUT = _EDGE = 0
_MAX_EVENTS = 1024


def available() -> bool:
    """True where the reactor can run (Linux's epoll)."""
    return hasattr(select, "epoll")


class Reactor:
    """Serves plain stream connections from one task (see the module docs).

    Args:
        closed: called with each connection once it has closed (the owner fires
            ``disconnect``).
        spawn: runs a coroutine function in the owner's connection nursery (for a
            connection that moves to TLS).
        idle_timeout: the connections' ``idle_timeout``.
        drain: dispatches what is queued, in this task (:class:`~trio_circuits.core.
            flow.IOStatus`): the reactor hands each batch of reads over without a
            task switch, and their answers go out in the same pass.
    """

    def __init__(
        self,
        closed: Callable[[Connection], object],
        spawn: Callable[[Connection], None],
        idle_timeout: float | None,
        drain: Callable[[], object],
    ) -> None:
        self._drain = drain
        self._closed = closed
        self._spawn = spawn
        self._idle = idle_timeout
        self._epoll: select.epoll | None = None
        self._slots: dict[int, PlainSlot] = {}
        self._run: list[PlainSlot] = []
        self._flush: set[PlainSlot] = set()
        self._closing: set[PlainSlot] = set()
        self._waiting: trio.CancelScope | None = None
        self._stopping = False
        self._next_idle_check = float("inf")

    @property
    def connections(self) -> int:
        """How many connections it serves."""
        return len(self._slots)

    # -- the task -----------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve the connections added until :meth:`stop` and the last has closed.

        Cancellation: every connection still served is closed at once.
        """
        self._epoll = epoll = select.epoll()
        try:
            task_status.started()
            while not (self._stopping and not self._slots):
                self._events(epoll.poll(0, _MAX_EVENTS))
                if self._flush:
                    self._flush_all()
                if self._run:
                    await self._read_pass()
                    self._drain()
                    if self._flush:
                        self._flush_all()
                    await trio.lowlevel.checkpoint()
                    continue
                if self._closing or self._idle is not None:
                    self._timeouts()
                    if self._run or self._flush:
                        continue
                if self._stopping and not self._slots:
                    break
                with trio.CancelScope(deadline=self._next_deadline()) as waiting:
                    self._waiting = waiting
                    await trio.lowlevel.wait_readable(epoll.fileno())
                self._waiting = None
        finally:
            self._waiting = None
            for slot in list(self._slots.values()):
                self._finish(slot)
            epoll.close()
            self._epoll = None

    def add(self, conn: Connection) -> None:
        """Serve ``conn`` (a plain, open connection) from now on."""
        fd = conn._fd
        assert fd is not None
        assert self._epoll is not None
        slot = self._slots[fd] = PlainSlot(conn, fd, trio.current_time())
        conn._driver = self
        conn._direct = True
        self._epoll.register(fd, _IN | _OUT | _EDGE)
        self._queue(slot)  # data may already be waiting

    def stop(self) -> None:
        """Return from :meth:`run` once the connections have closed (close them first)."""
        self._stopping = True
        self._wake()

    # -- the Driver protocol ----------------------------------------------------------

    def output_queued(self, conn: Connection) -> None:
        """Some bytes did not fit in the socket at once: send them when it drains."""
        slot = self._slots.get(conn._fd)  # type: ignore[arg-type]
        if slot is not None:
            self._flush.add(slot)
            self._wake()

    def resume_input(self, conn: Connection) -> bool:
        """The read's cascade completed, or output drained: read again if there is input.

        Returns True if that woke the reactor's task.
        """
        slot = self._slots.get(conn._fd)  # type: ignore[arg-type]
        if slot is None:
            return False
        if self._idle is not None:
            slot.seen = trio.current_time()
        if slot.readable:
            return self._queue(slot)
        if conn._state.eof and not conn._gate.pending:
            conn.close()  # the peer's EOF was waiting for the last cascade
        return False

    def close_requested(self, conn: Connection) -> None:
        """Flush, EOF, linger, close: bounded by ``close_timeout``."""
        slot = self._slots.get(conn._fd)  # type: ignore[arg-type]
        if slot is None:
            return
        slot.deadline = trio.current_time() + conn._settings.close_timeout
        self._closing.add(slot)
        self._flush.add(slot)
        self._wake()

    def upgrade_requested(self, conn: Connection) -> None:
        """starttls: hand the connection over once its plaintext is sent."""
        slot = self._slots.get(conn._fd)  # type: ignore[arg-type]
        if slot is not None:
            self._flush.add(slot)
            self._wake()

    # -- one pass -----------------------------------------------------------------------

    def _wake(self) -> bool:
        if self._waiting is None:
            return False
        self._waiting.cancel()
        return True

    def _queue(self, slot: PlainSlot) -> bool:
        if slot.queued:
            return False
        slot.queued = True
        self._run.append(slot)
        return self._wake()

    def _events(self, events: list[tuple[int, int]]) -> None:
        slots = self._slots
        for fd, mask in events:
            slot = slots.get(fd)
            if slot is None:
                continue
            if mask & _IN:
                slot.readable = True
                if mask & _ENDED:
                    slot.ended = True
                self._queue(slot)
            if mask & _OUT and slot.conn._state.has_output:
                self._flush.add(slot)

    async def _read_pass(self) -> None:
        run, self._run = self._run, []
        for slot in run:
            slot.queued = False
            if slot.fd not in self._slots:
                continue  # closed meanwhile
            conn = slot.conn
            if conn._state.phase is Phase.CLOSING:
                if slot.lingering and slot.drop_input():
                    self._finish(slot)
                continue
            if not slot.wants_read():
                if slot.paused_at_eof():
                    self._eof(slot)
                continue  # else resumed by the gate, the drain or the close
            try:
                data = slot.read()
            except OSError as exc:
                self._fail(slot, exc)
                continue
            if data is None:
                continue
            if not data:
                self._eof(slot)
                continue
            if self._idle is not None:
                slot.seen = trio.current_time()
            if not conn._fire_read(data):
                # The intake is full: dispatch what is queued (here, no task switch),
                # which frees its share, and try again before waiting.
                self._drain()
                if not conn._fire_read(data):
                    await conn._fire_read_later(data)

    def _eof(self, slot: PlainSlot) -> None:
        conn = slot.conn
        conn._state.peer_eof()
        slot.readable = False
        if not conn._gate.pending:
            conn.close()  # else once the last read's cascade has completed

    def _flush_all(self) -> None:
        flush, self._flush = self._flush, set()
        for slot in flush:
            if slot.fd in self._slots:
                self._send(slot)

    def _send(self, slot: PlainSlot) -> None:
        """Send what is queued; then resume reading, upgrade or close, as due."""
        state = slot.conn._state
        was_paused = state.buffered > state.high_water
        try:
            flushed = slot.send()
        except OSError as exc:
            self._fail(slot, exc)
            return
        slot.conn._output_progress()
        if not flushed:
            return
        if was_paused and state.drained:
            self.resume_input(slot.conn)
        if state.upgrade_due:
            self._hand_over(slot)
        elif state.flushed and not slot.lingering:
            self._send_eof(slot)

    def _send_eof(self, slot: PlainSlot) -> None:
        conn = slot.conn
        if conn._state.eof:
            self._finish(slot)  # the peer has closed its side already
            return
        try:
            _socket(conn).shutdown(socket.SHUT_WR)
        except OSError:
            self._finish(slot)
            return
        slot.lingering = True
        slot.deadline = min(slot.deadline, trio.current_time() + LINGER)
        self._closing.add(slot)
        self._queue(slot)

    def _hand_over(self, slot: PlainSlot) -> None:
        """starttls: the connection leaves the reactor for tasks of its own."""
        self._forget(slot)
        conn = slot.conn
        conn._direct = False
        StreamDriver(conn)
        self._spawn(conn)

    # -- the end of a connection ---------------------------------------------------------

    def _timeouts(self) -> None:
        now = trio.current_time()
        for slot in list(self._closing):
            if slot.deadline <= now:
                self._finish(slot)
        if self._idle is not None and now >= self._next_idle_check:
            self._next_idle_check = now + self._idle / 4
            for slot in list(self._slots.values()):
                conn = slot.conn
                if (
                    conn._state.phase is Phase.OPEN
                    and not conn._gate.pending
                    and now - slot.seen >= self._idle
                ):
                    conn.close()  # nothing received for idle_timeout while ready
        elif self._idle is not None and self._next_idle_check == float("inf"):
            self._next_idle_check = now + self._idle / 4

    def _next_deadline(self) -> float:
        deadline = min((s.deadline for s in self._closing), default=float("inf"))
        if self._idle is not None and self._slots:
            deadline = min(deadline, self._next_idle_check)
        return deadline

    def _fail(self, slot: PlainSlot, exc: OSError) -> None:
        slot.conn._failed(exc)
        self._finish(slot)

    def _forget(self, slot: PlainSlot) -> None:
        self._slots.pop(slot.fd, None)
        self._closing.discard(slot)
        self._flush.discard(slot)
        if self._epoll is not None:
            try:
                self._epoll.unregister(slot.fd)
            except (OSError, ValueError):
                pass

    def _finish(self, slot: PlainSlot) -> None:
        """Close the connection's socket now and report it."""
        if slot.fd not in self._slots:
            return
        self._forget(slot)
        conn = slot.conn
        conn._direct = False
        conn._state.finished()
        conn._output_progress()
        _socket(conn).close()
        self._closed(conn)


def _socket(conn: Connection) -> trio.socket.SocketType:
    stream = conn.stream
    assert isinstance(stream, trio.SocketStream)
    return stream.socket
