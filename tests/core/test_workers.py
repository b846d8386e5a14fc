"""Worker and the task event: threads and processes."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
import trio

from trio_circuits import Component, Event, Worker, open_app, task


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
