"""``Worker`` and the ``task`` event: run blocking functions off the event loop."""

from __future__ import annotations

import functools
import os
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

import trio

from .components import BaseComponent
from .events import Event
from .flow import IOStatus
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


class _Job:
    """One ``task``: its call, and how it ended (internal)."""

    __slots__ = ("call", "error", "finished", "result", "started")

    def __init__(self, call: Callable[[], Any]) -> None:
        self.call = call
        self.started = False
        self.result: Any = None
        self.error: BaseException | None = None
        self.finished = trio.Event()


class Worker(BaseComponent):
    """Handle ``task`` events by running their function in a thread or a process.

    Args:
        process: run functions in worker processes (``trio-parallel``; install the
            ``process`` extra); the function and its arguments must be picklable.
        workers: how many functions run at once (default 10 threads, or one process
            per CPU).
        channel: default ``"worker"``.

    Functions start in the order their ``task`` events were fired.  Stopping (or
    unregistering) lets the running functions finish -- a thread cannot be
    interrupted; a worker process is killed if the shutdown deadline passes -- and
    cancels the queued ones quietly: they never start, their events get no
    follow-ups, and their Values are ``None``.
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
        self._backlog: deque[_Job] = deque()
        self._jobs: dict[Event, deque[_Job]] = {}
        self._idle = trio.lowlevel.ParkingLot()
        self._closing = False

    async def run_io(self, *, task_status: IOStatus) -> None:
        """Run queued functions, ``workers`` at a time, until stopped."""
        self._closing = False
        try:
            if self.process:
                import trio_parallel

                # The worker processes live exactly as long as the application runs.
                async with trio_parallel.open_worker_context() as context:
                    await self._serve(task_status, context.run_sync)
            else:
                await self._serve(task_status, trio.to_thread.run_sync)
        finally:
            self._abandon()

    async def _serve(self, task_status: IOStatus, run_sync: Callable[..., Any]) -> None:
        async with trio.open_nursery() as runners:
            for _ in range(self.workers):
                runners.start_soon(self._runner, run_sync)
            task_status.started()

    async def _runner(self, run_sync: Callable[..., Any]) -> None:
        while True:
            if not self._backlog:
                if self._closing:
                    return
                await self._idle.park()
                continue
            job = self._backlog.popleft()
            job.started = True
            try:
                if self.process:
                    job.result = await run_sync(job.call, kill_on_cancel=True)
                else:
                    job.result = await run_sync(job.call)
            except Exception as exc:
                job.error = exc
            finally:
                job.finished.set()

    def stop_io(self) -> None:
        """Let running functions finish; drop the queued ones."""
        self._closing = True
        self._abandon()
        self._idle.unpark_all()

    @handler("stopped", channel="*", priority=1000.0)
    def _on_stopped(self, *_: Any) -> None:
        # Stopping starts nothing new, from the moment it is asked for.
        self.stop_io()

    def _abandon(self) -> None:
        queued, self._backlog = self._backlog, deque()
        for job in queued:
            job.finished.set()  # never started: its handler returns quietly

    @handler("task", priority=1.0)
    def _queue_job(
        self, event: Event, function: Callable[..., Any], *args: Any, **kw: Any
    ) -> None:
        # A plain handler, so that jobs queue in the order their events are handled.
        job = _Job(functools.partial(function, *args, **kw))
        self._jobs.setdefault(event, deque()).append(job)
        if self._closing:
            job.finished.set()
            return
        self._backlog.append(job)
        self._idle.unpark()

    @handler("task")
    async def _on_task(self, event: Event, *args: Any, **kwargs: Any) -> Any:
        jobs = self._jobs[event]
        job = jobs.popleft()
        if not jobs:
            del self._jobs[event]
        await job.finished.wait()
        if not job.started:
            event.cancel()  # cancelled before it started: no follow-up reports it
            return None
        if job.error is not None:
            raise job.error
        return job.result
