"""The running application: one per :meth:`Manager.run`.

A :class:`Runtime` owns everything that exists only while the tree runs: the
dispatcher task (:mod:`._dispatcher`), a nursery for ``async`` handlers, one for
I/O components (each in a cancel scope of its own, so unregistering one cancels
exactly its tasks), the waiters of ``wait()``, the application's intake
(:mod:`.flow`) and its exit code.  It reaches the tree through the root's
:class:`~._tree.Tree` (queue, handler cache) and the components' public hooks
(``run_io``, ``stop_io``).

Shutdown (``stop()``): ``stopped`` is dispatched; I/O components are asked to close
gracefully, with a deadline; ``async`` handlers get a short grace period and are then
cancelled; the queue is drained; ``run`` returns with no task left behind.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import trio

from ._completion import current_cause
from ._dispatcher import Dispatcher
from ._tree import Tree, walk
from ._waiters import Waiters
from .events import Event, started, stopped
from .flow import MAX_QUEUED, Intake, IOStatus
from .values import Value

if TYPE_CHECKING:
    from .manager import Manager


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


class Runtime:
    """The state of a running application (see the module docs)."""

    def __init__(self, root: Manager, tree: Tree) -> None:
        self.root = root
        self.tree = tree
        self.queue = tree.queue
        self.handlers = _Group()
        self.io = _Group()
        self.waiters = Waiters()
        self.intake = Intake(getattr(root, "max_queued", MAX_QUEUED), self.queue.length)
        self.dispatcher = Dispatcher(
            root,
            self.queue,
            tree.cache,
            self.waiters,
            self.handlers.spawn,
            self.request_stop,
            self._between_batches,
        )
        self.stopping = False
        self.closing = False
        self.exit_code: int | str | None = None
        self.start_error: BaseException | None = None
        self.stop_requested = trio.Event()
        self.stopped_value: Value | None = None
        self.close_timeout: float = getattr(root, "close_timeout", 5.0)
        self.handler_grace: float = getattr(root, "handler_grace", 1.0)
        # The cancel scope of each running I/O component.
        self._io_scopes: dict[Manager, trio.CancelScope] = {}
        # Detached subtrees still closing: their running components, by tree.
        self._closing_trees: dict[Tree, set[Manager]] = {}
        self._initial_pending = 0
        self._initial_ready = trio.Event()
        self._ready_values: list[Value] = []

    # -- the application's life -----------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[Any]) -> None:
        """Run the tree; return once it has stopped (see :meth:`Manager.run`)."""
        root = self.root
        self.queue.open()
        self.tree.runtime = self
        try:
            await self.dispatcher.calibrate_async()
            async with trio.open_nursery() as nursery:
                await nursery.start(self.handlers.hold)
                await nursery.start(self.io.hold)
                nursery.start_soon(self.dispatcher.run, self._closed)
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
            self.tree.runtime = None
            self.queue.close()
        if self.start_error is not None:
            # Raised here, outside the nursery, so that ``nursery.start(root.run)``
            # raises the component's own exception rather than a group of one.
            raise self.start_error

    def request_stop(self, code: int | str | None = None) -> None:
        """Begin stopping (once): fire ``stopped(root)``; ``code`` is the exit code."""
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
        self.queue.wake()

    def _closed(self) -> bool:
        return self.closing

    def _is_stopping(self) -> bool:
        return self.stopping

    def _between_batches(self) -> None:
        if self.intake.waiting:
            self.intake.poll()

    # -- waiting ----------------------------------------------------------------------

    async def wait_for(self, target: str | Event, channels: tuple[Hashable, ...]) -> Value:
        """The Value of the next dispatch of ``target`` on ``channels``."""
        return await self.waiters.wait_for(target, channels)

    # -- I/O components ---------------------------------------------------------------

    def start_subtree(self, top: Manager, initial: bool = False) -> None:
        """Start the I/O of every component under ``top`` that is not running yet."""
        if self.stopping:
            return
        for node in walk(top):
            if node.has_io and node not in self._io_scopes:
                status = IOStatus(
                    initial,
                    self.intake,
                    self._on_started(initial),
                    self._is_stopping,
                    self.dispatcher.drain,
                )
                if initial:
                    self._initial_pending += 1
                # Set now, so a component registered twice is not started twice.
                scope = self._io_scopes[node] = trio.CancelScope()
                if not self.io.spawn(self._run_component, node, scope, status):
                    del self._io_scopes[node]
                    if initial:
                        self._component_ready(None)

    def stop_subtree(self, top: Manager, detached: Tree | None = None) -> None:
        """Ask every running I/O component under ``top`` to close, within the timeout.

        ``detached``: the tree ``top`` now roots, after leaving this one; its last
        events (``disconnect``, ``closed``) come here while its components close.
        """
        deadline = trio.current_time() + self.close_timeout
        closing = set()
        for node in walk(top):
            scope = self._io_scopes.get(node)
            if scope is None:
                continue
            closing.add(node)
            scope.deadline = min(scope.deadline, deadline)
            if getattr(type(node).stop_io, "cancels_io", False):
                scope.cancel()  # the default stop_io: cancel at once
            else:
                node.stop_io()
        if detached is not None and closing:
            self._closing_trees[detached] = closing
            detached.queue.forward = self.queue

    def _on_started(self, initial: bool) -> Any:
        return self._component_ready if initial else _ignore

    async def _run_component(
        self, node: Manager, scope: trio.CancelScope, status: IOStatus
    ) -> None:
        # I/O tasks belong to no event's cascade, whoever registered the component.
        current_cause.set(None)
        try:
            with scope:
                await node.run_io(task_status=status)
        except Exception as exc:
            if status.initial and not status.done:
                # It could not start: the application's start fails with this.
                if self.start_error is None:
                    self.start_error = exc
            else:
                self.dispatcher.report(exc, handler=node.run_io, fevent=None)
        finally:
            if self._io_scopes.get(node) is scope:
                del self._io_scopes[node]
            self._closed_in_detached(node)
            if not status.done:
                status.started()

    def _closed_in_detached(self, node: Manager) -> None:
        for tree, closing in list(self._closing_trees.items()):
            closing.discard(node)
            if not closing:
                del self._closing_trees[tree]
                if tree.queue.forward is self.queue:
                    tree.queue.forward = None

    def _component_ready(self, value: Any) -> None:
        if isinstance(value, Value):
            self._ready_values.append(value)
        self._initial_pending -= 1
        if self._initial_pending == 0:
            self._initial_ready.set()


def _ignore(_value: Any) -> None:
    pass


def flush(root: Manager, tree: Tree) -> None:
    """Dispatch the events queued now, in a tree that is not running (circuits' flush).

    Plain handlers run inline and ``async`` ones to their end; completion callbacks
    run (so ``unregister()`` detaches); events fired meanwhile wait for the next
    flush.  No I/O starts.  Runs its own short ``trio.run`` -- in a helper thread if
    the caller is itself inside Trio.
    """
    try:
        trio.lowlevel.current_trio_token()
    except RuntimeError:
        trio.run(_flush, root, tree)
        return
    failure: list[BaseException] = []

    def in_thread() -> None:
        try:
            trio.run(_flush, root, tree)
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=in_thread, name="trio_circuits-flush")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


async def _flush(root: Manager, tree: Tree) -> None:
    queue = tree.queue
    queue.open()
    try:
        async with trio.open_nursery() as nursery:

            def spawn(fn: Any, *args: Any) -> bool:
                nursery.start_soon(fn, *args)
                return True

            dispatcher = Dispatcher(root, queue, tree.cache, Waiters(), spawn, _ignore, _nothing)
            for _ in range(len(queue)):
                dispatcher.dispatch(queue.popleft())
    finally:
        queue.close()


def _nothing() -> None:
    pass
