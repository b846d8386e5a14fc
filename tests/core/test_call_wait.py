"""call() and wait(): values, timeouts, names, instances, channels."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trio_circuits import Component, Event, Manager, open_app


class foo(Event):
    """foo Event"""


class slow(Event):
    """Handled slowly."""


class App(Component):
    def foo(self, x: int = 0) -> int:
        return x

    async def slow(self) -> str:
        await trio.sleep(1)
        return "done"


async def test_call_waits_for_async_handlers(autojump_clock: trio.testing.MockClock) -> None:
    app = App()
    async with open_app(app):
        start = trio.current_time()
        v = await app.call(slow())
        assert v.value == "done"
        assert trio.current_time() - start == pytest.approx(1)


async def test_call_timeout(autojump_clock: trio.testing.MockClock) -> None:
    app = App()
    async with open_app(app):
        event = slow()
        with pytest.raises(trio.TooSlowError):
            await app.call(event, timeout=0.5)
        # The timeout cancelled the caller's wait, not the event's handlers.
        assert event.value is not None
        assert await event.value.wait() == "done"


async def test_wait_by_name_matches_an_event_still_queued() -> None:
    app = App()
    async with open_app(app):
        fired = app.fire(foo(7))
        got = await app.wait("foo", timeout=5)
        assert got is fired
        assert got.value == 7


async def test_wait_by_instance() -> None:
    app = App()
    async with open_app(app):
        first, second = foo(1), foo(2)
        app.fire(first)
        app.fire(second)
        got = await app.wait(second, timeout=5)
        assert got.value == 2
        # Already handled: returns at once.
        with trio.fail_after(1):
            again = await app.wait(first)
        assert again.value == 1


async def test_wait_channels_default_to_the_waiters_channel() -> None:
    class Side(Component):
        channel = "side"

    m = Manager()
    side = Side().register(m)
    app = App().register(m)
    async with open_app(m):

        async def waiter(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            task_status.started()
            await side.wait("foo", timeout=5)
            got.append("side")

        got: list[str] = []
        async with trio.open_nursery() as nursery:
            await nursery.start(waiter)
            m.fire(foo(), "elsewhere")
            await trio.sleep(0.05)
            assert got == []
            m.fire(foo(), "side")
        assert got == ["side"]
        assert app.running


async def test_callEvent_and_waitEvent_aliases() -> None:
    app = App()
    async with open_app(app):
        assert (await app.callEvent(foo(3))).value == 3
        app.fireEvent(foo(4))
        assert (await app.waitEvent("foo", timeout=5)).value == 4
