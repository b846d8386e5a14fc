"""Worker and the task event: threads and processes."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
import trio

from trio_circuits import Component, Event, Worker, handler, open_app, task


def add(a: int, b: int = 0) -> int:
    return a + b


def whoami() -> tuple[int, str]:
    return os.getpid(), threading.current_thread().name


def explode() -> None:
    raise ArithmeticError("in the worker")


class App(Component):
    def __init__(self, process: bool = False) -> None:
        super().__init__()
        self.log: list[tuple[Any, ...]] = []
        Worker(process=process, workers=2).register(self)

    def task_success(self, evt: Event, value: Any) -> None:
        self.log.append(("success", value))

    def task_failure(self, evt: Event, error: Any) -> None:
        self.log.append(("failure", error[0]))

    def exception(self, *args: Any, **kwargs: Any) -> None:
        pass


async def test_thread_worker_value_and_follow_ups() -> None:
    app = App()
    async with open_app(app):
        with trio.fail_after(10):
            v = await app.call(task(add, 1, b=2), "worker")
            assert v.value == 3
            assert v.result
            pid, thread = (await app.call(task(whoami), "worker")).value
            assert pid == os.getpid()
            assert thread != threading.current_thread().name
            failed = app.fire(task(explode), "worker")
            await app.wait("task_failure", "worker")
            with pytest.raises(ArithmeticError):
                await failed.wait()
    assert ("success", 3) in app.log
    assert ("failure", ArithmeticError) in app.log


async def test_process_worker() -> None:
    app = App(process=True)
    async with open_app(app):
        with trio.fail_after(60):
            v = await app.call(task(add, 20, 22), "worker")
            pid, _ = (await app.call(task(whoami), "worker")).value
    assert v.value == 42
    assert pid != os.getpid()


def test_bad_worker_count() -> None:
    with pytest.raises(ValueError):
        Worker(workers=0)


def _record(log: list[int], n: int) -> int:
    log.append(n)
    return n


class OneWorker(Component):
    """One worker thread; records follow-ups; no ``exception`` handler (errors print)."""

    def __init__(self) -> None:
        super().__init__()
        self.successes: list[Any] = []
        Worker(workers=1).register(self)

    def task_success(self, evt: Event, value: Any) -> None:
        self.successes.append(value)


async def test_tasks_start_in_the_order_they_were_fired() -> None:
    app = OneWorker()
    started: list[int] = []
    async with open_app(app):
        values = [app.fire(task(_record, started, n), "worker") for n in range(20)]
        with trio.fail_after(10):
            results = [await v.wait() for v in values]
    assert started == list(range(20))
    assert results == list(range(20))


async def test_stop_with_tasks_queued_cancels_them_quietly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    gate = threading.Event()
    app = OneWorker()
    started: list[int] = []

    def blocker() -> str:
        gate.wait(10)
        return "first"

    # Once stopping has begun the running function may finish: the queued ones must
    # still never start.
    app.addHandler(handler("stopped")(lambda self, *_: gate.set()))
    async with open_app(app):
        first = app.fire(task(blocker), "worker")
        queued = [app.fire(task(_record, started, n), "worker") for n in range(5)]
        await trio.sleep(0.05)
    assert started == []
    assert first.value == "first"
    assert all(v.value is None and v.done for v in queued)
    assert app.successes == ["first"]
    out, err = capsys.readouterr()
    assert (out, err) == ("", "")
