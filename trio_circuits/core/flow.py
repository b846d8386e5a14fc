"""How I/O components start, and how their output holds back other sources.

* :class:`IOStatus` is what :meth:`Manager.run_io` receives: whether the component
  starts with the application, the application's :class:`~.intake.Intake` (how
  much input it may fire, and when), a ``drain`` of the queue.
* :func:`cascade_root` tells a writer whose cascade it is in, and
  :func:`note_receiver` / :func:`is_broadcast` whether that cascade writes to one
  connection or to many; :class:`DrainWait` is where ``drain`` handlers wait for
  queued output to fall (back-pressure across sources).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from ._completion import current_cause
from .intake import MAX_QUEUED, Intake, weight

if TYPE_CHECKING:
    from .values import Value

__all__ = [
    "MAX_QUEUED",
    "DrainWait",
    "IOStatus",
    "Intake",
    "cascade_root",
    "is_broadcast",
    "note_receiver",
    "weight",
]


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


#: What :func:`note_receiver` records once a cascade has written to two receivers.
_MANY = object()


def note_receiver(root: Value, receiver: object) -> None:
    """Record that the cascade rooted at ``root`` wrote to ``receiver`` (a connection).

    A cascade that writes to one receiver is a *tunnel*: holding it for that receiver
    holds nobody else.  One that writes to several is a *broadcast*
    (:func:`is_broadcast`): holding it for one slow receiver would hold the others.
    """
    fanout = root._fanout
    if fanout is None:
        root._fanout = receiver
    elif fanout is not receiver:
        root._fanout = _MANY


def is_broadcast(root: Value) -> bool:
    """True once the cascade rooted at ``root`` has written to two receivers or more."""
    return root._fanout is _MANY


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

    async def changed(self) -> None:
        """Return at the next :meth:`wake`.

        Cancellation: cancellable; nothing changes then.
        """
        if self._event is None:
            self._event = trio.Event()
        await self._event.wait()

    def wake(self) -> None:
        """Let every waiter check its condition again."""
        event, self._event = self._event, None
        if event is not None:
            event.set()


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
