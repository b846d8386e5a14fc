"""How much input the application takes in, and from whom: the :class:`Intake`.

``fire`` never blocks, so the queue cannot push back by itself.  The components that
turn the outside world into events (servers, clients, datagram sockets) ask the
application's intake before they fire a ``read``:

* while more than ``max_queued`` events wait in the queue, nothing is admitted;
* an input may fan out into many events once it is dispatched (a ``Line``
  splitting two-byte lines makes one event per two bytes), so inputs fired and not
  yet dispatched count against the bound too: an input of ``size`` bytes counts as
  ``1 + size // 8`` events (:func:`weight`);
* one input is always admitted when no other is in flight and the queue is below
  the bound, so that a large read is never refused for ever.

Two ways in, one queue of waiting sources:

* **A grant** (:meth:`Intake.grant_now`, :meth:`Intake.wait`, :meth:`Intake.grant`)
  is asked for *before* reading: the source then reads at most the granted number
  of bytes, and :meth:`Intake.settle` counts what it really read.  While the intake
  is contended, each grant is a fair share of the room left (the room divided
  between the sources that wait), so fifty flooding peers each read a little in
  turn instead of one of them taking the whole bound.  A grant is for a source that
  reads without blocking (a socket known to be readable): holding one across a wait
  would starve the others.
* **An admission** (:meth:`Intake.admit_now`, :meth:`Intake.admit`) is asked for
  with the input already read, of a known size (a datagram, a TLS record, which
  cannot be read in parts).  An input that does not fit yet lets smaller ones behind
  it go first, at most :data:`PASSES` times; then it is next, whatever waits.

Waiting sources are served round-robin: each is served in the order it asked, and a
source that comes back goes to the end, so none waits for more than one turn of the
others.  The dispatcher calls :meth:`Intake.poll` between batches.  No I/O here, and
Trio only to park the tasks that wait.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import trio

__all__ = ["MAX_QUEUED", "MIN_GRANT", "PASSES", "READ_SIZE", "Intake", "Waiter", "weight"]

#: The default bound on queued events (``Manager.max_queued``).
MAX_QUEUED = 10_000
#: The largest grant: one read of a stream.
READ_SIZE = 65536
#: The smallest grant a contended intake hands out (a line or two of a flood).
MIN_GRANT = 512
#: How many times a waiting admission lets smaller ones pass before it is next.
PASSES = 2


def weight(size: int) -> int:
    """What an input of ``size`` bytes counts for against the bound."""
    return 1 + (size >> 3)


class Waiter(Protocol):
    """A source waiting for a grant (see :meth:`Intake.wait`)."""

    def granted(self, size: int) -> None:
        """``size`` bytes may be read now (counted in flight until :meth:`Intake.settle`)."""


class _Entry:
    """One waiting source: a grant (``size`` 0) or an admission of ``size`` bytes."""

    __slots__ = ("key", "passed", "size", "wake")

    def __init__(self, wake: Callable[[int], None], size: int, key: Any = None) -> None:
        self.wake = wake
        self.size = size
        self.key = key  # the Waiter, for forget()
        self.passed = 0


class Intake:
    """The application's admission of input into its queue (see the module docs).

    Args:
        max_queued: the bound on queued events.
        queued: returns how many events are queued now.
    """

    def __init__(self, max_queued: int, queued: Callable[[], int]) -> None:
        if isinstance(max_queued, bool) or not isinstance(max_queued, int) or max_queued < 1:
            raise ValueError(f"max_queued must be a positive int, not {max_queued!r}")
        self.max_queued = max_queued
        self._queued = queued
        #: The weight of granted and admitted inputs not yet dispatched.
        self.in_flight = 0
        self._waiting: deque[_Entry] = deque()
        self._by_waiter: dict[Any, _Entry] = {}

    @property
    def waiting(self) -> int:
        """How many sources wait."""
        return len(self._waiting)

    # -- grants: ask, then read ---------------------------------------------------------

    def grant_now(self) -> int:
        """Bytes a source may read now (counted in flight), or 0: then it must wait.

        Nobody waiting and room for a whole read: a whole read.  Otherwise the source
        waits its turn (:meth:`wait` or :meth:`grant`), so that it cannot overtake the
        sources already waiting.
        """
        if self._waiting:
            return 0
        queued = self._queued()
        limit = self.max_queued
        in_flight = self.in_flight
        if queued > limit:
            return 0
        if in_flight and queued + in_flight + (1 + (READ_SIZE >> 3)) > limit:
            return 0
        self.in_flight = in_flight + 1 + (READ_SIZE >> 3)
        return READ_SIZE

    def wait(self, waiter: Waiter) -> None:
        """Queue ``waiter`` for a grant: ``waiter.granted(size)`` is called later.

        A waiter waits once at a time; :meth:`forget` withdraws it.
        """
        if waiter in self._by_waiter:
            return
        entry = _Entry(waiter.granted, 0, waiter)
        self._by_waiter[waiter] = entry
        self._waiting.append(entry)
        self.poll()

    def forget(self, waiter: Waiter) -> None:
        """Withdraw ``waiter`` (a source that closes while it waits)."""
        entry = self._by_waiter.pop(waiter, None)
        if entry is not None:
            self._waiting.remove(entry)

    async def grant(self) -> int:
        """Wait for a grant; return its size in bytes (see :meth:`grant_now`).

        Cancellation: nothing is granted if the wait is cancelled.
        """
        size = self.grant_now()
        if size:
            return size
        return await self._park(0)

    def settle(self, granted: int, size: int) -> None:
        """A grant of ``granted`` bytes was used for a read of ``size`` (0: none).

        What was not used is free again; the read (if any) stays in flight until
        :meth:`release`.
        """
        self.in_flight -= (granted >> 3) - (size >> 3) + (0 if size else 1)
        if self._waiting:
            self.poll()

    # -- admissions: read, then ask -----------------------------------------------------

    def admit_now(self, size: int) -> bool:
        """Count an input of ``size`` bytes in flight if it is admitted now."""
        if self._waiting:
            return False
        queued = self._queued()
        limit = self.max_queued
        if queued > limit:
            return False
        in_flight = self.in_flight
        share = 1 + (size >> 3)
        if in_flight and queued + in_flight + share > limit:
            return False
        self.in_flight = in_flight + share
        return True

    async def admit(self, size: int) -> None:
        """Return once an input of ``size`` bytes is admitted, and count it in flight.

        The caller fires its event right after and calls :meth:`release` with the
        same size once that event has been dispatched.  Admitted at once, this does
        not yield.

        Cancellation: nothing is counted if the wait is cancelled.
        """
        if not self.admit_now(size):
            await self._park(size)

    async def _park(self, size: int) -> int:
        """Wait in line (a grant if ``size`` is 0); return the bytes granted or admitted."""
        task = trio.lowlevel.current_task()
        granted = -1  # -1: not served yet
        sleeping = False

        def wake(n: int) -> None:
            nonlocal granted
            granted = n
            if sleeping:
                trio.lowlevel.reschedule(task)

        entry = _Entry(wake, size)
        self._waiting.append(entry)
        self.poll()
        if granted >= 0:
            # Served at once; the checkpoint must not lose what was counted for us.
            await trio.lowlevel.cancel_shielded_checkpoint()
            return granted

        def abort(_: Any) -> trio.lowlevel.Abort:
            self._waiting.remove(entry)
            return trio.lowlevel.Abort.SUCCEEDED

        sleeping = True
        await trio.lowlevel.wait_task_rescheduled(abort)
        return granted

    # -- both -----------------------------------------------------------------------------

    def release(self, size: int) -> None:
        """An input of ``size`` bytes has been dispatched."""
        self.in_flight -= 1 + (size >> 3)  # weight(size), inlined
        if self._waiting:
            self.poll()

    def poll(self) -> None:
        """Serve waiting sources in turn while the bound leaves room.

        Each grant is the room left divided between the sources still waiting
        (between :data:`MIN_GRANT` and :data:`READ_SIZE` bytes); an admission that does
        not fit lets the ones behind it go first, :data:`PASSES` times at most.
        """
        waiting = self._waiting
        limit = self.max_queued
        index = 0
        while index < len(waiting):
            queued = self._queued()
            room = limit - queued - self.in_flight
            if queued > limit or room < 0:
                return
            entry = waiting[index]
            if entry.size:
                cost = 1 + (entry.size >> 3)
                if cost > room and self.in_flight:
                    entry.passed += 1
                    if entry.passed > PASSES:
                        return  # its turn: nobody overtakes it any more
                    index += 1
                    continue
                size = entry.size
            else:
                share = room // (len(waiting) - index) - 1
                size = min(READ_SIZE, share << 3)
                if size < MIN_GRANT:
                    if self.in_flight:
                        return  # too little room: wait for some to be dispatched
                    size = MIN_GRANT
                cost = 1 + (size >> 3)
            del waiting[index]
            self.in_flight += cost
            self._wake(entry, size)

    def _wake(self, entry: _Entry, size: int) -> None:
        if entry.key is not None:
            del self._by_waiter[entry.key]
        entry.wake(size)
