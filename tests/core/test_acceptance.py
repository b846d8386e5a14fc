"""The core's acceptance checks: the behaviours every other part relies on."""

from __future__ import annotations

import threading

import pytest
import trio
import trio.testing

from trio_circuits import Component, Event, Manager, handler, open_app


class slow(Event):
    """Handled by an async handler that takes a while."""


class quick(Event):
    """Handled by a plain handler."""


class numbered(Event):
    """Carries a sequence number."""


class top(Event):
    """The root of a three-level cascade."""

    complete = True


class middle(Event):
    """Second level."""


class leaf(Event):
    """Third level."""


class fail(Event):
    """Its handler raises."""


class Recorder(Component):
    def __init__(self) -> None:
        super().__init__()
        self.order: list[object] = []
        self.release = trio.Event()
        self.completes = 0

    async def slow(self) -> str:
        self.order.append("slow-start")
        await self.release.wait()
        self.order.append("slow-end")
        return "slow"

    def quick(self) -> str:
        self.order.append("quick")
        return "quick"

    def numbered(self, n: int) -> None:
        self.order.append(n)

    def top(self) -> None:
        self.fire(middle(1))
        self.fire(middle(2))

    async def middle(self, n: int) -> None:
        await trio.sleep(0.01 * n)
        self.fire(leaf(n))

    async def leaf(self, n: int) -> None:
        await trio.sleep(0.01)
        self.order.append(f"leaf{n}")

    def top_complete(self, evt: Event, value: object) -> None:
        self.completes += 1
        self.order.append("complete")

    def fail(self) -> None:
        raise KeyError("nope")


async def test_async_handler_does_not_block_dispatch() -> None:
    app = Recorder()
    async with open_app(app):
        slow_value = app.fire(slow())
        with trio.fail_after(5):
            quick_value = await app.call(quick())
        assert quick_value.value == "quick"
        assert "slow-end" not in app.order
        assert not slow_value.done
        app.release.set()
        with trio.fail_after(5):
            assert await slow_value.wait() == "slow"


async def test_fifo_over_thousands_of_events() -> None:
    app = Recorder()
    async with open_app(app):
        last = None
        for n in range(5000):
            last = app.fire(numbered(n))
        assert last is not None
        with trio.fail_after(10):
            await last.wait()
        assert app.order == list(range(5000))


async def test_complete_fires_once_after_three_level_async_cascade() -> None:
    app = Recorder()
    async with open_app(app):
        with trio.fail_after(5):
            await app.call(top())
            await app.wait("top_complete")
        # Give any (wrong) second _complete a chance to show up.
        await trio.sleep(0.05)
    assert app.completes == 1
    assert app.order.index("complete") > app.order.index("leaf1")
    assert app.order.index("complete") > app.order.index("leaf2")


async def test_call_raises_the_handlers_exception() -> None:
    app = Recorder()
    async with open_app(app):
        with trio.fail_after(5), pytest.raises(KeyError, match="nope"):
            await app.call(fail())


async def test_wait_timeout_raises_too_slow(autojump_clock: trio.testing.MockClock) -> None:
    app = Recorder()
    async with open_app(app):
        start = trio.current_time()
        with pytest.raises(trio.TooSlowError):
            await app.wait("never_fired", timeout=30)
        assert trio.current_time() - start == pytest.approx(30)


async def test_stop_leaves_no_task_behind_with_pending_async_handler() -> None:
    cancelled = trio.Event()
    before = _all_tasks()

    class App(Component):
        handler_grace = 0.05

        async def hang(self) -> None:
            try:
                await trio.sleep_forever()
            finally:
                cancelled.set()

    app = App()
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(app.run)
            app.fire(Event.create("hang"))
            await trio.sleep(0.01)
            app.stop()
        # The nursery exited: run() returned and every task it started is gone.
    assert cancelled.is_set()
    assert not app.running
    assert _all_tasks() == before


def _all_tasks() -> set[trio.lowlevel.Task]:
    """Every task alive in this Trio run."""
    root = trio.lowlevel.current_root_task()
    assert root is not None
    found: set[trio.lowlevel.Task] = set()
    stack = [root]
    while stack:
        task = stack.pop()
        found.add(task)
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return found


async def test_fire_threadsafe_from_a_thread() -> None:
    seen: list[tuple[int, str]] = []
    done = trio.Event()

    class App(Manager):
        pass

    app = App()

    @handler("from_thread")
    def on_it(self: Manager, n: int) -> None:
        seen.append((n, threading.current_thread().name))
        if n == 99:
            done.set()

    app.addHandler(on_it)
    async with open_app(app):

        def worker() -> None:
            for n in range(100):
                app.fire_threadsafe(Event.create("from_thread", n))

        await trio.to_thread.run_sync(worker)
        with trio.fail_after(5):
            await done.wait()
    assert [n for n, _ in seen] == list(range(100))
    assert {name for _, name in seen} == {threading.current_thread().name}
