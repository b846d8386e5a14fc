"""The flow of input: one read in flight per source, governed by its cascade.

Every reader (a stream connection, a datagram socket) fires its input through a
:class:`ReadGate`.  The gate asks the application's
:class:`~trio_circuits.core.flow.Intake` first, fires the ``read`` event, observes
its Value and:

* once the event is dispatched, gives the intake its share back;
* once every handler has finished, writes back the bytes a handler returned (the
  one place that rule lives: two handlers returning bytes make a list, which is not
  written, as in circuits);
* once the event's whole cascade has completed, lets the reader read again.

So a reader never has more than one ``read`` whose cascade is unfinished: whatever
that cascade writes is queued before the next read or the close (SPEC 5.1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

from ..core.events import Event
from ..core.flow import Intake
from ..core.values import Value

__all__ = ["ReadGate", "Wakeup"]


class Wakeup:
    """A slot for one waiting task that any number of :meth:`poke` calls wake.

    No allocation per wait: a reader parks here whenever what it waits for (a
    cascade, drained output, an upgrade) may have changed, and re-checks on waking.
    """

    __slots__ = ("_task",)

    def __init__(self) -> None:
        self._task: trio.lowlevel.Task | None = None

    async def wait(self) -> None:
        """Park until poked.

        Cancellation: cancellable; nothing changes then.
        """
        if self._task is not None:
            raise trio.BusyResourceError("another task is already waiting here")
        self._task = trio.lowlevel.current_task()

        def abort(_: Any) -> trio.lowlevel.Abort:
            self._task = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def poke(self) -> bool:
        """Wake the waiting task, if any (True if there was one)."""
        task, self._task = self._task, None
        if task is None:
            return False
        trio.lowlevel.reschedule(task)
        return True


class ReadGate:
    """Fires a reader's input, one ``read`` at a time (see the module docs).

    Args:
        intake: the application's intake.
        resume: called when the cascade of the read in flight completes (e.g. a
            :class:`Wakeup`'s ``poke``); returns True if that woke a task.
        send: where bytes returned by a ``read`` handler go, with the Value of the
            read (``send(value, data)``).
    """

    __slots__ = ("_fired", "_intake", "_resume", "_send", "_size", "pending")

    def __init__(
        self,
        intake: Intake,
        resume: Callable[[], bool | None],
        send: Callable[[Value, bytes], None],
    ) -> None:
        self._intake = intake
        self._resume = resume
        self._send = send
        self._size = 0
        # The id of the read in flight: an id, not a reference, so that the event
        # is still freed the moment it is dispatched (see core/_release.py).
        self._fired = 0
        #: A ``read`` was fired and its cascade has not completed.
        self.pending = False

    def fire_granted(
        self, fire: Callable[[Event], Value], event: Event, size: int, granted: int
    ) -> None:
        """Fire ``event``, an input of ``size`` bytes read under a grant of ``granted``.

        See :meth:`~trio_circuits.core.intake.Intake.grant_now`: the grant is settled
        (what was not read is free again) and the input counts in flight until it
        is dispatched.
        """
        if (granted >> 3) != (size >> 3):
            self._intake.settle(granted, size)  # what was not read is free again
        self._size = size
        self.pending = True
        self._fired = id(event)
        fire(event).observe(self)

    def try_fire(self, fire: Callable[[Event], Value], event: Event, size: int) -> bool:
        """Fire ``event`` (an input of ``size`` bytes) if the intake admits it now."""
        if not self._intake.admit_now(size):
            return False
        self._size = size
        self.pending = True
        self._fired = id(event)
        fire(event).observe(self)
        return True

    async def fire(self, fire: Callable[[Event], Value], event: Event, size: int) -> None:
        """Fire ``event`` (an input of ``size`` bytes) once the intake admits it.

        Cancellation: if cancelled while waiting for the intake, nothing is fired.
        """
        if self.try_fire(fire, event, size):
            return
        await self._intake.admit(size)
        self._size = size
        self.pending = True
        self._fired = id(event)
        fire(event).observe(self)

    def fired(self, root: Value) -> bool:
        """True if ``root`` (a cascade's root, alive) is the read in flight here."""
        return self.pending and id(root.event) == self._fired

    # -- the read Value's observer ----------------------------------------------------

    def dispatched(self, value: Value) -> None:
        """The read was dispatched: its share of the intake is free again."""
        self._intake.release(self._size)

    def done(self, value: Value) -> None:
        """Every handler of the read has finished: write back what they returned."""
        result = value.value
        if type(result) is bytes:
            if result:
                self._send(value, result)
        elif isinstance(result, (bytes, bytearray)) and result:
            self._send(value, bytes(result))

    def completed(self, value: Value) -> bool | None:
        """The read's cascade has completed: the reader may read again."""
        self.pending = False
        return self._resume()
