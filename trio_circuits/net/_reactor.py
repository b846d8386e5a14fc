"""A server's plain connections, served from one task: one wake-up per batch.

Trio wakes a task per ready socket; under request/response load that scheduling,
and an ``epoll_ctl`` per wait, is where a Trio server's time goes.  The
:class:`Reactor` instead owns an ``epoll`` set of its own, registered once per
connection (edge-triggered, in and out), and waits on that one descriptor with
``trio.lowlevel.wait_readable``.  When it wakes, every ready connection is served
in one pass:

* it asks the application's intake how much it may read (a grant: a whole read
  while the intake is quiet, a fair share of the room left while sources wait),
  reads once (a read shorter than asked for means the socket is drained until the
  next edge -- unless the peer's EOF was signalled, which waits behind the data)
  and fires ``read`` through the connection's gate; the connection is read again
  only once that read's cascade has completed (the gate then resumes it here) and
  while its output is under the high-water mark.  A connection the intake cannot
  serve yet waits for its grant *alone*: the pass goes on with the others, and the
  intake hands it its turn later (round-robin between the waiting connections);
* ``write`` sends at once; what the kernel refuses waits for the socket's next
  writable edge;
* a close flushes, sends EOF (``shutdown(SHUT_WR)``), then drops what the peer
  still sends until its EOF, for at most ``LINGER`` seconds; the whole close is
  bounded by ``close_timeout``; ``idle_timeout`` closes silent connections, and
  ``send_timeout`` those whose queued output makes no progress (a peer that does
  not read);
* with ``half_close``, the peer's EOF leaves the connection open for writing, and
  ``send_eof`` sends ours once the output is flushed; both sent, it closes.

A connection that starts TLS leaves the reactor for a
:class:`~._streamed.StreamDriver` of its own once its plaintext is sent.

Cancellation: the reactor's task closes every descriptor it still owns, at once.
"""

from __future__ import annotations

import contextlib
import select
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from ..core.intake import Intake
from ._connection import LINGER
from ._deadlines import Deadlines
from ._plain import PlainSlot
from ._state import Phase

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
        spawn: serves a connection that moves to TLS with a
            :class:`~._streamed.StreamDriver` of its own, in the owner's nursery.
        idle_timeout: the connections' ``idle_timeout``.
        send_timeout: the connections' ``send_timeout``.
        drain: dispatches what is queued, in this task (:class:`~trio_circuits.core.
            flow.IOStatus`): the reactor hands each batch of reads over without a
            task switch, and their answers go out in the same pass.
        intake: the application's intake (a grant before each read).
    """

    def __init__(
        self,
        closed: Callable[[Connection], object],
        spawn: Callable[[Connection], None],
        idle_timeout: float | None,
        drain: Callable[[], object],
        intake: Intake,
        send_timeout: float | None = None,
    ) -> None:
        self._drain = drain
        self._intake = intake
        self._closed = closed
        self._spawn = spawn
        self._idle = idle_timeout
        self._deadlines = Deadlines(idle_timeout, send_timeout)
        self._epoll: select.epoll | None = None
        self._slots: dict[int, PlainSlot] = {}
        self._run: list[PlainSlot] = []
        self._flush: set[PlainSlot] = set()
        self._waiting: trio.CancelScope | None = None
        self._stopping = False

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
                    self._read_pass()
                    self._drain()
                    if self._flush:
                        self._flush_all()
                    deadlines = self._deadlines
                    if deadlines.active and trio.current_time() >= deadlines.next(True):
                        self._timeouts()  # busy as it is: stuck peers are released too
                    await trio.lowlevel.checkpoint()
                    continue
                if self._deadlines.active:
                    self._timeouts()
                    if self._run or self._flush:
                        continue
                if self._stopping and not self._slots:
                    break
                deadline = self._deadlines.next(bool(self._slots))
                with trio.CancelScope(deadline=deadline) as waiting:
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
        slot = self._slots[fd] = PlainSlot(conn, fd, trio.current_time(), self._queue)
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
            if self._deadlines.send_timeout is not None:
                self._deadlines.sending(slot, trio.current_time())
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
            conn._peer_done()  # the peer's EOF was waiting for the last cascade
        return False

    def close_requested(self, conn: Connection) -> None:
        """Flush, EOF, linger, close: bounded by ``close_timeout``."""
        slot = self._slots.get(conn._fd)  # type: ignore[arg-type]
        if slot is None:
            return
        self._deadlines.closing(slot, trio.current_time() + conn._settings.close_timeout)
        self._flush.add(slot)
        self._wake()

    def shutdown_requested(self, conn: Connection) -> None:
        """Send what is queued, then what is due next (EOF, the upgrade)."""
        slot = self._slots.get(conn._fd)  # type: ignore[arg-type]
        if slot is not None:
            self._flush.add(slot)
            self._wake()

    #: starttls: the connection is handed over once its plaintext is sent.
    upgrade_requested = shutdown_requested

    def abort_requested(self, conn: Connection) -> None:
        """Close now: what is queued is dropped."""
        slot = self._slots.get(conn._fd)  # type: ignore[arg-type]
        if slot is not None:
            self._finish(slot)

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
            if slot is not None:
                if slot.ready(mask & _IN, mask & _ENDED):
                    self._queue(slot)
                if mask & _OUT and slot.conn._state.has_output:
                    self._flush.add(slot)

    def _read_pass(self) -> None:
        run, self._run = self._run, []
        intake = self._intake
        for slot in run:
            slot.queued = False
            if slot.fd not in self._slots:
                continue  # closed meanwhile
            conn = slot.conn
            if conn._state.phase is Phase.CLOSING:
                slot.give_back(intake)
                if slot.lingering and slot.drop_input():
                    self._finish(slot)
                continue
            if not slot.wants_read():
                slot.give_back(intake)
                if slot.paused_at_eof():
                    self._eof(slot)
                continue  # else resumed by the gate, the drain or the close
            granted = slot.take_grant(intake)
            if not granted:
                continue  # its turn comes: slot.granted() queues it again
            try:
                data = slot.read(granted)
            except OSError as exc:
                intake.settle(granted, 0)
                self._fail(slot, exc)
                continue
            if not data:
                intake.settle(granted, 0)
                if data is not None:
                    self._eof(slot)
                continue
            if self._idle is not None:
                slot.seen = trio.current_time()
            conn._fire_granted(data, granted)

    def _eof(self, slot: PlainSlot) -> None:
        conn = slot.conn
        conn._state.peer_eof()
        slot.readable = False
        if not conn._gate.pending:
            conn._peer_done()  # else once the last read's cascade has completed

    def _flush_all(self) -> None:
        flush, self._flush = self._flush, set()
        for slot in flush:
            if slot.fd in self._slots:
                self._send(slot)

    def _send(self, slot: PlainSlot) -> None:
        """Send what is queued; then resume reading, upgrade or close, as due."""
        state = slot.conn._state
        before = state.buffered
        was_paused = before > state.high_water
        try:
            flushed = slot.send()
        except OSError as exc:
            self._fail(slot, exc)
            return
        if state.buffered < before:
            slot.conn._output_progress()
            if self._deadlines.send_timeout is not None:
                self._deadlines.moved(slot, trio.current_time(), flushed)
        if not flushed:
            return
        if was_paused and state.drained:
            self.resume_input(slot.conn)
        if state.upgrade_due:
            self._hand_over(slot)
        elif state.flushed and not slot.lingering:
            self._send_eof(slot)
        elif state.shutdown_due:
            self._half_close(slot)

    def _half_close(self, slot: PlainSlot) -> None:
        """``send_eof``: our EOF, the connection still reading."""
        try:
            slot.shut_write()
        except OSError as exc:
            self._fail(slot, exc)
            return
        slot.conn._eof_sent()

    def _send_eof(self, slot: PlainSlot) -> None:
        conn = slot.conn
        if conn._state.eof:
            self._finish(slot)  # the peer has closed its side already
            return
        try:
            if not conn._state.eof_sent:
                slot.shut_write()
        except OSError:
            self._finish(slot)
            return
        slot.lingering = True
        self._deadlines.closing(slot, trio.current_time() + LINGER)
        self._queue(slot)

    def _hand_over(self, slot: PlainSlot) -> None:
        """starttls: the connection leaves the reactor for tasks of its own."""
        self._forget(slot)
        slot.conn._direct = False
        self._spawn(slot.conn)  # a StreamDriver's

    # -- the end of a connection ---------------------------------------------------------

    def _timeouts(self) -> None:
        now = trio.current_time()
        finish, stuck, idle = self._deadlines.due(now, self._slots.values())
        for slot in finish:
            self._finish(slot)
        for slot in stuck:
            slot.conn._abort(self._deadlines.stuck(slot))  # abort_requested: _finish
        for slot in idle:
            slot.conn.close()  # nothing received for idle_timeout while ready

    def _fail(self, slot: PlainSlot, exc: OSError) -> None:
        slot.conn._failed(exc)
        self._finish(slot)

    def _forget(self, slot: PlainSlot) -> None:
        slot.give_back(self._intake)
        self._slots.pop(slot.fd, None)
        self._deadlines.forget(slot)
        self._flush.discard(slot)
        if self._epoll is not None:
            with contextlib.suppress(OSError, ValueError):
                self._epoll.unregister(slot.fd)

    def _finish(self, slot: PlainSlot) -> None:
        """Close the connection's socket now and report it."""
        if slot.fd not in self._slots:
            return
        self._forget(slot)
        slot.conn._finished()
        slot.close()
        self._closed(slot.conn)
