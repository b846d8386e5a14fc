"""Broadcast: every node gets every event of a bridged channel, in order, never its own."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from trio_circuits import Component, Event, Manager
from trio_circuits.bridge import RedisBridge, remote
from trio_circuits.testing import RedisServer, Watcher, create_cluster

from .conftest import eventually


class hello(Event):
    """A bridged event."""


class Recorder(Component):
    channel = "remote"

    def init(self) -> None:
        self.got: list[Any] = []

    def hello(self, n: Any, **kwargs: Any) -> None:
        self.got.append(n)


def node(url: str, prefix: str, name: str, **kwargs: Any) -> tuple[Manager, RedisBridge, Recorder]:
    root = Manager()
    bridge = RedisBridge(url, node=name, prefix=prefix, **kwargs).register(root)
    recorder = Recorder().register(root)
    return root, bridge, recorder


async def test_every_node_gets_every_event_in_order(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    a, _, rec_a = node(redis_server.url, prefix, "a", client=client)
    b, _, rec_b = node(redis_server.url, prefix, "b", client=client)
    c, _, rec_c = node(redis_server.url, prefix, "c", client=client)
    watchers = [Watcher(root) for root in (a, b, c)]
    for root in (a, b, c):
        await app(root)
    for i in range(200):
        a.fire(hello(i), "remote")
        if i % 50 == 0:
            await trio.sleep(0.01)
    await eventually(lambda: len(rec_b.got) == 200 and len(rec_c.got) == 200)
    assert rec_b.got == list(range(200))
    assert rec_c.got == list(range(200))
    # a handled its own events locally, once each: never echoed back.
    await trio.sleep(0.2)
    assert rec_a.got == list(range(200))
    # The framework's own events on a bridged channel (``registered(recorder)``) stay
    # local: nothing failed to encode.
    for watcher in watchers:
        assert "exception" not in [e.name for e in watcher.seen]
        assert "registered" in [e.name for e in watcher.seen]


async def test_arguments_travel_as_json_with_bytes(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    a, _, _ = node(redis_server.url, prefix, "a", client=client)
    b, _, _ = node(redis_server.url, prefix, "b", client=client)
    await app(a)
    await app(b)
    watcher = Watcher(b)
    a.fire(hello({"k": [1, 2.5, None]}, data=b"\x00\xff"), "remote")
    event = await watcher.wait("hello")
    assert event.args == [{"k": [1, 2.5, None]}]
    assert event.kwargs == {"data": b"\x00\xff"}
    assert event.channels == ("remote",)


async def test_only_bridged_channels_travel(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    a, _, _ = node(redis_server.url, prefix, "a", channels=("remote", "jobs"), client=client)
    b, _, rec_b = node(redis_server.url, prefix, "b", channels=("remote", "jobs"), client=client)
    await app(a)
    await app(b)
    watcher = Watcher(b)
    a.fire(hello("local"), "elsewhere")
    a.fire(hello("everywhere"), "*")
    a.fire(hello("job"), "jobs")
    a.fire(hello("remote"), "remote")
    assert (await watcher.wait("hello", "jobs")).args == ["job"]
    assert (await watcher.wait("hello", "remote")).args == ["remote"]
    await trio.sleep(0.2)
    assert rec_b.got == ["remote"]
    assert [e.args for e in watcher.seen if e.name == "hello"] == []


async def test_follow_up_flags_travel_and_follow_ups_stay_local(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    a, _, _ = node(redis_server.url, prefix, "a", client=client)
    b, _, _ = node(redis_server.url, prefix, "b", client=client)
    await app(a)
    await app(b)
    watch_a, watch_b = Watcher(a), Watcher(b)
    event = hello(1)
    event.success = True
    a.fire(event, "remote")
    await watch_a.wait("hello_success")
    success = await watch_b.wait("hello_success")
    assert success.args[0].args == [1]
    await trio.sleep(0.2)
    # Each node fired its own hello_success, and none travelled.
    assert not [e for e in watch_a.seen if e.name == "hello_success"]
    assert not [e for e in watch_b.seen if e.name == "hello_success"]


async def test_a_node_that_joins_later_does_not_replay_history(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    a, bridge_a, _ = node(redis_server.url, prefix, "a", client=client)
    await app(a)
    a.fire(hello("before"), "remote")
    await eventually(lambda: bridge_a.statistics()["sent"] == 1)
    b, _, rec_b = node(redis_server.url, prefix, "b", client=client)
    await app(b)
    a.fire(hello("after"), "remote")
    await eventually(lambda: rec_b.got == ["after"])


@pytest.mark.parametrize("channels", [(), ("",), ("remote", "remote"), ("bridge",), (1,)])
def test_bad_channels_are_refused(channels: Any) -> None:
    with pytest.raises(ValueError, match="channel"):
        RedisBridge(channels=channels)


@pytest.mark.parametrize(
    "kwargs",
    [{"claim_after": 0}, {"buffer": 0}, {"batch": -1}, {"maxlen": 0}],
)
def test_bad_numbers_are_refused(kwargs: Any) -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        RedisBridge(**kwargs)


def test_bad_url_is_refused() -> None:
    with pytest.raises(ValueError, match="not a Redis URL"):
        RedisBridge("http://127.0.0.1:6379")


async def test_redis_cluster(app: Any, prefix: str) -> None:
    servers = [RedisServer(cluster=True) for _ in range(3)]
    try:
        for server in servers:
            server.start()
        await trio.to_thread.run_sync(create_cluster, servers)
        # Several channels, so that their streams land on different shards.
        channels = ("remote", "jobs", "x", "y", "z")
        a, _, _ = node(servers[0].url, prefix, "a", channels=channels, cluster=True)
        b, _, rec_b = node(servers[1].url, prefix, "b", channels=channels, cluster=True)
        await app(a)
        await app(b)
        for i in range(100):
            a.fire(hello(i), "remote")
        await eventually(lambda: len(rec_b.got) == 100)
        assert rec_b.got == list(range(100))
        value = await a.call(remote(hello("call"), "b"), timeout=5)
        assert value.value is None  # Recorder.hello returns nothing
        assert rec_b.got[-1] == "call"
    finally:
        for server in servers:
            server.close()
