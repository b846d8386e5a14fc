"""The event queue of a tree: :meth:`EventQueue.put` is the one way in.

Events are put from handlers, from I/O tasks and from other threads.  While the
application runs, a put from its own thread appends and wakes the dispatcher if it
is parked; a put from another thread is handed to the application's thread with
``TrioToken.run_sync_soon`` (which keeps the order of puts from one thread).  Before
the application runs (and after it has stopped) a put just appends: the events are
dispatched, in order, once it runs.

circuits' ``fire(event, priority=n)`` ranks an event among those waiting: lower
values go first, equal ones keep their firing order (the default, 0, is plain
FIFO).  Ranked events are rare, so the queue only sorts while it holds some.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import trio

if TYPE_CHECKING:
    from .values import Value

__all__ = ["EventQueue"]

T = TypeVar("T")

_get_ident = threading.get_ident


class EventQueue:
    """A FIFO of fired events (their Values), drained by one dispatcher task."""

    __slots__ = (
        "_items",
        "_lock",
        "_parked",
        "_thread",
        "_token",
        "forward",
        "length",
        "pop_unranked",
        "ranked",
    )

    def __init__(self) -> None:
        self._items: deque[Value] = deque()
        #: ``len(queue)``, as a C-level callable (the intake asks for it per read).
        self.length = self._items.__len__
        #: :meth:`popleft` at C speed, for the dispatcher, valid while :attr:`ranked`
        #: is 0 (nothing queued has a priority).
        self.pop_unranked = self._items.popleft
        self._lock = threading.Lock()
        self._thread: int | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._parked: trio.lowlevel.Task | None = None
        #: How many queued events have a priority other than 0.
        self.ranked = 0
        #: Where puts go instead while set: a subtree that was detached while its
        #: sockets close reports its last events to its former tree.
        self.forward: EventQueue | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, value: Value) -> None:
        """Queue ``value`` for dispatch (any thread; never blocks)."""
        if self._thread == _get_ident():
            if self.ranked or value.priority:
                self._insert(value)
            else:
                self._items.append(value)
            if self._parked is not None:
                self.wake()
            return
        if self.forward is not None:
            self.forward.put(value)
            return
        with self._lock:
            token = self._token
            if token is None:
                self._insert(value)
                return
            try:
                token.run_sync_soon(self.put, value)
            except trio.RunFinishedError:
                self._insert(value)

    def _insert(self, value: Value) -> None:
        """Queue ``value`` behind every waiting event of its priority or lower."""
        items = self._items
        priority = value.priority
        if priority:
            self.ranked += 1
        index = len(items)
        while index and items[index - 1].priority > priority:
            index -= 1
        items.insert(index, value)

    def move_to(self, other: EventQueue) -> None:
        """Put everything queued here into ``other`` (a subtree joining a tree)."""
        pending = list(self._items)
        self._items.clear()
        self.ranked = 0
        for value in pending:
            other.put(value)

    # -- the dispatcher's side --------------------------------------------------------

    def open(self) -> None:
        """The application starts, in this thread: puts from here append directly."""
        with self._lock:
            self._thread = _get_ident()
            self._token = trio.lowlevel.current_trio_token()

    def close(self) -> None:
        """The application has stopped: puts append, for a later run."""
        with self._lock:
            self._thread = None
            self._token = None

    @property
    def running(self) -> bool:
        """True between :meth:`open` and :meth:`close`."""
        return self._token is not None

    def in_loop_thread(self) -> bool:
        """True if called in the running application's thread."""
        return self._thread == _get_ident()

    def call_in_loop(self, fn: Any, *args: Any) -> bool:
        """Call ``fn(*args)`` in the application's thread: now if this is it.

        Returns False (and calls nothing) if the application is not running.
        """
        if self._thread == _get_ident():
            fn(*args)
            return True
        token = self._token
        if token is None:
            return False
        try:
            token.run_sync_soon(fn, *args)
        except trio.RunFinishedError:
            return False
        return True

    def run_in_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """Call ``fn(*args)`` in the application's thread and return what it returns.

        From that thread, or while the application is not running, it is called
        directly; from another thread this blocks until it has run there.
        """
        token = self._token
        if token is None or self._thread == _get_ident():
            return fn(*args)
        return trio.from_thread.run_sync(fn, *args, trio_token=token)

    def popleft(self) -> Value:
        """The next Value to dispatch."""
        value = self._items.popleft()
        if self.ranked and value.priority:
            self.ranked -= 1
        return value

    def __bool__(self) -> bool:
        return bool(self._items)

    def wake(self) -> None:
        """Reschedule the parked dispatcher."""
        task, self._parked = self._parked, None
        if task is not None:
            trio.lowlevel.reschedule(task)

    async def park(self) -> None:
        """Wait (the dispatcher) until something is put.

        Cancellation: cancellable; nothing is lost.
        """
        self._parked = trio.lowlevel.current_task()

        def abort(_: Any) -> trio.lowlevel.Abort:
            self._parked = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)
