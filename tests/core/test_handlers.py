"""Handlers: names, channels, priorities, inheritance, catch-alls, Component methods."""

from __future__ import annotations

from typing import Any

from trio_circuits import BaseComponent, Component, Event, Manager, handler, open_app


class test(Event):
    """test Event"""


class foo(Event):
    """foo Event"""


async def test_priority_orders_handlers_and_values() -> None:
    class App(Component):
        @handler("test", priority=0)
        def low(self) -> int:
            return 0

        @handler("test", priority=3)
        def high(self) -> int:
            return 3

        @handler("test", priority=2)
        def mid(self) -> int:
            return 2

    app = App()
    async with open_app(app):
        v = await app.call(test())
    assert v.value == [3, 2, 0]
    assert list(v) == [3, 2, 0]


async def test_several_names_and_event_parameter() -> None:
    class App(BaseComponent):
        @handler("test", "foo")
        def both(self, event: Event, x: int) -> str:
            return f"{event.name}:{x}"

    app = App()
    async with open_app(app):
        assert (await app.call(test(1))).value == "test:1"
        assert (await app.call(foo(2))).value == "foo:2"


async def test_inheritance_keeps_both_unless_override() -> None:
    class Base(Component):
        def test(self) -> str:
            return "Hello World!"

    class Both(Base):
        @handler("test", priority=-1)
        def test(self) -> str:
            return "Foobar"

    class Override(Base):
        @handler("test", override=True)
        def test(self) -> str:
            return "Foobar"

    both, over = Both(), Override()
    async with open_app(both):
        assert (await both.call(test())).value == ["Hello World!", "Foobar"]
    async with open_app(over):
        assert (await over.call(test())).value == "Foobar"


async def test_catch_all_handlers() -> None:
    seen: list[tuple[str, str]] = []

    class App(BaseComponent):
        channel = "app"

        @handler()
        def on_own_channel(self, event: Event, *args: Any, **kwargs: Any) -> None:
            seen.append(("own", event.name))

        @handler("*")
        def star(self, event: Event, *args: Any, **kwargs: Any) -> None:
            seen.append(("star", event.name))

        @handler(channel="*")
        def everywhere(self, event: Event, *args: Any, **kwargs: Any) -> None:
            seen.append(("everywhere", event.name))

    m = Manager()
    App().register(m)
    async with open_app(m):
        await m.call(test(), "app")
        await m.call(foo(), "elsewhere")
    assert ("own", "test") in seen
    assert ("star", "test") in seen
    assert ("everywhere", "test") in seen
    assert ("everywhere", "foo") in seen
    assert ("own", "foo") not in seen
    assert ("star", "foo") not in seen


async def test_channel_selection() -> None:
    class A(Component):
        channel = "a"

        def test(self) -> str:
            return "a"

    class B(Component):
        channel = "b"

        def test(self) -> str:
            return "b"

    class Any_(Component):
        @handler("test", channel="*")
        def star(self) -> str:
            return "star"

    m = Manager()
    a, b = A(), B()
    m += a
    m += b
    Any_().register(m)
    async with open_app(m):
        assert (await m.call(test(), "a")).value == ["a", "star"]
        assert (await m.call(test(), "b")).value == ["b", "star"]
        # Several channels: handlers in the order of the channels fired on.
        assert (await m.call(test(), "a", "b")).value == ["a", "star", "b", "star"]
        assert sorted((await m.call(test(), "*")).value) == ["a", "b", "star"]
        # A component instance as the channel reaches that component's handlers.
        assert (await m.call(test(), b)).value == ["b", "star"]


async def test_event_class_channels_and_default_channel() -> None:
    class onb(Event):
        channels = ("b",)

    class App(Component):
        channel = "b"

        def onb(self) -> str:
            return "got"

    app = App()
    async with open_app(app):
        assert (await app.call(onb())).value == "got"
        # Fired by the component itself: its own channel.
        assert (await app.call(Event.create("onb"))).value == "got"


def test_component_methods_become_handlers_basecomponent_not() -> None:
    class C(Component):
        def public(self) -> None: ...

        def _private(self) -> None: ...

        @handler(False)
        def opted_out(self) -> None: ...

        def init(self) -> None: ...

    class B(BaseComponent):
        def public(self) -> None: ...

    assert C.handles("public")
    assert not C.handles("_private")
    assert not C.handles("opted_out")
    assert not C.handles("init")
    assert not B.handles("public")
    assert C().handles("public")


async def test_framework_methods_are_not_handlers() -> None:
    class App(Component):
        pass

    app = App()
    for name in ("call", "wait", "fire", "register", "stop", "run", "unregister"):
        assert not app.handles(name)
    async with open_app(app):
        v = await app.call(Event.create("call"))
        w = await app.call(Event.create("wait"))
    assert v.value is None
    assert w.value is None
    assert app.running is False


async def test_handlers_are_bound_at_construction() -> None:
    class App(Component):
        def test(self) -> str:
            return "handler"

    app = App()
    app.test = lambda: "shadow"  # type: ignore[method-assign]
    async with open_app(app):
        assert (await app.call(test())).value == "handler"


async def test_async_handlers_run_and_return() -> None:
    class App(Component):
        async def test(self, x: int) -> int:
            return x * 2

        @handler("test", priority=1)
        def sync_first(self, x: int) -> int:
            return x

    app = App()
    async with open_app(app):
        assert (await app.call(test(4))).value == [4, 8]
