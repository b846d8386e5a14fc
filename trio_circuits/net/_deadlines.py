"""The reactor's clocks: which connections are past a deadline (no I/O).

Three deadlines end a plain connection early:

* a close must be done within ``close_timeout`` (then a linger of ``LINGER`` s at
  most): :meth:`Deadlines.closing` records it;
* queued output must make progress within ``send_timeout``: a peer that does not
  read is released (:meth:`Deadlines.sending`, :meth:`Deadlines.moved`);
* with ``idle_timeout``, a connection ready to read must receive something that
  often.

Output and idleness are checked a few times per timeout, not at every pass: a
thousand streaming connections would otherwise cost a loop over them all at each
wake-up.  The reactor asks :meth:`Deadlines.due` with the time, and acts on what it
is told.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from ._state import Phase

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._plain import PlainSlot

__all__ = ["Deadlines"]

_NEVER = float("inf")


def _every(timeout: float) -> float:
    return min(timeout / 4, 1.0)


class Deadlines:
    """The deadlines of one reactor's connections.

    Args:
        idle_timeout: the connections' ``idle_timeout`` (``None``: none).
        send_timeout: the connections' ``send_timeout`` (``None``: none).
    """

    def __init__(self, idle_timeout: float | None, send_timeout: float | None) -> None:
        self.idle_timeout = idle_timeout
        self.send_timeout = send_timeout
        self._closing: set[PlainSlot] = set()
        self._sending: set[PlainSlot] = set()
        self._next_send_check = _NEVER
        self._next_idle_check = _NEVER

    @property
    def active(self) -> bool:
        """True if a deadline may pass (the reactor must check :meth:`due`)."""
        return bool(self._closing or self._sending) or self.idle_timeout is not None

    # -- what the reactor tells -----------------------------------------------------------

    def closing(self, slot: PlainSlot, deadline: float) -> None:
        """``slot`` closes by ``deadline`` at the latest."""
        slot.deadline = min(slot.deadline, deadline)
        self._closing.add(slot)

    def sending(self, slot: PlainSlot, now: float) -> None:
        """``slot`` has output waiting (its clock starts now, unless it runs already)."""
        timeout = self.send_timeout
        if timeout is None or slot in self._sending:
            return
        slot.send_by = now + timeout
        self._sending.add(slot)
        if self._next_send_check == _NEVER:
            self._next_send_check = now + _every(timeout)

    def moved(self, slot: PlainSlot, now: float, flushed: bool) -> None:
        """Some of ``slot``'s output was sent (all of it if ``flushed``)."""
        if flushed:
            self._sending.discard(slot)
        elif self.send_timeout is not None:
            slot.send_by = now + self.send_timeout

    def forget(self, slot: PlainSlot) -> None:
        """``slot`` is gone."""
        self._closing.discard(slot)
        self._sending.discard(slot)

    def stuck(self, slot: PlainSlot) -> trio.TooSlowError:
        """The error that ends ``slot``, whose output made no progress in time."""
        return trio.TooSlowError(
            f"{slot.conn.peer!r} is not reading: {slot.conn._state.buffered} bytes queued "
            f"made no progress for {self.send_timeout} s (send_timeout)"
        )

    # -- what the reactor asks ------------------------------------------------------------

    def next(self, has_slots: bool) -> float:
        """When :meth:`due` next has something to say (``inf``: never)."""
        deadline = min((s.deadline for s in self._closing), default=_NEVER)
        if self._sending:
            deadline = min(deadline, self._next_send_check)
        if self.idle_timeout is not None and has_slots:
            if self._next_idle_check == _NEVER:
                return deadline  # the first due() starts the idle clock
            deadline = min(deadline, self._next_idle_check)
        return deadline

    def due(
        self, now: float, slots: Iterable[PlainSlot]
    ) -> tuple[list[PlainSlot], list[PlainSlot], list[PlainSlot]]:
        """What is past its deadline at ``now``: slots to close at once, slots whose
        output is stuck (``send_timeout``), idle slots to close gracefully."""
        finish = [slot for slot in self._closing if slot.deadline <= now]
        stuck: list[PlainSlot] = []
        if self._sending and now >= self._next_send_check:
            assert self.send_timeout is not None
            self._next_send_check = now + _every(self.send_timeout)
            stuck = [slot for slot in self._sending if slot.send_by <= now]
        idle: list[PlainSlot] = []
        timeout = self.idle_timeout
        if timeout is not None:
            if self._next_idle_check == _NEVER:
                self._next_idle_check = now + timeout / 4
            elif now >= self._next_idle_check:
                self._next_idle_check = now + timeout / 4
                idle = [
                    slot
                    for slot in slots
                    if slot.conn._state.phase is Phase.OPEN
                    and not slot.conn._gate.pending
                    and now - slot.seen >= timeout
                ]
        return finish, stuck, idle
