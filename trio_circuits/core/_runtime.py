"""The running application: one dispatcher task, a nursery for ``async`` handlers and
one for I/O components, all under :meth:`Manager.run`.

Theory of operation
-------------------
``fire`` appends a :class:`Value` to the root's deque and, if the dispatcher is
parked, reschedules it.  The dispatcher pops events in FIFO order and runs their
plain handlers inline, in priority order; each ``async`` handler becomes a task in
the handler nursery.  A Value counts its outstanding handlers (one ticket held by
the dispatcher while it walks the list, one per async task); when the count reaches
zero the event is *settled*: waiters wake, ``_success`` is queued, and the
completion cascade (``_completion.py``) may queue ``_complete``.

I/O components (servers, clients, timers) implement ``run_io``; each runs in its own
cancel scope in the I/O nursery, so unregistering one cancels exactly its tasks.

Shutdown (``stop()``): ``stopped`` is dispatched; I/O components are asked to close
gracefully, with a deadline; ``async`` handlers get a short grace period and are then
cancelled; the queue is drained; ``run`` returns with no task left behind.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import trio

from . import _completion
from ._dispatch import collect, walk
from ._report import format_error
from .events import Event, exception, started, stopped
from .flow import MAX_QUEUED, Intake, IOStatus
from .manager import _current_value, _has_io
from .values import Value, release_if_unshared

if TYPE_CHECKING:
    from .handlers import Handler
    from .manager import Manager

log = logging.getLogger("trio_circuits")

# Events dispatched before the dispatcher yields to other tasks.  Small enough that
# sockets and timers stay responsive under a flood of events, large enough that the
# checkpoint's cost is amortised.
_BATCH = 512


class _Group:
    """A nursery kept open by a holder task until :meth:`close` (internal)."""

    def __init__(self) -> None:
        self.nursery: trio.Nursery | None = None
        self._close = trio.Event()
        self.done = trio.Event()

    async def hold(self, *, task_status: trio.TaskStatus[None]) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                task_status.started()
                await self._close.wait()
        finally:
            self.nursery = None
            self.done.set()

    def close(self, grace: float) -> None:
        """Let the children finish, cancelling those still running after ``grace``."""
        if self.nursery is not None:
            self.nursery.cancel_scope.deadline = min(
                self.nursery.cancel_scope.deadline, trio.current_time() + grace
            )
        self._close.set()

    def spawn(self, fn: Any, *args: Any) -> bool:
        nursery = self.nursery
        if nursery is None:
            return False
        try:
            nursery.start_soon(fn, *args)
        except RuntimeError:  # closed to new arrivals: shutting down
            return False
        return True


class _Waiter:
    __slots__ = ("channels", "instance", "ready", "value")

    def __init__(self, instance: Event | None, channels: tuple[Hashable, ...]) -> None:
        self.instance = instance
        self.channels = channels
        self.value: Value | None = None
        self.ready = trio.Event()

    def matches(self, event: Event, channels: tuple[Hashable, ...]) -> bool:
        if self.instance is not None:
            return self.instance is event
        if "*" in channels:
            return True
        return any(c == "*" or c in channels for c in self.channels)


class Runtime:
    """The state of a running application (internal; one per :meth:`Manager.run`)."""

    def __init__(self, root: Manager) -> None:
        self.root = root
        self.token = trio.lowlevel.current_trio_token()
        self.thread_id = threading.get_ident()
        self.parked: trio.lowlevel.Task | None = None
        self.waiters: dict[str, list[_Waiter]] = {}
        self.handlers = _Group()
        self.io = _Group()
        self.stopping = False
        self.closing = False
        self.exit_code: int | str | None = None
        self.stop_requested = trio.Event()
        self.stopped_value: Value | None = None
        self._initial_pending = 0
        self._initial_ready = trio.Event()
        self._ready_values: list[Value] = []
        self._dispatcher_done = trio.Event()
        self.start_error: BaseException | None = None
        self.intake = Intake(getattr(root, "max_queued", MAX_QUEUED), root._queue.__len__)
        self.close_timeout: float = getattr(root, "close_timeout", 5.0)
        self.handler_grace: float = getattr(root, "handler_grace", 1.0)

    # -- the application's life -----------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[Any]) -> None:
        root = self.root
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self.handlers.hold)
                await nursery.start(self.io.hold)
                with root._lock:
                    root.__dict__["_runtime"] = self
                nursery.start_soon(self._dispatcher)
                started_value = root.fire(started(root))
                self._initial_pending = 1
                self.start_subtree(root, initial=True)
                self._component_ready(None)
                await self._initial_ready.wait()
                # Dispatched, not finished: an async ``started`` handler may run for
                # the application's whole life.
                await started_value._wait_dispatched()
                for value in self._ready_values:
                    await value._wait_dispatched()
                self._ready_values.clear()
                if self.start_error is None:
                    task_status.started(root)
                else:
                    self.request_stop()
                await self.stop_requested.wait()
                await self._shutdown()
        finally:
            with root._lock:
                root.__dict__["_runtime"] = None
            root.__dict__["_exit_code"] = self.exit_code
        if self.start_error is not None:
            # Raised here, outside the nursery, so that ``nursery.start(root.run)``
            # raises the component's own exception rather than a group of one.
            raise self.start_error

    def request_stop(self, code: int | str | None = None) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.exit_code = code
        self.stopped_value = self.root.fire(stopped(self.root))
        self.stop_requested.set()

    async def _shutdown(self) -> None:
        assert self.stopped_value is not None
        with trio.move_on_after(self.close_timeout):
            await self.stopped_value._wait_done()
        # I/O first, while handlers still run: closing connections fires events.
        self.stop_subtree(self.root)
        self.io.close(self.close_timeout)
        await self.io.done.wait()
        self.handlers.close(self.handler_grace)
        await self.handlers.done.wait()
        self.closing = True
        if self.parked is not None:
            self.wake()
        await self._dispatcher_done.wait()

    def call_in_loop(self, fn: Any, *args: Any) -> None:
        """Call ``fn(*args)`` now if in the application's thread, else soon in it."""
        if threading.get_ident() == self.thread_id:
            fn(*args)
        else:
            try:
                self.token.run_sync_soon(fn, *args)
            except trio.RunFinishedError:
                pass

    # -- I/O components ---------------------------------------------------------------

    def start_subtree(self, top: Manager, initial: bool = False) -> None:
        """Start the I/O of every component under ``top`` that is not running yet."""
        if self.stopping:
            return
        for node in walk(top):
            if node._io_scope is None and _has_io(node):
                status = IOStatus(initial, self.intake, self._on_started(initial))
                if initial:
                    self._initial_pending += 1
                # Set now, so a component registered twice is not started twice.
                node.__dict__["_io_scope"] = trio.CancelScope()
                if not self.io.spawn(self._run_component, node, status):
                    node.__dict__["_io_scope"] = None
                    if initial:
                        self._component_ready(None)

    def stop_subtree(self, top: Manager) -> None:
        """Ask every running I/O component under ``top`` to close, within the timeout."""
        deadline = trio.current_time() + self.close_timeout
        for node in walk(top):
            scope = node._io_scope
            if scope is not None:
                if top is not self.root:
                    # Its closing events (disconnect, closed) still belong here.
                    node.__dict__["_io_home"] = self.root
                scope.deadline = min(scope.deadline, deadline)
                node.stop_io()

    def _on_started(self, initial: bool) -> Any:
        return self._component_ready if initial else _ignore

    async def _run_component(self, node: Manager, status: IOStatus) -> None:
        # I/O tasks belong to no event's cascade, whoever registered the component.
        _current_value.set(None)
        scope = node._io_scope
        assert scope is not None
        try:
            with scope:
                await node.run_io(task_status=status)
        except Exception as exc:
            if status.initial and not status.done:
                # It could not start: the application's start fails with this.
                if self.start_error is None:
                    self.start_error = exc
            else:
                self._report(exc, handler=node.run_io, fevent=None)
        finally:
            if node._io_scope is scope:
                node.__dict__["_io_scope"] = None
            node.__dict__.pop("_io_home", None)
            if not status.done:
                status.started()

    def _component_ready(self, value: Any) -> None:
        if isinstance(value, Value):
            self._ready_values.append(value)
        self._initial_pending -= 1
        if self._initial_pending == 0:
            self._initial_ready.set()

    # -- waiting ----------------------------------------------------------------------

    async def wait_for(self, target: str | Event, channels: tuple[Hashable, ...]) -> Value:
        if isinstance(target, Event):
            name, waiter = target.name, _Waiter(target, channels)
        else:
            name, waiter = target, _Waiter(None, channels)
        waiting = self.waiters.setdefault(name, [])
        waiting.append(waiter)
        try:
            await waiter.ready.wait()
        finally:
            if waiter.value is None:
                waiting.remove(waiter)
                if not waiting:
                    del self.waiters[name]
        assert waiter.value is not None
        return waiter.value

    def _match_waiters(self, event: Event, value: Value) -> None:
        waiting = self.waiters.get(event.name)
        if not waiting:
            return
        for waiter in list(waiting):
            if waiter.matches(event, value._channels):
                waiter.value = value
                waiter.ready.set()
                waiting.remove(waiter)
        if not waiting:
            del self.waiters[event.name]

    # -- the dispatcher ----------------------------------------------------------------

    def wake(self) -> None:
        task = self.parked
        self.parked = None
        if task is not None:
            trio.lowlevel.reschedule(task)

    async def _park(self) -> None:
        self.parked = trio.lowlevel.current_task()

        def abort(_: Any) -> trio.lowlevel.Abort:
            self.parked = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    async def _dispatcher(self) -> None:
        queue = self.root._queue
        dispatch = self._dispatch
        checkpoint = trio.lowlevel.checkpoint
        intake = self.intake
        try:
            while True:
                if not queue:
                    if self.closing:
                        return
                    await self._park()
                    continue
                budget = _BATCH
                while queue and budget:
                    dispatch(queue.popleft())
                    budget -= 1
                if intake.waiting:
                    intake.poll()
                await checkpoint()
        finally:
            self._dispatcher_done.set()

    def _handlers_for(self, value: Value) -> tuple[Handler, ...]:
        event = value.event
        assert event is not None
        root = self.root
        key = (event.name, value._channels)
        try:
            handlers = root._cache[key]
        except KeyError:
            handlers = root._cache[key] = collect(root, event.name, value._channels)
        except TypeError:  # an unhashable channel
            handlers = collect(root, event.name, value._channels)
        extra = value._extra
        if extra is not None and extra._root is not root:
            more = collect(extra, event.name, value._channels)
            handlers = tuple(sorted(handlers + more, key=lambda h: -h.priority))
        return handlers

    def _dispatch(self, value: Value) -> None:
        event = value.event
        assert event is not None
        if event.cancelled:
            value._set_dispatched()
            self._settle(value)
            return
        if self.waiters:
            self._match_waiters(event, value)
        try:
            handlers = self.root._cache[(event.name, value._channels)]
        except (KeyError, TypeError):
            handlers = self._handlers_for(value)
        else:
            if value._extra is not None:
                handlers = self._handlers_for(value)
        if not handlers:
            value.unhandled = True
            if isinstance(event, exception):
                self._fallback(event)
        event.stopped = False
        value._pending = 1
        kwargs = event.kwargs
        token = _current_value.set(value) if value._effects else None
        try:
            for h in handlers:
                if event.stopped:
                    break
                event.handler = h.fn
                if h.is_async:
                    value._pending += 1
                    if not self.handlers.spawn(self._run_async, h, value, event._args, kwargs):
                        value._pending -= 1
                    continue
                try:
                    # Read per handler: an earlier one may have changed ``event.args``.
                    if h.takes_event:
                        result = h.fn(event, *event._args, **kwargs)
                    else:
                        result = h.fn(*event._args, **kwargs)
                except Exception as exc:
                    self._failed(h, value, exc)
                except (SystemExit, KeyboardInterrupt) as exc:
                    self.request_stop(exc.code if isinstance(exc, SystemExit) else None)
                else:
                    if result is not None:
                        value._store(result)
        finally:
            if token is not None:
                _current_value.reset(token)
        value._dispatched = True
        if value._dispatched_event is not None:
            value._dispatched_event.set()
        observer = value._observer
        if observer is not None:
            observer.dispatched(value)
        pending = value._pending - 1
        value._pending = pending
        if pending == 0:
            if (
                event.success
                or value._effects
                or value._done_event is not None
                or value._done_callbacks
            ):
                self._settle(value)
            else:
                # Fast path: nobody waits and no follow-up is due.
                value._done = True
            release_if_unshared(event, value)

    async def _run_async(
        self, h: Handler, value: Value, args: Sequence[Any], kwargs: dict[str, Any]
    ) -> None:
        try:
            if h.takes_event:
                result = await h.fn(value.event, *args, **kwargs)
            else:
                result = await h.fn(*args, **kwargs)
        except Exception as exc:
            self._failed(h, value, exc)
        except SystemExit as exc:
            self.request_stop(exc.code)
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
            self._release(value)
        if value._done:
            # This frame's ``value`` is the one extra local up the stack.
            _release_settled(value)

    def _release(self, value: Value) -> None:
        """One handler (an ``async`` one) of ``value``'s event has finished."""
        value._pending -= 1
        if value._pending == 0:
            self._settle(value)

    def _settle(self, value: Value) -> None:
        value._set_done()
        event = value.event
        assert event is not None
        root = self.root
        if event.success and not value.errors and not event.cancelled:
            follow = event.child("success", event, value.value)
            root._fire_into(follow, event.success_channels or value._channels)
        if value._effects:
            for done in _completion.finish(value):
                e = done.event
                assert e is not None
                if e.complete and not e.cancelled:
                    follow = e.child("complete", e, done.value)
                    root._fire_into(follow, e.complete_channels or done._channels)
                done._set_completed()

    # -- errors -----------------------------------------------------------------------

    def _failed(self, h: Handler, value: Value, exc: Exception) -> None:
        value._store_error(exc)
        event = value.event
        assert event is not None
        if event.failure:
            follow = event.child("failure", event, (type(exc), exc, exc.__traceback__))
            self.root._fire_into(follow, event.failure_channels or value._channels)
        if isinstance(event, exception):
            # An error in an exception handler is reported, never re-fired: no loops.
            self._write(format_error(h.fn, event, type(exc), exc, exc.__traceback__))
        else:
            self._report(exc, handler=h.fn, fevent=event)

    def _report(self, exc: BaseException, handler: Any, fevent: Event | None) -> None:
        root = self.root
        report = exception(type(exc), exc, exc.__traceback__, handler=handler, fevent=fevent)
        root._fire_into(report, (root.channel,))

    def _fallback(self, event: exception) -> None:
        etype, evalue, lines = event.args[:3]
        self._write(
            format_error(
                event.kwargs.get("handler"), event.kwargs.get("fevent"), etype, evalue, lines
            )
        )

    @staticmethod
    def _write(text: str) -> None:
        if log.hasHandlers():
            log.error("%s", text.rstrip("\n"))
        else:
            sys.stderr.write(text)


def _ignore(_value: Any) -> None:
    pass


def _release_settled(value: Value) -> None:
    event = value.event
    if event is not None:
        release_if_unshared(event, value, caller_refs=1)
