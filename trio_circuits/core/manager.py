"""``Manager``: a node of the component tree, and the face of the application.

Every component is a Manager.  It keeps its place in the tree in one
:class:`~._tree.Node`; a tree shares one queue and handler cache (its
:class:`~._tree.Tree`, the root's).  ``fire`` puts into that queue and never blocks.
The dispatcher that drains it, and the tasks of I/O components, run only while the
root's :meth:`Manager.run` does (see :mod:`trio_circuits.core._runtime`); nothing
starts in ``__init__``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager, nullcontext
from types import MethodType
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from . import _completion
from ._compat import CircuitsNames
from ._completion import current_cause
from ._runtime import Runtime
from ._thread import BackgroundMode
from ._tree import Node, Tree, attach, detach
from .events import Event, prepare_unregister, registered, unregistered
from .flow import MAX_QUEUED, Intake, IOStatus
from .handlers import class_handlers, event_names, handler, hybridmethod, is_handler
from .values import Value

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._queue import EventQueue

__all__ = ["TIMEOUT", "Manager", "TimeoutError", "sleep"]

T = TypeVar("T")

#: circuits' name for what an expired ``call``/``wait`` timeout raises.
TimeoutError = trio.TooSlowError


def _limit(timeout: float | None) -> AbstractContextManager[object]:
    """``fail_after(timeout)``; no limit for ``None`` or a negative ``timeout`` (circuits)."""
    if timeout is None or timeout < 0:
        return nullcontext()
    return trio.fail_after(timeout)


async def sleep(seconds: float) -> None:
    """circuits' ``sleep`` for handlers: ``await sleep(s)`` (``trio.sleep``)."""
    await trio.sleep(seconds)


#: circuits' polling interval in seconds, kept for its tests' ``conftest.py`` (the
#: dispatcher itself never polls).
TIMEOUT = 0.1


class Manager(CircuitsNames, BackgroundMode):
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

    _node: Node

    def __init__(self, *args: Any, max_queued: int | None = None, **kwargs: Any) -> None:
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}() got unexpected arguments {args!r} {kwargs!r}"
            )
        self._init_manager(max_queued)

    def _init_manager(self, max_queued: int | None = None) -> None:
        d = self.__dict__
        d["_node"] = Node.alone(self)
        if max_queued is not None:
            Intake(max_queued, int)  # checks the value now
            d["max_queued"] = max_queued

    # -- the tree --------------------------------------------------------------------

    @property
    def root(self) -> Manager:
        """The root of the tree this component is in (itself when unregistered)."""
        return self._node.root

    @property
    def parent(self) -> Manager:
        """The parent component (itself when unregistered)."""
        return self._node.parent

    @property
    def components(self) -> list[Manager]:
        """The direct children, in registration order."""
        return self._node.components

    @property
    def name(self) -> str:
        """The class name."""
        return type(self).__name__

    @property
    def running(self) -> bool:
        """True while the tree's application is running."""
        return self._node.tree.runtime is not None

    def register(self, parent: Manager) -> Self:
        """Insert this component in ``parent``'s tree; return this component.

        Fires ``registered(self, parent)``.  If the tree's application is running, the
        I/O of this component's subtree (servers, clients, timers) starts now.
        """
        if parent is self:
            raise ValueError("a component cannot be registered to itself")
        node = self._node
        if node.parent is not self:
            if node.parent is parent:
                return self
            self._detach()
        attach(self, parent)
        self.fire(registered(self, parent))
        runtime = node.tree.runtime
        if runtime is not None:
            node.tree.queue.call_in_loop(runtime.start_subtree, self)
        return self

    def unregister(self) -> Self:
        """Remove this component (and its subtree) from the tree.

        Fires ``prepare_unregister(self)``; once it and everything it caused are done,
        the subtree is detached, its I/O stops (tasks cancelled, sockets closed) and
        ``unregistered(self, former_parent)`` is fired, received by the former tree and
        by the component itself.  From another thread, this happens in the
        application's thread.
        """
        node = self._node
        queue = node.tree.queue
        if queue.running and not queue.in_loop_thread():
            queue.call_in_loop(self.unregister)
            return self
        if node.unregister_pending or node.parent is self:
            return self
        node.unregister_pending = True
        event = prepare_unregister(self)
        event.complete_channels = (self,)
        value = self.fire(event)
        if not node.finishes_unregister:
            value.on_complete(self._finish_unregister)
        return self

    def _finish_unregister(self, _value: Value) -> None:
        node = self._node
        parent = node.parent
        if parent is self:
            return
        old_tree = self._detach()
        node.unregister_pending = False
        event = unregistered(self, parent)
        event.channels = (self.channel,)
        # Delivered by the former tree, to it and to the detached subtree.
        self._emit_into(old_tree.queue, event, parent.root, extra=self)

    def _detach(self) -> Tree:
        """Cut this subtree loose now (no events), stopping its I/O; return the old tree."""
        old_tree = detach(self)
        runtime = old_tree.runtime
        if runtime is not None:
            old_tree.queue.call_in_loop(runtime.stop_subtree, self, self._node.tree)
        return old_tree

    def __add__(self, other: Manager) -> Self:
        other.register(self)
        return self

    __iadd__ = __add__

    def __sub__(self, other: Manager) -> Self:
        if other._node.parent is not other:
            other.unregister()
        return self

    __isub__ = __sub__

    def __len__(self) -> int:
        return len(self._node.tree.queue)

    def __bool__(self) -> bool:
        return True

    def __contains__(self, item: object) -> bool:
        if isinstance(item, type):
            return any(isinstance(c, item) for c in self._node.components)
        return any(c is item for c in self._node.components)

    def __repr__(self) -> str:
        channel = "" if type(self) is Manager else str(self.channel)
        state = "R" if self.running else "S"
        thread = threading.current_thread().name
        return (
            f"<{type(self).__name__}/{channel} {os.getpid()}:{thread} "
            f"(queued={len(self)}) [{state}]>"
        )

    # -- handlers --------------------------------------------------------------------

    def _bind_handler(self, fn: Callable[..., Any]) -> None:
        self._node.add_handler(fn)

    def addHandler(self, f: Callable[..., Any]) -> Callable[..., Any]:
        """Add ``f`` (a function marked with ``@handler``) as a handler of this component.

        ``f`` is bound as a method of this component and set as its attribute of the
        same name; the bound method is returned, for :meth:`removeHandler`.  An
        unmarked function handles events named after it.
        """
        if not is_handler(f):
            f = handler(f.__name__)(f)
        method = f if isinstance(f, MethodType) else MethodType(f, self)
        self.__dict__[f.__name__] = method
        self._node.add_handler(method)
        return method

    def removeHandler(self, method: Callable[..., Any], name: str | None = None) -> None:
        """Remove a handler added with :meth:`addHandler` (from event ``name`` only, if given)."""
        func = getattr(method, "__func__", method)
        if self._node.remove_handler(func, name):
            attr = getattr(func, "__name__", None)
            if attr is not None and self.__dict__.get(attr) is not None:
                del self.__dict__[attr]

    @hybridmethod
    def handlers(self: Any) -> list[Any]:
        """The handler functions of this component (or class)."""
        return _handler_functions(self)

    @hybridmethod
    def events(self: Any) -> list[str]:
        """The names of the events this component (or class) handles."""
        return event_names(_handler_functions(self))

    @hybridmethod
    def handles(self: Any, *names: str) -> bool:
        """True if this component (or class) handles every one of ``names``."""
        known = event_names(_handler_functions(self))
        return all(n in known for n in names)

    # -- firing ----------------------------------------------------------------------

    def fire(self, event: Event, *channels: Hashable, priority: int = 0) -> Value:
        """Queue ``event`` for dispatch on ``channels``; return its :class:`Value`.

        Channels default to ``event.channels``, else this component's channel.  Never
        blocks.  Safe from any thread: the event's channels and value are set before
        this returns, and it is dispatched in the order fired.  ``priority``
        (circuits'): among the events waiting, lower values are dispatched first.
        """
        if not channels:
            channels = event.channels or (self.channel,)
        event.channels = channels
        value = Value(event, self, channels)
        event.value = value
        if priority:
            value.priority = priority
        cause = current_cause.get()
        if cause is not None or event.complete:
            _completion.track(value, cause, event.complete)
        self._node.tree.queue.put(value)
        return value

    def fire_threadsafe(self, event: Event, *channels: Hashable, priority: int = 0) -> Value:
        """Fire from any thread (the same as :meth:`fire`, which detects the thread)."""
        return self.fire(event, *channels, priority=priority)

    def _emit_into(
        self, queue: EventQueue, event: Event, manager: Manager, extra: Manager | None = None
    ) -> Value:
        """Queue a framework event (untracked), fired from ``manager``."""
        event.channels = event.channels or (self.channel,)
        value = Value(event, manager, event.channels)
        event.value = value
        value._extra = extra
        queue.put(value)
        return value

    def _notify_value(self, value: Value, notify: bool | str) -> None:
        """Fire ``<name>_value_changed(value)`` (``event.notify``; called by the Value)."""
        event = value.event
        assert event is not None
        name = notify if isinstance(notify, str) else f"{event.name}_value_changed"
        changed = Event.create(name, value)
        changed.channels = (self,)
        self._emit_into(self._node.tree.queue, changed, self)

    # -- calling and waiting ---------------------------------------------------------

    async def call(
        self,
        event: Event,
        *channels: Hashable,
        timeout: float | None = None,  # noqa: ASYNC109 (circuits' signature, SPEC §2)
    ) -> Value:
        """Fire ``event`` and wait until every handler (``async`` ones too) has finished.

        Returns the settled :class:`Value`.  Raises the exception of a handler that
        raised, and :exc:`trio.TooSlowError` if ``timeout`` seconds pass first (a
        negative ``timeout``, circuits' default ``-1``, means none).

        Cancellation: cancelling the call does not cancel the event's handlers.
        """
        value = self.fire(event, *channels)
        with _limit(timeout):
            await value.wait()
        return value

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
        with _limit(timeout):
            if isinstance(event, Event) and event.value is not None:
                await event.value._wait_done()
                return event.value
            tree = self._node.tree
            if tree.runtime is None or not tree.queue.in_loop_thread():
                raise RuntimeError("wait() needs the application to be running, in its thread")
            value = await tree.runtime.wait_for(event, channels or (self.channel,))
            await value._wait_done()
            return value

    # -- running ---------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[Self] = trio.TASK_STATUS_IGNORED) -> None:
        """Run this tree until :meth:`stop` is called or the task is cancelled.

        With ``await nursery.start(root.run)`` this returns once ``started`` has been
        dispatched and every I/O component registered before the start has become
        ready (servers bound, ``ready`` fired).  If one of them cannot start, the start
        fails with its exception.

        Cancellation: cancelling ``run`` cancels every handler task and closes every
        socket at once; :meth:`stop` closes gracefully first.  When ``run`` returns
        (or raises), no task it started is alive.
        """
        await self._run(task_status)

    async def _run(self, task_status: trio.TaskStatus[Any]) -> Runtime:
        node = self._node
        if node.parent is not self:
            raise RuntimeError("only the root of a tree can run")
        if node.tree.runtime is not None:
            raise RuntimeError(f"{self!r} is already running")
        runtime = Runtime(self, node.tree)
        await runtime.run(task_status)
        return runtime

    def stop(self, code: int | str | None = None) -> None:
        """Stop the application (from any thread; returns at once).

        Fires ``stopped(root)``; once it is handled, servers and clients flush and
        close (bounded by a grace period), outstanding ``async`` handlers get a short
        grace period and are then cancelled, and :meth:`run` returns.  ``code`` becomes
        the exit status under :func:`trio_circuits.run`.
        """
        tree = self._node.tree
        runtime = tree.runtime
        if runtime is not None:
            tree.queue.call_in_loop(runtime.request_stop, code)

    # -- I/O components (hooks for subclasses) ----------------------------------------

    @property
    def has_io(self) -> bool:
        """True if this component has I/O of its own (it overrides :meth:`run_io`)."""
        return type(self).run_io is not Manager.run_io

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
        """Ask :meth:`run_io` to finish gracefully (this default: cancel it at once)."""

    stop_io.cancels_io = True  # type: ignore[attr-defined]


def _handler_functions(target: Manager | type) -> list[Any]:
    if isinstance(target, type):
        return [fn for _name, fn in class_handlers(target)]
    return [h.fn for h in target._node.handlers]
