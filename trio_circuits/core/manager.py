"""``Manager``: a node of the component tree, and the face of the dispatcher.

Every component is a Manager.  A tree shares one event queue, owned by its root;
``fire`` appends to it and never blocks.  The dispatcher that drains the queue, and
the tasks of I/O components, run only while the root's :meth:`Manager.run` does
(see :mod:`trio_circuits.core._runtime`); nothing starts in ``__init__``.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from types import MethodType
from typing import TYPE_CHECKING, Any

import trio

from . import _completion
from ._dispatch import walk
from .events import Event, prepare_unregister, registered, unregistered
from .flow import MAX_QUEUED, Intake, IOStatus
from .handlers import Handler, is_handler
from .values import Value

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._runtime import Runtime

__all__ = ["Manager"]

_get_ident = threading.get_ident

# The Value of the tracked event whose handlers are running (see _completion.py).
_current_value: ContextVar[Value | None] = ContextVar("trio_circuits_current_value", default=None)


class _HybridMethod:
    """A method that works on the class and on instances (``handles`` and friends)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Any, cls: type) -> Callable[..., Any]:
        return MethodType(self.fn, obj if obj is not None else cls)


class Manager:
    """A node of the component tree that can fire, call and wait for events.

    ``Manager()`` is a bare root: it has no handlers of its own until
    :meth:`addHandler` gives it some.  :class:`~trio_circuits.BaseComponent` and
    :class:`~trio_circuits.Component` build on it.

    The attributes below are read from the root when the application starts.

    Args:
        max_queued: see :attr:`max_queued` (a keyword, for the root).

    Attributes:
        max_queued: while more events than this are queued, servers and clients
            read nothing more (default 10,000); see :mod:`trio_circuits.core.flow`.
        close_timeout: seconds that stopping gives I/O components to flush and close.
        handler_grace: seconds that stopping gives running ``async`` handlers before
            they are cancelled.
    """

    channel: Hashable = "*"
    max_queued: int = MAX_QUEUED
    close_timeout: float = 5.0
    handler_grace: float = 1.0

    _root: Manager
    _parent: Manager
    _components: list[Manager]
    _handlers: list[Handler]
    _queue: deque[Value]
    _cache: dict[tuple[str, tuple[Hashable, ...]], tuple[Handler, ...]]
    _runtime: Runtime | None
    _lock: threading.Lock
    _unregister_pending: bool
    _io_scope: trio.CancelScope | None

    def __init__(self, *args: Any, max_queued: int | None = None, **kwargs: Any) -> None:
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}() got unexpected arguments {args!r} {kwargs!r}"
            )
        self._init_manager(max_queued)

    def _init_manager(self, max_queued: int | None = None) -> None:
        d = self.__dict__
        if max_queued is not None:
            Intake(max_queued, int)  # checks the value now
            d["max_queued"] = max_queued
        d["_root"] = self
        d["_parent"] = self
        d["_components"] = []
        d["_handlers"] = []
        d["_queue"] = deque()
        d["_cache"] = {}
        d["_runtime"] = None
        d["_lock"] = threading.Lock()
        d["_unregister_pending"] = False
        d["_io_scope"] = None

    # -- the tree --------------------------------------------------------------------

    @property
    def root(self) -> Manager:
        """The root of the tree this component is in (itself when unregistered)."""
        return self._root

    @property
    def parent(self) -> Manager:
        """The parent component (itself when unregistered)."""
        return self._parent

    @property
    def components(self) -> list[Manager]:
        """The direct children, in registration order."""
        return self._components

    @property
    def name(self) -> str:
        """The class name."""
        return type(self).__name__

    @property
    def running(self) -> bool:
        """True while the tree's application is running."""
        return self._root._runtime is not None

    def register(self, parent: Manager) -> Self:
        """Insert this component in ``parent``'s tree; return this component.

        Fires ``registered(self, parent)``.  If the tree's application is running, the
        I/O of this component's subtree (servers, clients, timers) starts now.
        """
        if parent is self:
            raise ValueError("a component cannot be registered to itself")
        if self._parent is not self:
            if self._parent is parent:
                return self
            self._detach()
        node: Manager | None = parent
        while node is not None:
            if node is self:
                raise ValueError("registering a component under its own subtree")
            node = node._parent if node._parent is not node else None
        self.__dict__["_parent"] = parent
        parent._components.append(self)
        new_root = parent._root
        for node in walk(self):
            node.__dict__["_root"] = new_root
            node._cache.clear()
        new_root._cache.clear()
        # Events fired on the subtree before it joined go to the new root's queue.
        for node in walk(self):
            if node._queue and node is not new_root:
                pending = list(node._queue)
                node._queue.clear()
                for v in pending:
                    new_root._enqueue(v)
        self.fire(registered(self, parent))
        runtime = new_root._runtime
        if runtime is not None:
            runtime.call_in_loop(runtime.start_subtree, self)
        return self

    def unregister(self) -> Self:
        """Remove this component (and its subtree) from the tree.

        Fires ``prepare_unregister(self)``; once it and everything it caused are done,
        the subtree is detached, its I/O stops (tasks cancelled, sockets closed) and
        ``unregistered(self, former_parent)`` is fired, received by the former tree and
        by the component itself.
        """
        runtime = self._root._runtime
        if runtime is not None and runtime.thread_id != _get_ident():
            # From another thread: the whole step runs in the application's thread,
            # so the completion hook is in place before the event can be handled.
            runtime.call_in_loop(self.unregister)
            return self
        if self._unregister_pending or self._parent is self:
            return self
        self.__dict__["_unregister_pending"] = True
        event = prepare_unregister(self)
        event.complete_channels = (self,)
        self.fire(event).on_complete(self._finish_unregister)
        return self

    def _finish_unregister(self, _value: Value) -> None:
        parent = self._parent
        if parent is self:
            return
        old_root = self._root
        self._detach()
        self.__dict__["_unregister_pending"] = False
        event = unregistered(self, parent)
        event.channels = (self.channel,)
        old_root._fire_into(event, (self.channel,), extra=self)

    def _detach(self) -> None:
        """Cut this subtree loose now (no events), stopping its I/O."""
        parent = self._parent
        old_root = self._root
        parent._components.remove(self)
        self.__dict__["_parent"] = self
        for node in walk(self):
            node.__dict__["_root"] = self
            node._cache.clear()
        old_root._cache.clear()
        runtime = old_root._runtime
        if runtime is not None:
            runtime.call_in_loop(runtime.stop_subtree, self)

    def __add__(self, other: Manager) -> Self:
        other.register(self)
        return self

    __iadd__ = __add__

    def __sub__(self, other: Manager) -> Self:
        if other._parent is not other:
            other.unregister()
        return self

    __isub__ = __sub__

    def __len__(self) -> int:
        return len(self._root._queue)

    def __bool__(self) -> bool:
        return True

    def __contains__(self, item: object) -> bool:
        if isinstance(item, type):
            return any(isinstance(c, item) for c in self._components)
        return any(c is item for c in self._components)

    def __repr__(self) -> str:
        channel = "" if type(self) is Manager else str(self.channel)
        state = "R" if self.running else "S"
        thread = threading.current_thread().name
        return (
            f"<{type(self).__name__}/{channel} {os.getpid()}:{thread} "
            f"(queued={len(self)}) [{state}]>"
        )

    # -- handlers --------------------------------------------------------------------

    def _add_handler(self, fn: Callable[..., Any], name: str) -> Handler:
        h = Handler(fn, self, name)
        self._handlers.append(h)
        self._cache.clear()
        self._root._cache.clear()
        return h

    def addHandler(self, f: Callable[..., Any]) -> Callable[..., Any]:
        """Add ``f`` (a function marked with ``@handler``) as a handler of this component.

        ``f`` is bound as a method of this component and set as its attribute of the
        same name; the bound method is returned, for :meth:`removeHandler`.  An
        unmarked function handles events named after it.
        """
        if not is_handler(f):
            from .handlers import handler as _handler

            f = _handler(f.__name__)(f)
        method = f if isinstance(f, MethodType) else MethodType(f, self)
        self.__dict__[f.__name__] = method
        self._add_handler(method, f.__name__)
        return method

    def removeHandler(self, method: Callable[..., Any], name: str | None = None) -> None:
        """Remove a handler added with :meth:`addHandler` (from event ``name`` only, if given)."""
        func = getattr(method, "__func__", method)
        kept: list[Handler] = []
        for h in self._handlers:
            same = getattr(h.fn, "__func__", h.fn) is func
            if same and (name is None or not h.names or name in h.names):
                if name is not None and len(h.names) > 1:
                    h.names = tuple(n for n in h.names if n != name)
                    kept.append(h)
                continue
            kept.append(h)
        self._handlers[:] = kept
        if not any(getattr(h.fn, "__func__", h.fn) is func for h in kept):
            attr = getattr(func, "__name__", None)
            if attr is not None and self.__dict__.get(attr) is not None:
                del self.__dict__[attr]
        self._cache.clear()
        self._root._cache.clear()

    def _handler_list(self: Any) -> list[Any]:
        if isinstance(self, type):
            return [fn for _name, fn in _class_handlers(self)]
        return [h.fn for h in self._handlers]

    def _event_names(self: Any) -> list[str]:
        names: list[str] = []
        for fn in Manager._handler_list(self):
            for n in getattr(fn, "names", ()):
                if not n.startswith("_") and n not in names:
                    names.append(n)
        return names

    def _handles(self: Any, *names: str) -> bool:
        known = Manager._event_names(self)
        return all(n in known for n in names)

    handlers = _HybridMethod(_handler_list)
    events = _HybridMethod(_event_names)
    handles = _HybridMethod(_handles)
    handlers.__doc__ = "The handler functions of this component (or class)."
    events.__doc__ = "The names of the events this component (or class) handles."
    handles.__doc__ = "True if this component (or class) handles every one of ``names``."

    # -- firing ----------------------------------------------------------------------

    def fire(self, event: Event, *channels: Hashable) -> Value:
        """Queue ``event`` for dispatch on ``channels``; return its :class:`Value`.

        Channels default to ``event.channels``, else this component's channel.  Never
        blocks.  Safe from any thread: the event's channels and value are set before
        this returns, and it is dispatched in the order fired.
        """
        if not channels:
            channels = event.channels or (self.channel,)
        event.channels = channels
        value = Value(event, self, channels)
        event.value = value
        cause = _current_value.get()
        if cause is not None or event.complete:
            _completion.track(value, cause, event.complete)
        # The common case inline: fired from the application's own thread.
        root = self._root
        runtime = root._runtime
        if runtime is not None and runtime.thread_id == _get_ident():
            root._queue.append(value)
            if runtime.parked is not None:
                runtime.wake()
        elif runtime is None and "_io_home" in self.__dict__:
            # Unregistered, still closing its sockets: report to the former tree.
            self.__dict__["_io_home"]._enqueue(value)
        else:
            root._enqueue(value)
        return value

    fireEvent = fire

    def fire_threadsafe(self, event: Event, *channels: Hashable) -> Value:
        """Fire from any thread (the same as :meth:`fire`, which detects the thread)."""
        return self.fire(event, *channels)

    def _fire_into(
        self, event: Event, channels: tuple[Hashable, ...], extra: Manager | None = None
    ) -> Value:
        """Fire a framework follow-up event: untracked, optionally to an extra subtree."""
        event.channels = channels
        value = Value(event, self, channels)
        event.value = value
        if extra is not None:
            value._extra = extra
        self._root._enqueue(value)
        return value

    def _notify_value(self, value: Value, notify: bool | str) -> None:
        event = value.event
        assert event is not None
        name = notify if isinstance(notify, str) else f"{event.name}_value_changed"
        self._fire_into(Event.create(name, value), (self,))

    def _enqueue(self, value: Value) -> None:
        runtime = self._runtime
        if runtime is not None and runtime.thread_id == _get_ident():
            self._queue.append(value)
            if runtime.parked is not None:
                runtime.wake()
            return
        with self._lock:
            runtime = self._runtime
            if runtime is None:
                self._queue.append(value)
                return
            try:
                runtime.token.run_sync_soon(self._enqueue, value)
            except trio.RunFinishedError:
                self._queue.append(value)

    # -- calling and waiting ---------------------------------------------------------

    async def call(
        self,
        event: Event,
        *channels: Hashable,
        timeout: float | None = None,  # noqa: ASYNC109 (circuits' signature, SPEC §2)
    ) -> Value:
        """Fire ``event`` and wait until every handler (``async`` ones too) has finished.

        Returns the settled :class:`Value`.  Raises the exception of a handler that
        raised, and :exc:`trio.TooSlowError` if ``timeout`` seconds pass first.

        Cancellation: cancelling the call does not cancel the event's handlers.
        """
        value = self.fire(event, *channels)
        if timeout is None:
            await value.wait()
        else:
            with trio.fail_after(timeout):
                await value.wait()
        return value

    callEvent = call

    async def wait(
        self,
        event: str | Event,
        *channels: Hashable,
        timeout: float | None = None,  # noqa: ASYNC109 (circuits' signature, SPEC §2)
    ) -> Value:
        """Wait until the next event named ``event`` (or that event instance) is handled.

        A name matches the next such event dispatched on ``channels`` (default: this
        component's channel; ``"*"`` matches any) that was fired after this call or was
        still queued when it was made.  An instance matches only itself; if it has
        already been handled this returns at once.  Returns its :class:`Value` without
        raising its handlers' errors.  ``timeout`` is in seconds; expiry raises
        :exc:`trio.TooSlowError`.
        """
        if timeout is None:
            return await self._wait(event, channels)
        with trio.fail_after(timeout):
            return await self._wait(event, channels)

    waitEvent = wait

    async def _wait(self, event: str | Event, channels: tuple[Hashable, ...]) -> Value:
        if isinstance(event, Event) and event.value is not None:
            await event.value._wait_done()
            return event.value
        runtime = self._root._runtime
        if runtime is None or runtime.thread_id != _get_ident():
            raise RuntimeError("wait() needs the application to be running, in its thread")
        if not channels:
            channels = (self.channel,)
        value = await runtime.wait_for(event, channels)
        await value._wait_done()
        return value

    # -- running ---------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[Self] = trio.TASK_STATUS_IGNORED) -> None:
        """Run this tree until :meth:`stop` is called or the task is cancelled.

        With ``await nursery.start(root.run)`` this returns once ``started`` has been
        dispatched and every I/O component registered before the start has become
        ready (servers bound, ``ready`` fired).

        Cancellation: cancelling ``run`` cancels every handler task and closes every
        socket at once; :meth:`stop` closes gracefully first.  When ``run`` returns
        (or raises), no task it started is alive.
        """
        from ._runtime import Runtime

        if self._parent is not self:
            raise RuntimeError("only the root of a tree can run")
        if self._runtime is not None:
            raise RuntimeError(f"{self!r} is already running")
        await Runtime(self).run(task_status)

    def stop(self, code: int | str | None = None) -> None:
        """Stop the application (from any thread; returns at once).

        Fires ``stopped(root)``; once it is handled, servers and clients flush and
        close (bounded by a grace period), outstanding ``async`` handlers get a short
        grace period and are then cancelled, and :meth:`run` returns.  ``code`` becomes
        the exit status under :func:`trio_circuits.run`.
        """
        root = self._root
        runtime = root._runtime
        if runtime is None:
            return
        if runtime.thread_id != _get_ident():
            try:
                runtime.token.run_sync_soon(root.stop, code)
            except trio.RunFinishedError:
                pass
            return
        runtime.request_stop(code)

    def start(self) -> Self:
        """Run the application in a new thread (circuits' background mode).

        Returns once it has started, as ``nursery.start`` would.  Then :meth:`fire`
        and :meth:`stop` work from the calling thread; :meth:`join` waits for the
        thread to end.
        """
        from ._thread import start_in_thread

        start_in_thread(self)
        return self

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread started by :meth:`start` to end."""
        thread = self.__dict__.get("_thread")
        if thread is not None:
            thread.join(timeout)

    # -- I/O components (hooks for subclasses) ----------------------------------------

    async def run_io(self, *, task_status: IOStatus) -> None:
        """Serve this component's I/O while the application runs (override to use).

        Called by the runtime in the component's own cancel scope when the application
        starts (or when the component is registered into a running one); call
        ``task_status.started(ready_value)`` once ready.  An exception raised before
        that, by a component that started with the application, makes the start fail
        (``nursery.start(root.run)`` raises it); later ones are reported as
        ``exception`` events.  Return after :meth:`stop_io` asks for a graceful
        close; cancellation means close now.  Events fired from this task belong to
        no event's cascade.
        """
        raise NotImplementedError

    def stop_io(self) -> None:
        """Ask :meth:`run_io` to finish gracefully (default: cancel it at once)."""
        scope = self._io_scope
        if scope is not None:
            scope.cancel()


def _has_io(component: Manager) -> bool:
    return type(component).run_io is not Manager.run_io


def _class_handlers(cls: type) -> list[tuple[str, Callable[..., Any]]]:
    """The handler functions of a class, each with the name it is registered under.

    A method that redefines a base class's handler runs alongside it unless it was
    marked ``override=True``.
    """
    cached = cls.__dict__.get("_tc_class_handlers")
    if cached is not None:
        return list(cached)
    found: list[tuple[str, Callable[..., Any]]] = []
    seen: set[str] = set()
    for klass in cls.__mro__:
        for attr in klass.__dict__:
            if attr in seen:
                continue
            seen.add(attr)
            first = True
            for owner in cls.__mro__:
                definition = owner.__dict__.get(attr)
                if definition is None or not is_handler(definition):
                    continue
                found.append((attr if first else f"{owner.__name__}_{attr}", definition))
                first = False
                if getattr(definition, "override", False):
                    break
    cls._tc_class_handlers = tuple(found)  # type: ignore[attr-defined]
    return found
