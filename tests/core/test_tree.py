"""The component tree: registration, unregistration, tree events, handler tables."""

from __future__ import annotations

from typing import Any

import trio

from trio_circuits import BaseComponent, Component, Event, Manager, Timer, handler, open_app
from trio_circuits.core.events import prepare_unregister

from .test_timers import Ticks


class test(Event):
    """test Event"""


class Leaf(Component):
    def test(self) -> str:
        return "leaf"


class Recorder(Component):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[Any, ...]] = []

    @handler("registered", "unregistered", channel="*")
    def _tree(self, event: Event, component: Any, manager: Any) -> None:
        self.log.append((event.name, type(component).__name__, type(manager).__name__))

    @handler("prepare_unregister", channel="*")
    def _prepare(self, event: prepare_unregister, component: Any) -> None:
        self.log.append(("prepare_unregister", type(component).__name__))


def test_register_sets_parent_root_and_components() -> None:
    m = Manager()
    a = Leaf()
    b = Leaf()
    assert a.register(m) is a
    b.register(a)
    assert a.parent is m
    assert a.root is m
    assert b.parent is a
    assert b.root is m
    assert m.components == [a]
    assert a in m
    assert b not in m
    assert Leaf in m
    assert Recorder not in m
    assert m not in a


def test_operators() -> None:
    m = Manager()
    a, b = Leaf(), Leaf()
    assert (m + a + b) is m
    assert m.components == [a, b]
    c = Leaf()
    m += c
    assert c.parent is m
    nested = Leaf() + Leaf()
    assert len(nested.components) == 1


def test_auto_registration_of_attribute_components() -> None:
    class Child(Component):
        pass

    class Parent(Component):
        klass_child = Child()

        def __init__(self) -> None:
            super().__init__()
            self.child = Child()
            self._private = Child()

        def init(self) -> None:
            self.from_init = Child()

    class WithInit(Component):
        def init(self, n: int) -> None:
            self.n = n
            self.sub = Child()

    p = Parent()
    assert p.child.parent is p
    assert p.klass_child.parent is p
    assert p._private.parent is p._private
    w = WithInit(3)
    assert w.n == 3
    assert w.sub.parent is w


async def test_tree_events_and_own_unregistered() -> None:
    got: list[str] = []

    class Child(Component):
        def unregistered(self, component: Any, manager: Any) -> None:
            got.append(f"own:{component is self}:{self not in manager.components}")

    m = Manager()
    rec = Recorder().register(m)
    async with open_app(m):
        child = Child().register(m)
        await m.wait("registered")
        child.unregister()
        with trio.fail_after(5):
            await m.wait("unregistered")
        assert child.parent is child
        assert child.root is child
        assert child not in m.components
    names = [entry[0] for entry in rec.log]
    assert names[-3:] == ["registered", "prepare_unregister", "unregistered"]
    assert got == ["own:True:True"]


async def test_prepare_unregister_in_subtree() -> None:
    results: dict[str, bool] = {}

    class Watch(Component):
        channel = "*"

        @handler("prepare_unregister", channel="*")
        def _p(self, event: prepare_unregister, component: Any) -> None:
            results["self"] = event.in_subtree(self)
            results["grandchild"] = event.in_subtree(grandchild)

    m = Manager()
    w = Watch().register(m)
    child = Leaf().register(m)
    grandchild = Leaf().register(child)
    async with open_app(m):
        child.unregister()
        await m.wait("unregistered")
    assert results == {"self": False, "grandchild": True}
    # The subtree keeps its structure under its new root.
    assert grandchild.parent is child
    assert grandchild.root is child
    assert w.root is m


async def test_minus_unregisters_and_handlers_leave() -> None:
    m = Manager()
    leaf = Leaf().register(m)
    async with open_app(m):
        assert (await m.call(test())).value == "leaf"
        m -= leaf
        await m.wait("unregistered")
        assert (await m.call(test())).value is None


async def test_add_and_remove_handler_on_a_running_manager() -> None:
    m = Manager()

    @handler("foo")
    def on_foo(self: Manager) -> str:
        return "Hello World!"

    async with open_app(m):
        method = m.addHandler(on_foo)
        assert m.handles("foo")
        assert (await m.call(Event.create("foo"))).value == "Hello World!"
        m.removeHandler(method)
        assert not m.handles("foo")
        assert (await m.call(Event.create("foo"))).value is None


def test_handlers_events_handles_on_class_and_instance() -> None:
    class A(Component):
        def one(self) -> None: ...

        @handler("two", "three")
        def _other(self) -> None: ...

    class B(A):
        def four(self) -> None: ...

    assert set(A.events()) == {"one", "two", "three"}
    assert B.handles("one", "four")
    assert not A.handles("four")
    b = B()
    assert b.handles("one", "two", "three", "four")
    assert len(B.handlers()) == 3
    # An instance also has circuits' handler that finishes its own unregistration.
    assert len(b.handlers()) == 4
    assert b.handles("prepare_unregister_complete")


def test_len_counts_queued_events() -> None:
    m = Manager()
    assert len(m) == 0
    m.fire(test())
    m.fire(test())
    assert len(m) == 2
    child = Leaf()
    child.fire(test())
    child.register(m)
    # The child's queued events moved to the root's queue (plus ``registered``).
    assert len(m) == 4


async def test_handler_cache_follows_tree_changes() -> None:
    m = Manager()
    async with open_app(m):
        assert (await m.call(test())).value is None
        a = Leaf().register(m)
        assert (await m.call(test())).value == "leaf"
        Leaf().register(a)
        assert (await m.call(test())).value == ["leaf", "leaf"]


async def test_io_starts_on_register_and_stops_on_unregister(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = Ticks()
    ticks = app.at
    async with open_app(app):
        timer = Timer(1, Event.create("tick"), persist=True)
        timer.register(app)
        await trio.sleep(3.5)
        timer.unregister()
        await app.wait("unregistered")
        count = len(ticks)
        await trio.sleep(5)
    assert count == 3
    assert len(ticks) == 3


def test_repr() -> None:
    class App(BaseComponent):
        channel = "app"

    r = repr(App())
    assert r.startswith("<App/app ")
    assert r.endswith("(queued=0) [S]>")
    assert repr(Manager()).startswith("<Manager/ ")


def test_unregister_from_another_thread_always_detaches() -> None:
    import threading
    import time

    root = Recorder()
    root.start()
    try:
        for _ in range(200):
            leaf = Leaf().register(root)
            gone = threading.Event()
            leaf.addHandler(handler("unregistered")(lambda self, *_, gone=gone: gone.set()))
            leaf.unregister()
            assert gone.wait(5), "unregistered was never delivered"
            deadline = time.monotonic() + 5
            while leaf in root.components and time.monotonic() < deadline:
                time.sleep(0.001)
            assert leaf not in root.components
            assert leaf.parent is leaf
    finally:
        root.stop()
        root.join(5)
    names = [entry[0] for entry in root.log]
    assert names.count("unregistered") == 200
