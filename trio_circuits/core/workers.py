"""``Worker`` and the ``task`` event: run blocking functions off the event loop."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Hashable
from typing import Any

import trio

from .components import BaseComponent
from .events import Event
from .handlers import handler

__all__ = ["Worker", "task"]


class task(Event):
    """Run ``function(*args, **kwargs)`` in a :class:`Worker`; the value is its result.

    ``success`` and ``failure`` are on: ``task_success(event, result)`` or
    ``task_failure(event, (type, value, traceback))`` follows.
    """

    success = True
    failure = True

    def __init__(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(function, *args, **kwargs)


class Worker(BaseComponent):
    """Handle ``task`` events by running their function in a thread or a process.

    Args:
        process: run functions in worker processes (``trio-parallel``; install the
            ``process`` extra); the function and its arguments must be picklable.
        workers: how many functions run at once (default 10 threads, or one process
            per CPU).
        channel: default ``"worker"``.

    Cancellation: a thread cannot be interrupted; stopping the application waits for
    running functions (bounded by the shutdown grace period, after which their results
    are dropped).  A worker process is killed when its task is cancelled.
    """

    channel: Hashable = "worker"

    def __init__(
        self, process: bool = False, workers: int | None = None, channel: Hashable = "worker"
    ) -> None:
        if workers is None:
            workers = (os.cpu_count() or 1) if process else 10
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive int, not {workers!r}")
        if process:
            try:
                import trio_parallel  # noqa: F401
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ImportError(
                    "Worker(process=True) needs trio-parallel: "
                    "pip install 'trio-circuits[process]'"
                ) from exc
        super().__init__(channel=channel)
        self.process = process
        self.workers = workers
        self._limiter: trio.CapacityLimiter | None = None
        self._context: Any = None
        self._context_ready = trio.Event()
        self._inflight = 0
        self._idle = trio.Event()
        self._closing = False

    async def run_io(self, *, task_status: trio.TaskStatus[Any]) -> None:
        if not self.process:
            task_status.started()
            return
        import trio_parallel

        # The worker processes live exactly as long as the application runs.
        try:
            async with trio_parallel.open_worker_context() as context:
                self._context = context
                self._context_ready.set()
                task_status.started()
                self._idle = trio.Event()
                while not (self._closing and self._inflight == 0):
                    await self._idle.wait()
                    self._idle = trio.Event()
        finally:
            self._context = None
            self._context_ready = trio.Event()
            self._closing = False

    def stop_io(self) -> None:
        # Let running functions finish (the runtime bounds this with its deadline).
        self._closing = True
        self._idle.set()

    @handler("task")
    async def _on_task(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._limiter is None:
            self._limiter = trio.CapacityLimiter(self.workers)
        call = functools.partial(function, *args, **kwargs)
        if not self.process:
            return await trio.to_thread.run_sync(call, limiter=self._limiter)
        await self._context_ready.wait()
        self._inflight += 1
        try:
            return await self._context.run_sync(call, limiter=self._limiter, kill_on_cancel=True)
        finally:
            self._inflight -= 1
            self._idle.set()
