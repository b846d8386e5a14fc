"""How I/O components start, and how much they may add to the application's queue.

``fire`` never blocks, so the queue cannot push back by itself.  The components
that turn the outside world into events (servers, clients, files, processes) ask
the application's :class:`Intake` before each event they fire for input:

* while more than ``max_queued`` events wait in the queue, nothing is admitted;
* an input may fan out into many events once it is dispatched (a ``Line``
  splitting two-byte lines makes one event per two bytes), so inputs fired and not
  yet dispatched count against the bound too: an input of ``size`` bytes counts
  as ``1 + size // 8`` events (:func:`weight`);
* one input is always admitted when no other is in flight and the queue is below
  the bound, so a large read is never refused for ever.

While the queue is busy, at most one large read is thus in flight, and the queue
stays below ``max_queued`` plus one read's fan-out (a 64 KiB read of empty lines
makes 65,536 events: under 10x the default bound), however many sources flood it;
while it is quiet, a thousand small reads (an echo server's requests) are
admitted together.  Waiting sources are admitted in the order they asked; the
dispatcher calls :meth:`Intake.poll` between batches.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from ._completion import current_cause

if TYPE_CHECKING:
    from .values import Value

__all__ = ["MAX_QUEUED", "DrainWait", "IOStatus", "Intake", "cascade_root", "weight"]

#: The default bound on queued events (``Manager.max_queued``).
MAX_QUEUED = 10_000


def cascade_root() -> Value | None:
    """The Value of the event whose cascade the running handler belongs to, if any.

    The outermost tracked event: for a handler run because a connection or a file
    read something, that ``read``.  A component that queues output beyond its
    high-water mark asks this to hold the cascade of *another* source (a relay's
    reading side) until the output has drained: how back-pressure crosses from one
    connection to another.  ``None`` outside every tracked cascade.
    """
    value = current_cause.get()
    if value is None:
        return None
    while value._cause is not None:
        value = value._cause
    return value


class DrainWait:
    """Tasks waiting for queued output to drain (``drain`` handlers), woken as it does.

    The owner of the queue calls :meth:`wake` when its output may have fallen far
    enough (something was sent, the queue was dropped, it is closing); waiters check
    their own condition again.  Costs nothing while nobody waits: the event is made by
    the first waiter.
    """

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event: trio.Event | None = None

    @property
    def waiting(self) -> bool:
        """True while a task waits (wake it only then: saves a call per send)."""
        return self._event is not None

    async def until(self, drained: Callable[[], bool]) -> None:
        """Return once ``drained()`` is true, checked again at each :meth:`wake`.

        Cancellation: cancellable; nothing changes then.
        """
        while not drained():
            if self._event is None:
                self._event = trio.Event()
            await self._event.wait()

    def wake(self) -> None:
        """Let every waiter check its condition again."""
        event, self._event = self._event, None
        if event is not None:
            event.set()


def weight(size: int) -> int:
    """What an input of ``size`` bytes counts for against the bound."""
    return 1 + (size >> 3)


class _Parked:
    __slots__ = ("size", "task")

    def __init__(self, task: trio.lowlevel.Task, size: int) -> None:
        self.task = task
        self.size = size


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
        #: The weight of admitted inputs not yet dispatched.
        self.in_flight = 0
        self._parked: deque[_Parked] = deque()

    def admits(self, size: int) -> bool:
        """True if an input of ``size`` bytes may be fired now (pure; takes nothing)."""
        queued = self._queued()
        if queued > self.max_queued:
            return False
        return self.in_flight == 0 or queued + self.in_flight + weight(size) <= self.max_queued

    def admit_now(self, size: int) -> bool:
        """Count an input of ``size`` bytes in flight if it is admitted now."""
        # admits() inlined: this runs for every read.
        if self._parked:
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
        same size once that event has been dispatched.  Earlier callers still
        waiting go first.  Admitted at once, this does not yield.

        Cancellation: nothing is counted if the wait is cancelled.
        """
        if self.admit_now(size):
            return
        parked = _Parked(trio.lowlevel.current_task(), size)
        self._parked.append(parked)

        def abort(_: Any) -> trio.lowlevel.Abort:
            self._parked.remove(parked)
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def release(self, size: int) -> None:
        """An admitted input of ``size`` bytes has been dispatched."""
        self.in_flight -= 1 + (size >> 3)  # weight(size), inlined
        if self._parked:
            self.poll()

    def poll(self) -> None:
        """Admit waiting inputs, oldest first, while the bound allows."""
        parked = self._parked
        while parked and self.admits(parked[0].size):
            first = parked.popleft()
            self.in_flight += weight(first.size)
            trio.lowlevel.reschedule(first.task)

    @property
    def waiting(self) -> int:
        """How many sources wait to be admitted."""
        return len(self._parked)


def _nothing() -> None:
    pass


class IOStatus:
    """The ``task_status`` that :meth:`Manager.run_io` receives.

    Attributes:
        initial: True if the component started with the application: then an
            exception raised before :meth:`started` makes the application's start
            fail with it.
        intake: the application's :class:`Intake`, for components that fire input.
        drain: ``drain()`` dispatches what is queued now, in the calling task, bounded
            as the dispatcher's own batches are: a component that has just fired a
            batch of input may call it before it waits, saving the two task switches
            of handing the batch to the dispatcher.  Never call it from a handler.
        done: True once :meth:`started` was called.
    """

    def __init__(
        self,
        initial: bool,
        intake: Intake,
        on_started: Callable[[Any], None],
        stopping: Callable[[], bool] = bool,
        drain: Callable[[], object] = _nothing,
    ) -> None:
        self.initial = initial
        self.intake = intake
        self._on_started = on_started
        self._stopping = stopping
        self.drain = drain
        self.done = False

    @property
    def stopping(self) -> bool:
        """True once the application has been asked to stop (a timer fires no more)."""
        return self._stopping()

    def started(self, value: Any = None) -> None:
        """The component is ready (``value``: e.g. the Value of its ``ready`` event)."""
        if self.done:
            raise RuntimeError("called 'started' twice")
        self.done = True
        self._on_started(value)
