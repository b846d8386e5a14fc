"""Timer on Trio's clock (instant under the autojump clock)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import trio
import trio.testing

from trio_circuits import Component, Event, Timer, open_app


class Ticks(Component):
    def __init__(self) -> None:
        super().__init__()
        self.at: list[float] = []

    def tick(self) -> None:
        self.at.append(trio.current_time())


async def test_one_shot_fires_once_and_unregisters(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = Ticks()
    async with open_app(app):
        start = trio.current_time()
        timer = Timer(2, Event.create("tick")).register(app)
        assert timer in app.components
        await trio.sleep(10)
        assert timer not in app.components
    assert [round(t - start, 6) for t in app.at] == [2]


async def test_persistent_timer_does_not_drift(autojump_clock: trio.testing.MockClock) -> None:
    app = Ticks()
    async with open_app(app):
        start = trio.current_time()
        Timer(0.1, Event.create("tick"), persist=True).register(app)
        await trio.sleep(1.05)
    assert [round(t - start, 6) for t in app.at] == [round(0.1 * n, 6) for n in range(1, 11)]


async def test_reset_restarts_the_countdown(autojump_clock: trio.testing.MockClock) -> None:
    app = Ticks()
    async with open_app(app):
        start = trio.current_time()
        timer = Timer(5, Event.create("tick")).register(app)
        await trio.sleep(3)
        assert timer.expiry == pytest.approx(start + 5)
        timer.reset()
        assert timer.expiry == pytest.approx(start + 8)
        await trio.sleep(3)
        timer.reset(1)
        await trio.sleep(10)
    assert [round(t - start, 6) for t in app.at] == [7]


async def test_datetime_interval(autojump_clock: trio.testing.MockClock) -> None:
    app = Ticks()
    async with open_app(app):
        start = trio.current_time()
        Timer(datetime.now() + timedelta(seconds=30), Event.create("tick")).register(app)
        await trio.sleep(60)
    assert len(app.at) == 1
    assert 29 <= app.at[0] - start <= 30.5


async def test_fires_on_given_channels(autojump_clock: trio.testing.MockClock) -> None:
    class Other(Ticks):
        channel = "other"

    app = Ticks()
    other = Other().register(app)
    async with open_app(app):
        Timer(1, Event.create("tick"), "other").register(app)
        await trio.sleep(2)
    assert len(other.at) == 1


def test_bad_arguments_raise_at_construction() -> None:
    with pytest.raises(ValueError):
        Timer(-1, Event.create("tick"))
    with pytest.raises(TypeError):
        Timer("soon", Event.create("tick"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Timer(1, "tick")  # type: ignore[arg-type]
    assert Timer(1, Event.create("tick")).expiry is None
