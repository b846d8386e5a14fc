"""Follow-up events: _success, _failure, _complete, exception, and the fallback report."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import pytest
import trio

from trio_circuits import Component, Event, Manager, handler, open_app


class ok(Event):
    success = True
    failure = True


class bad(Event):
    success = True
    failure = True


class nested(Event):
    success = True
    complete = True


class inner(Event):
    """Fired by nested's handler."""


class App(Component):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[Any, ...]] = []
        self.state = 0

    def ok(self, x: int) -> int:
        return x + 1

    async def _slow_ok(self) -> None:
        await trio.sleep(0.01)

    def ok_success(self, evt: Event, value: Any) -> None:
        self.log.append(("ok_success", evt.name, value))

    def bad(self) -> None:
        raise ValueError("boom")

    def bad_success(self, evt: Event, value: Any) -> None:
        self.log.append(("bad_success",))

    def bad_failure(self, evt: Event, error: tuple[Any, ...]) -> None:
        self.log.append(("bad_failure", evt.name, error))

    def nested(self) -> None:
        self.fire(inner())
        self.fire(inner())

    async def inner(self) -> None:
        await trio.sleep(0.01)
        self.state += 1

    def nested_success(self, evt: Event, value: Any) -> None:
        self.log.append(("nested_success", self.state))

    def nested_complete(self, evt: Event, value: Any) -> None:
        self.log.append(("nested_complete", self.state))

    def exception(self, *args: Any, **kwargs: Any) -> None:
        self.log.append(("exception", *args, kwargs))


async def test_success_carries_event_and_value() -> None:
    app = App()
    async with open_app(app):
        app.fire(ok(1))
        await app.wait("ok_success", timeout=5)
    assert app.log == [("ok_success", "ok", 2)]


async def test_failure_and_exception_for_a_raising_handler() -> None:
    app = App()
    async with open_app(app):
        v = app.fire(bad())
        await app.wait("exception", timeout=5)
        with pytest.raises(ValueError):
            await v.wait()
    failure = [e for e in app.log if e[0] == "bad_failure"]
    assert len(failure) == 1
    etype, evalue, tb = failure[0][2]
    assert etype is ValueError
    assert str(evalue) == "boom"
    assert isinstance(tb, TracebackType)
    assert ("bad_success",) not in app.log
    exc = next(e for e in app.log if e[0] == "exception")
    assert exc[1] is ValueError
    assert isinstance(exc[3], list)
    assert all(isinstance(line, str) for line in exc[3])
    kwargs = exc[4]
    assert kwargs["handler"] == app.bad
    assert kwargs["fevent"].name == "bad"


async def test_no_success_when_an_async_handler_raises() -> None:
    class Mixed(App):
        @handler("ok")
        async def _raise_later(self, x: int) -> None:
            await trio.sleep(0.01)
            raise RuntimeError("later")

    app = Mixed()
    async with open_app(app):
        with pytest.raises(RuntimeError):
            await app.call(ok(1))
        await trio.sleep(0.05)
    assert not [e for e in app.log if e[0] == "ok_success"]


async def test_success_sees_state_before_nested_complete_after() -> None:
    app = App()
    async with open_app(app):
        app.fire(nested())
        await app.wait("nested_complete", timeout=5)
    assert app.log == [("nested_success", 0), ("nested_complete", 2)]


async def test_follow_up_channels() -> None:
    class routed(Event):
        success = True
        failure = True
        complete = True
        success_channels = ("s",)
        failure_channels = ("f",)
        complete_channels = ("c",)

    seen: list[tuple[str, tuple[Any, ...]]] = []

    class Listener(Component):
        channel = "*"

        @handler("routed_success", "routed_failure", "routed_complete", channel="*")
        def _any(self, event: Event, *args: Any) -> None:
            seen.append((event.name, event.channels))

    class Src(Component):
        channel = "src"

        def routed(self, fail: bool) -> None:
            if fail:
                raise KeyError("x")

        def exception(self, *args: Any, **kwargs: Any) -> None:
            pass

    m = Manager()
    Listener().register(m)
    src = Src().register(m)
    async with open_app(m):
        src.fire(routed(False))
        await m.wait("routed_complete", "*", timeout=5)
        src.fire(routed(True))
        await m.wait("routed_failure", "*", timeout=5)
    assert ("routed_success", ("s",)) in seen
    assert ("routed_complete", ("c",)) in seen
    assert ("routed_failure", ("f",)) in seen


async def test_success_is_queued_before_events_fired_afterwards() -> None:
    order: list[str] = []

    class Ordered(Component):
        def ok(self, x: int) -> None:
            order.append("ok")

        def ok_success(self, evt: Event, value: Any) -> None:
            order.append("ok_success")

        def later(self) -> None:
            order.append("later")

    app = Ordered()
    async with open_app(app):
        v = app.fire(ok(1))
        await v.wait()
        app.fire(Event.create("later"))
        await app.wait("later", timeout=5)
    assert order == ["ok", "ok_success", "later"]


async def test_exception_goes_to_the_roots_channel() -> None:
    seen: list[Any] = []

    class Root(Component):
        channel = "app"

        def exception(self, etype: type, *args: Any, **kwargs: Any) -> None:
            seen.append(etype)

    class Worker_(Component):
        channel = "work"

        def job(self) -> None:
            raise OSError("x")

    root = Root()
    Worker_().register(root)
    async with open_app(root):
        root.fire(Event.create("job"), "work")
        await root.wait("exception", "app", timeout=5)
    assert seen == [OSError]


async def test_fallback_report_and_no_loop(caplog: pytest.LogCaptureFixture) -> None:
    class Loud(Component):
        def job(self) -> None:
            raise ZeroDivisionError("first")

    class Broken(Component):
        def job(self) -> None:
            raise LookupError("first")

        def exception(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("in the exception handler")

    caplog.set_level(logging.ERROR, logger="trio_circuits")
    app = Loud()
    async with open_app(app):
        app.fire(Event.create("job"))
        await app.wait("exception", timeout=5)
    assert "ERROR <handler[*][job] (Loud.job)>" in caplog.text
    assert "ZeroDivisionError: first" in caplog.text
    caplog.clear()
    broken = Broken()
    async with open_app(broken):
        broken.fire(Event.create("job"))
        await broken.wait("exception", timeout=5)
        await trio.sleep(0.05)
        assert len(broken) == 0
    assert "RuntimeError: in the exception handler" in caplog.text
    assert caplog.text.count("ERROR <handler[*][exception] (Broken.exception)>") == 1
