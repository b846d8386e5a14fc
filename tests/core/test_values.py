"""Values: results, lists, chains, errors, notifications, waiting."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import pytest
import trio

from trio_circuits import Component, Event, Value, handler, open_app


class hello(Event):
    """hello Event"""


class test(Event):
    """test Event"""


class foo(Event):
    """foo Event"""


class values(Event):
    """values Event"""


class App(Component):
    def __init__(self) -> None:
        super().__init__()
        self.changed: list[Value] = []

    def hello(self) -> str:
        return "Hello World!"

    def test(self) -> Value:
        return self.fire(hello())

    def foo(self) -> None:
        raise Exception("ERROR")

    @handler("hello_value_changed", "test_value_changed")
    def _changed(self, value: Value) -> None:
        self.changed.append(value)

    @handler("values", priority=2)
    def _v1(self) -> str:
        return "foo"

    @handler("values", priority=1)
    def _v2(self) -> str:
        return "bar"

    @handler("values", priority=0)
    def _v3(self) -> Value:
        return self.fire(hello())


async def test_scalar_value_and_container_protocol() -> None:
    app = App()
    async with open_app(app):
        x = await app.call(hello())
    assert x.value == "Hello World!"
    assert "Hello World!" in x
    assert str(x) == "Hello World!"
    assert x.result
    assert not x.errors
    assert x.done
    assert x.event.name == "hello"  # type: ignore[union-attr]
    assert "Value" in repr(x)


async def test_nested_value_is_resolved() -> None:
    app = App()
    async with open_app(app):
        x = await app.call(test())
    assert x.value == "Hello World!"
    assert str(x) == "Hello World!"


async def test_multiple_values_in_priority_order_with_a_nested_one() -> None:
    app = App()
    async with open_app(app):
        v = await app.call(values())
    assert v.value == ["foo", "bar", "Hello World!"]
    assert list(v) == ["foo", "bar", "Hello World!"]
    assert v[0] == "foo"
    assert "foo" in v


async def test_value_notify_fires_value_changed_with_the_value() -> None:
    app = App()
    async with open_app(app):
        ev = hello()
        ev.notify = True
        x = app.fire(ev)
        await app.wait("hello_value_changed")
    assert app.changed == [x]


async def test_nested_value_notify_propagates_to_the_outer_value() -> None:
    app = App()
    async with open_app(app):
        ev = test()
        ev.notify = True
        x = app.fire(ev)
        await x.wait()
        with trio.fail_after(5):
            while len(app.changed) < 2:
                await app.wait("test_value_changed")
    assert all(v is x for v in app.changed)
    assert x.value == "Hello World!"


async def test_error_value_is_the_exc_info_triple() -> None:
    app = App()
    async with open_app(app):
        x = app.fire(foo())
        with pytest.raises(Exception, match="ERROR"):
            await x.wait()
    etype, evalue, etraceback = x.value
    assert etype is Exception
    assert str(evalue) == "ERROR"
    assert isinstance(etraceback, TracebackType)
    assert x.errors


async def test_wait_returns_value_and_waits_for_async_handlers() -> None:
    gate = trio.Event()

    class Slow(Component):
        async def hello(self) -> str:
            await gate.wait()
            return "late"

    app = Slow()
    async with open_app(app):
        v = app.fire(hello())
        await trio.sleep(0.01)
        assert not v.done
        assert not v.result
        gate.set()
        with trio.fail_after(5):
            assert await v.wait() == "late"
        assert v.done


def test_value_storage_without_trio() -> None:
    assert Value().value is None
    v = Value()
    assert not v.result
    v._store(None)
    assert v._count == 0
    v._store(1)
    assert v.value == 1
    v._store([2])
    assert v.value == [1, [2]]
    inner = Value()
    v._store(inner)
    inner._store("x")
    assert v.value == [1, [2], "x"]
    assert inner.parent is v


async def test_handler_returning_a_list_is_one_value() -> None:
    class Lists(Component):
        def hello(self) -> list[Any]:
            return [1, 2]

    app = Lists()
    async with open_app(app):
        assert (await app.call(hello())).value == [1, 2]
