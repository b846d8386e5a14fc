"""The dispatcher: one Trio task draining a tree's queue into its handlers.

It pops events in FIFO order and runs their plain handlers inline, in priority order;
each ``async`` handler becomes a task in the handler nursery.  A Value counts its
outstanding handlers (one ticket held by the dispatcher while it walks the list,
one per async task); when the count reaches zero the event is *settled*: waiters
wake, ``_success`` is queued, and the completion cascade (``_completion.py``) may
queue ``_complete`` and tell observers the cascade has completed.

The dispatcher is fair: once it has woken a task (a ``call`` answered, a ``wait``
matched, a connection whose read's cascade has completed) it yields within
:data:`_FAIR` more events; every :data:`_CHECK` events it yields if any other task
is ready to run; after :data:`_BATCH` events it yields in any case.

It knows the tree only through its collaborators: the root (for handler lookup and
as the firer of follow-up events), the tree's queue and handler cache, a ``spawn``
for async handlers and a ``stop`` for ``SystemExit``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

import trio

from . import _completion
from ._completion import current_cause
from ._lookup import collect, lookup
from ._release import Releaser
from ._report import format_error, write_report, write_unhandled
from .events import Event, exception
from .handlers import Handler
from .values import Value

if TYPE_CHECKING:
    from ._queue import EventQueue
    from ._waiters import Waiters
    from .manager import Manager

__all__ = ["Dispatcher"]

# Events dispatched before the dispatcher yields to other tasks in any case; after
# it has woken a task (a call answered, a read's cascade completed); and between
# its checks for tasks woken some other way.
_BATCH = 512
_FAIR = 16
_CHECK = 64


class Dispatcher:
    """Runs the handlers of every event put into ``queue`` (see the module docs)."""

    def __init__(
        self,
        root: Manager,
        queue: EventQueue,
        cache: dict[tuple[str, tuple[Hashable, ...]], tuple[Handler, ...]],
        waiters: Waiters,
        spawn: Callable[..., bool],
        stop: Callable[[int | str | None], None],
        between_batches: Callable[[], None],
    ) -> None:
        self.root = root
        self.queue = queue
        self.cache = cache
        self.waiters = waiters
        self._waiting = waiters.by_name  # truthy while any task waits
        self.spawn = spawn
        self.stop = stop
        self.between_batches = between_batches
        self.releaser = Releaser()
        #: Set when a task was (probably) woken by an event it waited for.
        self.woken = False
        _calibrate(self)

    # -- the task -----------------------------------------------------------------------

    async def run(self, closing: Callable[[], bool]) -> None:
        """Dispatch until ``closing()`` is true, then what is queued at that moment.

        Cancellation: stops at once; queued events stay queued.
        """
        queue = self.queue
        checkpoint = trio.lowlevel.checkpoint
        while True:
            if closing():
                # Stopping: what is queued now is dispatched, then this returns (an
                # event that keeps re-firing itself cannot hold the stop).
                for _ in range(len(queue)):
                    self.dispatch(queue.popleft())
                return
            if not queue:
                await queue.park()
                continue
            others_wait = self.drain()
            if not (queue or others_wait):
                continue  # parking yields: no checkpoint first
            await checkpoint()
            if others_wait:
                # Trio runs the tasks of one scheduling round in a random order: if
                # this one came first, yield once more so that the others go first.
                await checkpoint()

    def drain(self) -> bool:
        """Dispatch one batch of what is queued, in the calling task.

        A batch ends after :data:`_BATCH` events, within :data:`_FAIR` events of
        waking a task, or when a check every :data:`_CHECK` events finds other
        tasks ready to run; returns True in the last two cases (the caller should
        yield).  The dispatcher's own loop runs it; so may an I/O task that has
        just fired a batch of input, saving the two task switches of handing it
        over (see ``IOStatus.drain``).  Never call it from a handler.
        """
        queue = self.queue
        dispatch = self.dispatch
        queued = queue.length
        pop = queue.pop_unranked
        budget = _BATCH
        check = _CHECK
        after_wake = -1  # events dispatched since a task was woken (-1: none)
        others_wait = False
        while budget and queued():
            dispatch(queue.popleft() if queue.ranked else pop())
            budget -= 1
            if self.woken:
                self.woken = False
                if after_wake < 0:
                    after_wake = 0
            if after_wake >= 0:
                after_wake += 1
                if after_wake >= _FAIR:
                    others_wait = True
                    break
            check -= 1
            if not check:
                # Tasks woken some other way (a Trio event set by a handler).
                if trio.lowlevel.current_statistics().tasks_runnable:
                    others_wait = True
                    break
                check = _CHECK
        self.between_batches()
        return others_wait

    # -- one event ----------------------------------------------------------------------

    def handlers_for(self, value: Value) -> tuple[Handler, ...]:
        """The handlers that receive ``value``'s event."""
        event = value.event
        assert event is not None
        handlers = lookup(self.cache, self.root, event.name, value._channels)
        extra = value._extra
        if extra is not None and extra._node.root is not self.root:
            more = collect(extra, event.name, value._channels)
            handlers = tuple(sorted(handlers + more, key=lambda h: -h.priority))
        return handlers

    def dispatch(self, value: Value) -> None:
        """Run the plain handlers of ``value``'s event and start its async ones."""
        event = value.event
        assert event is not None
        if event.cancelled:
            value._set_dispatched()
            self.settle(value)
            return
        if self._waiting and self.waiters.match(event, value):
            self.woken = True
        try:
            handlers = self.cache[(event.name, value._channels)]
        except (KeyError, TypeError):
            handlers = self.handlers_for(value)
        else:
            if value._extra is not None:
                handlers = self.handlers_for(value)
        if not handlers:
            value.unhandled = True
            if isinstance(event, exception):
                write_unhandled(event)
        if event.stopped:  # dispatched before (a Timer fires one event again and again)
            event.stopped = False
        started = 0  # async handlers started
        kwargs = event.kwargs
        token = current_cause.set(value) if value._effects else None
        try:
            for h in handlers:
                if event.stopped:
                    break
                event.handler = h.fn
                if h.is_async:
                    if self.spawn(self._run_async, h, value, event._args, kwargs):
                        started += 1
                    continue
                try:
                    # Read per handler: an earlier one may have changed ``event.args``.
                    if h.takes_event:
                        result = h.fn(event, *event._args, **kwargs)
                    elif kwargs:
                        result = h.fn(*event._args, **kwargs)
                    else:  # the common case: no ``**{}`` to unpack
                        result = h.fn(*event._args)
                except Exception as exc:
                    self.failed(h, value, exc)
                except (SystemExit, KeyboardInterrupt) as exc:
                    self.stop(exc.code if isinstance(exc, SystemExit) else None)
                else:
                    if result is not None:
                        value._store(result)
        finally:
            if token is not None:
                current_cause.reset(token)
        value._dispatched = True
        if value._dispatched_event is not None:
            value._dispatched_event.set()
        observer = value._observer
        if observer is not None:
            observer.dispatched(value)
        # The async handlers could not run yet: they count from here.
        if started:
            value._pending = started
            return
        if (
            event.success
            or value._effects
            or value._done_event is not None
            or value._done_callbacks
        ):
            self.settle(value)
        else:
            # Fast path: nobody waits and no follow-up is due.
            value._done = True
        self.releaser.release_dispatched(event, value)

    async def _run_async(
        self, h: Handler, value: Value, args: Sequence[Any], kwargs: dict[str, Any]
    ) -> None:
        try:
            if h.takes_event:
                result = await h.fn(value.event, *args, **kwargs)
            else:
                result = await h.fn(*args, **kwargs)
        except Exception as exc:
            self.failed(h, value, exc)
        except SystemExit as exc:
            self.stop(exc.code)
        except trio.Cancelled:
            # Cut short (the application is stopping): no follow-up reports it done.
            event = value.event
            if event is not None:
                event.cancelled = True
            raise
        else:
            if result is not None:
                value._store(result)
        finally:
            self._handler_done(value)
        if value._done:
            self._release_async(value)

    def _release_async(self, value: Value) -> None:
        event = value.event
        if event is not None:
            self.releaser.release("async", event, value)

    def _handler_done(self, value: Value) -> None:
        """One handler (an ``async`` one) of ``value``'s event has finished."""
        value._pending -= 1
        if value._pending == 0:
            self.settle(value)

    def settle(self, value: Value) -> None:
        """Every handler of ``value``'s event has finished: queue its follow-ups."""
        if value._done_event is not None:
            self.woken = True  # a call() or wait() goes on
        value._set_done()
        event = value.event
        assert event is not None
        if event.success and not value.errors and not event.cancelled:
            follow = event.child("success", event, value.value)
            self.emit(follow, event.success_channels or value._channels)
        if value._effects:
            for done in _completion.finish(value):
                e = done.event
                assert e is not None
                if e.complete and not e.cancelled:
                    follow = e.child("complete", e, done.value)
                    self.emit(follow, e.complete_channels or done._channels)
                if done._set_completed():
                    self.woken = True  # e.g. a connection's reader goes on

    def emit(
        self, event: Event, channels: tuple[Hashable, ...], extra: Manager | None = None
    ) -> Value:
        """Queue a framework event (a follow-up, a report): untracked, from the root."""
        event.channels = channels
        value = Value(event, self.root, channels)
        event.value = value
        if extra is not None:
            value._extra = extra
        self.queue.put(value)
        return value

    # -- errors -------------------------------------------------------------------------

    def failed(self, h: Handler, value: Value, exc: Exception) -> None:
        """A handler raised: store the error, fire ``_failure`` and report it."""
        value._store_error(exc)
        event = value.event
        assert event is not None
        if event.failure:
            follow = event.child("failure", event, (type(exc), exc, exc.__traceback__))
            self.emit(follow, event.failure_channels or value._channels)
        if isinstance(event, exception):
            # An error in an exception handler is reported, never re-fired: no loops.
            write_report(format_error(h.fn, event, type(exc), exc, exc.__traceback__))
        else:
            self.report(exc, handler=h.fn, fevent=event)

    def report(self, exc: BaseException, handler: Any, fevent: Event | None) -> None:
        """Fire ``exception(...)`` for ``exc`` on the root's channel."""
        root = self.root
        report = exception(type(exc), exc, exc.__traceback__, handler=handler, fevent=fevent)
        self.emit(report, (root.channel,))

    async def calibrate_async(self) -> None:
        """Calibrate the release after an ``async`` handler (needs a running Trio)."""
        done = self.releaser.calibrating("async")
        try:
            await self._run_async(_PROBE_HANDLER, *_probe_async())
        finally:
            done()


def _calibrate(dispatcher: Dispatcher) -> None:
    """Measure the release counts of the plain paths with probes (see _release.py)."""
    cache = dispatcher.cache
    # The probes reach no handler: not even the catch-alls of a Debugger.
    keys = [(_probe_event.name, _PROBE_CHANNELS), (_PROBE_CHILD, _PROBE_CHANNELS)]
    for key in keys:
        cache[key] = ()
    try:
        releaser = dispatcher.releaser
        releaser.calibrate("dispatch", lambda: dispatcher.dispatch(_probe()))
        # A follow-up, as ``_success`` is: its parent pair is only referred to by it.
        releaser.calibrate("parent", lambda: dispatcher.dispatch(_probe_child()))
    finally:
        for key in keys:
            cache.pop(key, None)


_PROBE_CHANNELS = ("trio_circuits probe",)


class _probe_event(Event):
    """The unshared event the releaser's counts are measured with."""

    name = "trio_circuits probe"


_PROBE_CHILD = f"{_probe_event.name}_child"


async def _probe_handler() -> None:
    pass


_PROBE_HANDLER = Handler(_probe_handler)


def _probe() -> Value:
    event = _probe_event()
    event.channels = _PROBE_CHANNELS
    value = Value(event, None, _PROBE_CHANNELS)
    event.value = value
    return value


def _probe_child() -> Value:
    parent = _probe().event
    assert parent is not None
    child = parent.child("child", parent, None)
    child.channels = _PROBE_CHANNELS
    value = Value(child, None, _PROBE_CHANNELS)
    child.value = value
    return value


def _probe_async() -> tuple[Value, tuple[()], dict[str, Any]]:
    value = _probe()
    value._pending = 1
    return value, (), {}
