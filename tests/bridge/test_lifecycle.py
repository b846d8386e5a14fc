"""Starting, stopping, passwords, and the optional dependency."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import coredis
import trio

from trio_circuits import Component, Event, Manager, open_app
from trio_circuits.bridge import RedisBridge
from trio_circuits.testing import RedisServer, Watcher

from .conftest import eventually


class job(Event):
    """Bridged."""


class Slow(Component):
    channel = "jobs"

    def init(self) -> None:
        self.done: list[int] = []

    async def job(self, n: int) -> None:
        await trio.sleep(0.3)
        self.done.append(n)


async def test_ready_fires_once_reading(redis_server: RedisServer, prefix: str) -> None:
    root = Manager()
    bridge = RedisBridge(redis_server.url, prefix=prefix).register(root)
    watcher = Watcher(root)
    async with open_app(root):
        event = await watcher.wait("ready", "bridge")
        assert event.args == [bridge]
        assert bridge.connected
        assert bridge.node  # hostname-pid by default
    assert not bridge.connected


async def test_stop_finishes_taken_events_and_flushes(
    redis_server: RedisServer, prefix: str
) -> None:
    url = redis_server.url
    source = Manager()
    out = RedisBridge(url, node="source", prefix=prefix, channels=("jobs",)).register(source)
    sink = Manager()
    inn = RedisBridge(url, node="sink", prefix=prefix, channels=("jobs",)).register(sink)
    slow = Slow().register(sink)
    async with open_app(sink):
        async with open_app(source):
            for n in range(5):
                source.fire(job(n), "jobs")
        # The source's stop sent everything it had.
        assert out.statistics()["sent"] == 5
        await eventually(lambda: inn.statistics()["received"] == 5)
    # The sink's stop let the handlers finish and acknowledged them.
    assert sorted(slow.done) == list(range(5))
    assert inn.statistics()["acked"] == 5
    async with coredis.Redis.from_url(url) as client:
        summary = await client.xpending(f"{prefix}:channel:jobs", "sink")
    assert summary.pending == 0  # type: ignore[union-attr]


async def test_stop_with_redis_gone_is_bounded(redis_server: RedisServer, prefix: str) -> None:
    root = Manager()
    root.close_timeout = 1  # type: ignore[attr-defined]
    bridge = RedisBridge(redis_server.url, prefix=prefix, channels=("jobs",)).register(root)
    watcher = Watcher(root)
    with trio.fail_after(5):
        async with open_app(root):
            redis_server.kill()
            await eventually(lambda: not bridge.connected)
            root.fire(job(1), "jobs")
    assert bridge.statistics()["buffered"] == 1
    # Reported, not silently dropped.
    reports = [str(e.args[0]) for e in watcher.seen if e.name == "error"]
    assert "1 entries were not sent to Redis" in reports


async def test_passwords_work_and_a_wrong_one_is_an_error(prefix: str) -> None:
    with RedisServer(password="s3cret") as server:
        good = Manager()
        RedisBridge(server.url, node="good", prefix=prefix, channels=("jobs",)).register(good)
        watcher = Watcher(good)
        async with open_app(good):
            await watcher.wait("ready", "bridge")
        bad = Manager()
        wrong = server.url.replace("s3cret", "wrong")
        RedisBridge(wrong, node="bad", prefix=prefix, channels=("jobs",)).register(bad)
        watcher = Watcher(bad)
        with trio.fail_after(5):
            async with open_app(bad):
                failure = await watcher.wait("error", "bridge")
        assert isinstance(failure.args[0], coredis.exceptions.RedisError)
        assert "ready" not in [e.name for e in watcher.seen]


def test_without_coredis_the_import_error_names_the_extra() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["coredis"] = None
        try:
            import trio_circuits.bridge
        except ImportError as exc:
            print(exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "trio-circuits[redis]" in out


def test_statistics_start_at_zero() -> None:
    bridge = RedisBridge(channels=("a", "b"))
    assert bridge.statistics() == {
        "sent": 0,
        "batches": 0,
        "received": 0,
        "acked": 0,
        "dead": 0,
        "buffered": 0,
        "in_flight": 0,
    }
    assert bridge.stream_key("a") == "trio_circuits:channel:a"
    assert bridge.dead_key == "trio_circuits:dead"


async def test_bridges_in_a_tree_start_and_stop_with_it(
    redis_server: RedisServer, prefix: str
) -> None:
    root = Manager()
    watcher = Watcher(root)
    async with open_app(root):
        bridge = RedisBridge(redis_server.url, prefix=prefix).register(root)
        await watcher.wait("ready", "bridge")
        assert bridge.connected
        bridge.unregister()
        await eventually(lambda: not bridge.connected)
