"""Event objects: names, arguments, flags, repr, indexing, create, child."""

from __future__ import annotations

import pytest

from trio_circuits import Event, Manager, open_app


class test(Event):
    """test Event"""


class flagged(Event):
    success = True
    failure = True
    complete = True


class named(Event):
    name = "custom"


class below_named(named):
    pass


def test_name_is_class_name_unless_set() -> None:
    assert test().name == "test"
    assert named().name == "custom"
    assert below_named().name == "custom"
    e = test()
    e.name = "renamed"
    assert e.name == "renamed"


def test_args_are_a_list_and_kwargs_a_dict() -> None:
    e = test(1, 2, a=3)
    assert e.args == [1, 2]
    assert e.kwargs == {"a": 3}
    assert e.value is None
    assert e.channels == ()


def test_indexing_reads_and_writes_args_and_kwargs() -> None:
    e = test(1, 2, a=3)
    assert e[0] == 1
    assert e[-1] == 2
    assert e["a"] == 3
    e[1] = 20
    e["b"] = 4
    assert e.args == [1, 20]
    assert e.kwargs == {"a": 3, "b": 4}
    with pytest.raises(TypeError):
        e[1.5]  # type: ignore[index]
    with pytest.raises(TypeError):
        e[None] = 1  # type: ignore[index]


def test_repr_before_and_after_firing() -> None:
    e = test()
    assert repr(e) == "<test[] ( )>"
    m = Manager()
    m.fire(e)
    assert repr(e) == "<test[*] ( )>"
    e2 = test(1, "x", k=2)
    m.fire(e2, "a", "b")
    assert repr(e2) == "<test[('a', 'b')] (1, 'x' k=2)>"


def test_fire_sets_channels_and_value() -> None:
    class chan(Event):
        channels = ("preset",)

    m = Manager()
    e = chan()
    v = m.fire(e)
    assert e.channels == ("preset",)
    assert e.value is v
    assert v.event is e
    e2 = test()
    m.fire(e2, "x")
    assert e2.channels == ("x",)


def test_create_builds_a_named_subclass() -> None:
    e = Event.create("foo", 1, k=2)
    assert isinstance(e, Event)
    assert e.name == "foo"
    assert e.args == [1]
    assert e.kwargs == {"k": 2}
    sub = test.create("bar")
    assert isinstance(sub, test)
    assert sub.name == "bar"


def test_child_does_not_inherit_flags() -> None:
    parent = flagged(1)
    child = parent.child("done", 5)
    assert child.name == "flagged_done"
    assert child.parent is parent
    assert child.args == [5]
    assert not child.success
    assert not child.failure
    assert not child.complete


async def test_stop_prevents_later_handlers() -> None:
    from trio_circuits import Component, handler

    class App(Component):
        @handler("test", priority=2)
        def first(self, event: Event) -> str:
            event.stop()
            return "first"

        @handler("test", priority=1)
        def second(self) -> str:
            return "second"

    app = App()
    async with open_app(app):
        v = await app.call(test())
    assert v.value == "first"


async def test_cancel_prevents_dispatch() -> None:
    from trio_circuits import Component

    seen: list[str] = []

    class App(Component):
        def test(self) -> None:
            seen.append("ran")

    app = App()
    e = test()
    v = app.fire(e)
    e.cancel()
    async with open_app(app):
        await v.wait()
        await app.call(Event.create("other"))
    assert seen == []
    assert not v.result
