"""Running and stopping: run(), open_app(), stop(), start()/join(), run(root) and signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import trio

import trio_circuits
from trio_circuits import Component, Event, Manager, open_app


class hello(Event):
    """hello Event"""


class App(Component):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    def started(self, root: Any) -> None:
        self.log.append("started")

    def stopped(self, root: Any) -> None:
        self.log.append("stopped")

    def hello(self, x: int = 0) -> int:
        return x + 1


async def test_nursery_start_returns_after_started_is_dispatched() -> None:
    app = App()
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            started = await nursery.start(app.run)
            assert started is app
            assert app.log == ["started"]
            assert app.running
            app.stop()
    assert not app.running
    assert app.log == ["started", "stopped"]


async def test_run_refuses_non_root_and_double_run() -> None:
    root = App()
    child = App().register(root)
    with pytest.raises(RuntimeError):
        await child.run()
    async with open_app(root):
        with pytest.raises(RuntimeError):
            await root.run()


async def test_open_app_propagates_the_body_exception_unwrapped() -> None:
    app = App()
    with pytest.raises(KeyError):
        async with open_app(app):
            raise KeyError("body")
    assert not app.running
    assert app.log == ["started", "stopped"]


async def test_events_fired_before_run_are_dispatched_in_order() -> None:
    app = App()
    first = app.fire(hello(1))
    second = app.fire(hello(2))
    async with open_app(app):
        with trio.fail_after(5):
            assert await first.wait() == 2
            assert await second.wait() == 3


def test_system_exit_in_a_handler_stops_with_the_code() -> None:
    class Quitter(Component):
        def hello(self) -> None:
            raise SystemExit(3)

    app = Quitter()
    app.fire(hello())
    with pytest.raises(SystemExit) as stopped:
        trio_circuits.run(app)
    assert stopped.value.code == 3
    assert not app.running


async def test_cancelling_run_stops_everything_at_once() -> None:
    app = App()
    cancelled = trio.Event()

    class Hang(Component):
        async def hello(self) -> None:
            try:
                await trio.sleep_forever()
            finally:
                cancelled.set()

    Hang().register(app)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(app.run)
            app.fire(hello())
            await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
    assert cancelled.is_set()
    assert not app.running


def test_start_fire_stop_join_in_a_thread() -> None:
    app = App()
    app.start()
    try:
        assert app.running
        value = app.fire(hello(41))
        deadline = time.monotonic() + 5
        while not value.result and time.monotonic() < deadline:
            time.sleep(0.005)
        assert value.value == 42
    finally:
        app.stop()
        app.join(5)
    assert not app.root.running
    assert not [t for t in threading.enumerate() if t.name == f"{type(app).__name__}-app"]
    assert app.log == ["started", "stopped"]


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "app.py"
    path.write_text(textwrap.dedent(body))
    return path


def _run_script(path: Path, *, send: int | None = None, timeout: float = 20) -> Any:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    if send is not None:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "ready" once started
        assert line.strip() == "ready"
        proc.send_signal(send)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGTERM])
def test_run_maps_signals_to_a_signal_event_and_a_clean_stop(tmp_path: Path, signo: int) -> None:
    path = _script(
        tmp_path,
        """
        import trio, trio_circuits
        from trio_circuits import Component

        class App(Component):
            def started(self, root):
                print("ready", flush=True)

            async def signal(self, signo, stack):
                await trio.sleep(0.05)
                print("signal", signo, stack, flush=True)

            def stopped(self, root):
                print("stopped", flush=True)

        trio_circuits.run(App())
        print("returned", flush=True)
        """,
    )
    code, out, err = _run_script(path, send=signo)
    assert code == 0, err
    # "ready" was read before the signal was sent.
    assert out.splitlines() == [f"signal {int(signo)} None", "stopped", "returned"]


def test_run_exits_with_the_stop_code(tmp_path: Path) -> None:
    path = _script(
        tmp_path,
        """
        import trio_circuits
        from trio_circuits import Component

        class App(Component):
            def started(self, root):
                self.stop(4)

        trio_circuits.run(App())
        """,
    )
    code, _, err = _run_script(path)
    assert code == 4, err


def test_manager_rejects_arguments() -> None:
    with pytest.raises(TypeError):
        Manager(1)
    with pytest.raises(TypeError):
        App(unexpected=1)  # type: ignore[call-arg]
