"""circuits' idioms its own tests rely on: flush(), fire(priority=), waitingHandlers,
the attributes they read, and calling into a running application from a thread."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import trio
import trio.lowlevel

import trio_circuits
from trio_circuits import Component, Event, Manager, handler
from trio_circuits.core.manager import TIMEOUT


class hello(Event):
    """Answered by a plain handler."""


class later(Event):
    """Answered by an async handler."""


class App(Component):
    def init(self) -> None:
        self.seen: list[Any] = []

    def hello(self, n: int = 0) -> str:
        self.seen.append(n)
        return f"hello {n}"

    async def later(self) -> int:
        await trio.lowlevel.checkpoint()
        return 42


def test_flush_dispatches_what_is_queued_without_running() -> None:
    app = App()
    while len(app):
        app.flush()
    first = app.fire(hello(1))
    assert first.event is not None
    assert first.event.waitingHandlers == 1
    app.flush()
    assert first.value == "hello 1"
    assert first.event.waitingHandlers == 0
    assert app.fire(later()).value is None
    app.flush()
    assert not app.running
    child = App().register(app)
    while len(app):
        app.flush()
    assert child in app
    child.unregister()
    while len(app):
        app.flush()
    assert child not in app
    assert child.root is child
    assert TIMEOUT == 0.1


async def test_flush_works_from_inside_trio_and_is_a_no_op_while_running() -> None:
    app = App()
    value = app.fire(hello(2))
    app.flush()  # inside Trio: runs in a helper thread
    assert value.value == "hello 2"
    async with trio_circuits.open_app(app):
        app.flush()
        assert (await app.call(hello(3))).value == "hello 3"


def test_fire_priority_ranks_waiting_events() -> None:
    app = App()
    while len(app):
        app.flush()
    app.fire(hello(1), priority=2)
    app.fire(hello(2))
    app.fire(hello(3), priority=-1)
    app.fire(hello(4))
    app.flush()
    assert app.seen == [3, 2, 4, 1]


def test_circuits_attributes_its_tests_read() -> None:
    m = Manager()
    assert not m._handlers
    app = App()
    assert app.hello in app._handlers["hello"]
    assert "prepare_unregister_complete" in app._handlers
    assert app._running is False


def test_call_in_app_runs_in_the_application_thread() -> None:
    app = App()
    assert app.call_in_app(threading.get_ident) == threading.get_ident()
    app.start()
    try:
        assert app._running
        other = app.call_in_app(threading.get_ident)
        assert other != threading.get_ident()
        with pytest.raises(ZeroDivisionError):
            app.call_in_app(lambda: 1 / 0)
    finally:
        app.stop()
        app.join(5)
    assert app._Manager__thread is None


def test_a_started_app_joins_and_forgets_its_thread() -> None:
    gone = threading.Event()
    app = App()
    app.addHandler(handler("stopped")(lambda self, *_: gone.set()))
    app.start()
    app.stop()
    assert gone.wait(5)
    app.join(5)
    assert not app._running


async def test_a_negative_timeout_means_none_and_timeout_error_is_trios() -> None:
    from trio_circuits.core import TimeoutError as CircuitsTimeout

    class Slow(Component):
        async def later(self) -> int:
            await trio_circuits.sleep(0.05)
            return 42

    app = Slow()
    async with trio_circuits.open_app(app):
        value = await app.call(later(), timeout=-1)  # circuits' default: no limit
        assert value.value == 42
        with pytest.raises(CircuitsTimeout):
            await app.call(later(), timeout=0.001)
        assert CircuitsTimeout is trio.TooSlowError
        fired = app.fire(later()).event
        assert fired is not None
        waited = await app.wait(fired, timeout=-1)
        assert waited.value == 42
