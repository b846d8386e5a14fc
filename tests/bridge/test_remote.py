"""Remote calls: values come back, errors raise RemoteError, silence raises TooSlowError."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from trio_circuits import Component, Event, Manager
from trio_circuits.bridge import RedisBridge, RemoteError, remote
from trio_circuits.testing import RedisServer, Watcher

from .conftest import eventually


class hello(Event):
    """Answered by the worker."""


class boom(Event):
    """Raises in the worker."""


class slow(Event):
    """Answered after a while, by an async handler."""


class unanswerable(Event):
    """Returns something JSON cannot hold."""


class Worker(Component):
    channel = "remote"

    def hello(self, name: str) -> str:
        return f"hello {name}"

    def boom(self) -> None:
        raise KeyError("no such thing")

    async def slow(self, seconds: float) -> str:
        await trio.sleep(seconds)
        return "finally"

    def unanswerable(self) -> object:
        return object()


class Other(Component):
    channel = "jobs"

    def hello(self, name: str) -> str:
        return f"jobs says hello {name}"


async def pair(app: Any, url: str, prefix: str, client: str) -> tuple[Manager, Manager]:
    caller = Manager()
    RedisBridge(url, node="caller", prefix=prefix, client=client).register(caller)
    worker = Manager()
    RedisBridge(
        url, node="worker-1", prefix=prefix, channels=("remote", "jobs"), client=client
    ).register(worker)
    Worker().register(worker)
    Other().register(worker)
    await app(caller)
    await app(worker)
    return caller, worker


async def test_call_returns_the_remote_value(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    caller, _ = await pair(app, redis_server.url, prefix, client)
    value = await caller.call(remote(hello("you"), "worker-1"), timeout=5)
    assert value.value == "hello you"
    value = await caller.call(remote(hello("you"), "worker-1", channel="jobs"), timeout=5)
    assert value.value == "jobs says hello you"


async def test_async_remote_handlers_are_awaited(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    caller, _ = await pair(app, redis_server.url, prefix, client)
    value = await caller.call(remote(slow(0.2), "worker-1"), timeout=5)
    assert value.value == "finally"


async def test_calls_run_concurrently(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    caller, _ = await pair(app, redis_server.url, prefix, client)
    results: list[str] = []

    async def one(i: int) -> None:
        results.append((await caller.call(remote(hello(str(i)), "worker-1"), timeout=5)).value)

    with trio.fail_after(3):  # 20 calls of 0.3 s each would take 6 s one after another
        async with trio.open_nursery() as nursery:
            for i in range(20):
                nursery.start_soon(one, i)
            nursery.start_soon(caller.call, remote(slow(0.3), "worker-1"))
    assert sorted(results) == sorted(f"hello {i}" for i in range(20))


async def test_a_remote_error_raises_remote_error(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    caller, _ = await pair(app, redis_server.url, prefix, client)
    with pytest.raises(RemoteError) as info:
        await caller.call(remote(boom(), "worker-1"), timeout=5)
    assert info.value.type_name == "KeyError"
    assert "no such thing" in info.value.message
    assert "raise KeyError" in info.value.traceback
    assert str(info.value).startswith("KeyError: ")
    # Both applications keep running.
    value = await caller.call(remote(hello("again"), "worker-1"), timeout=5)
    assert value.value == "hello again"


async def test_a_result_that_cannot_travel_raises_remote_error(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    caller, _ = await pair(app, redis_server.url, prefix, client)
    with pytest.raises(RemoteError) as info:
        await caller.call(remote(unanswerable(), "worker-1"), timeout=5)
    assert info.value.type_name == "TypeError"


async def test_no_answer_raises_too_slow(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    caller, _ = await pair(app, redis_server.url, prefix, client)
    with trio.fail_after(3), pytest.raises(trio.TooSlowError):
        await caller.call(remote(hello("nobody"), "no-such-node"), timeout=0.3)
    with trio.fail_after(3), pytest.raises(trio.TooSlowError):
        await caller.call(remote(slow(1), "worker-1"), timeout=0.3)


async def test_call_timeout_bounds_calls_whoever_waits(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    # A caller that waits without a timeout, and callers that gave up: after the
    # bridge's call_timeout nothing is left waiting for a node that never answers.
    caller = Manager()
    bridge = RedisBridge(
        redis_server.url, node="caller", prefix=prefix, client=client, call_timeout=0.5
    )
    bridge.register(caller)
    await app(caller)
    for _ in range(20):
        with pytest.raises(trio.TooSlowError):
            await caller.call(remote(hello("x"), "gone"), timeout=0.01)
    assert bridge.statistics()["calls"] == 20
    started = trio.current_time()
    with trio.fail_after(3), pytest.raises(trio.TooSlowError, match="'gone' did not answer"):
        await caller.call(remote(hello("nobody"), "gone"))
    assert 0.4 < trio.current_time() - started < 2
    await eventually(lambda: bridge.statistics()["calls"] == 0, seconds=3)


async def test_an_event_the_codec_cannot_encode_fails_in_the_caller(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    caller, _ = await pair(app, redis_server.url, prefix, client)
    watcher = Watcher(caller)
    with pytest.raises(TypeError, match="not JSON serialisable"):
        await caller.call(remote(hello(object()), "worker-1"), timeout=5)
    with pytest.raises(TypeError, match="not JSON serialisable"):
        await caller.call(hello(object()), "remote")
    report = await watcher.wait("exception")
    assert report.args[0] is TypeError
    # Nothing was sent.
    bridge = next(c for c in caller.components if isinstance(c, RedisBridge))
    assert bridge.statistics()["buffered"] == 0
