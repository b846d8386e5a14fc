"""Work queues, acknowledgement after handling, batching, bad entries, buffering."""

from __future__ import annotations

from typing import Any

import coredis
import pytest
import trio

from trio_circuits import Component, Event, Manager
from trio_circuits.bridge import RedisBridge
from trio_circuits.testing import RedisServer, Watcher

from .conftest import eventually


class job(Event):
    """A unit of work."""


class Worker(Component):
    channel = "jobs"

    def init(self, delay: float = 0) -> None:
        self.delay = delay
        self.done: list[int] = []

    async def job(self, n: int) -> None:
        await trio.sleep(self.delay)
        self.done.append(n)


def worker(
    url: str, prefix: str, name: str, client: str, delay: float = 0, **kwargs: Any
) -> Manager:
    root = Manager()
    RedisBridge(
        url, node=name, prefix=prefix, channels=("jobs",), client=client, **kwargs
    ).register(root)
    Worker(delay=delay).register(root)
    return root


def producer(url: str, prefix: str, client: str, **kwargs: Any) -> tuple[Manager, RedisBridge]:
    root = Manager()
    bridge = RedisBridge(
        url, node="producer", prefix=prefix, channels=("jobs",), client=client, **kwargs
    )
    bridge.register(root)
    return root, bridge


def done_by(root: Manager) -> list[int]:
    return next(c for c in root.components if isinstance(c, Worker)).done


async def pending(url: str, key: str, group: str) -> int:
    async with coredis.Redis.from_url(url) as client:
        summary = await client.xpending(key, group)
        return int(summary.pending)  # type: ignore[union-attr]


async def test_a_group_shares_the_work(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    url = redis_server.url
    w1 = worker(url, prefix, "w1", client, delay=0.001, group="workers")
    w2 = worker(url, prefix, "w2", client, delay=0.001, group="workers")
    source, _ = producer(url, prefix, client)
    for root in (w1, w2, source):
        await app(root)
    for n in range(300):
        source.fire(job(n), "jobs")
    await eventually(lambda: len(done_by(w1)) + len(done_by(w2)) == 300)
    await trio.sleep(0.2)
    assert sorted(done_by(w1) + done_by(w2)) == list(range(300))  # each exactly once
    assert done_by(w1)
    assert done_by(w2)


async def test_a_work_queue_keeps_jobs_until_a_worker_comes(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    url = redis_server.url
    # The group exists (a worker ran once), then jobs are queued with no worker.
    first = worker(url, prefix, "w1", client, group="workers")
    await app(first)
    first.stop()
    source, bridge = producer(url, prefix, client)
    await app(source)
    for n in range(10):
        source.fire(job(n), "jobs")
    await eventually(lambda: bridge.statistics()["sent"] == 10)
    late = worker(url, prefix, "w2", client, group="workers")
    await app(late)
    await eventually(lambda: sorted(done_by(late)) == list(range(10)))


async def test_entries_are_acknowledged_after_async_handlers_finish(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    url = redis_server.url
    slow = worker(url, prefix, "w1", client, delay=0.5, group="workers")
    source, _ = producer(url, prefix, client)
    await app(slow)
    await app(source)
    key = f"{prefix}:channel:jobs"
    source.fire(job(1), "jobs")
    await eventually(lambda: bridge_of(slow).statistics()["received"] == 1)
    assert await pending(url, key, "workers") == 1
    assert done_by(slow) == []
    await eventually(lambda: done_by(slow) == [1])
    await eventually(lambda: bridge_of(slow).statistics()["acked"] == 1)
    assert await pending(url, key, "workers") == 0


def bridge_of(root: Manager) -> RedisBridge:
    return next(c for c in root.components if isinstance(c, RedisBridge))


async def test_one_dispatcher_batch_is_one_pipeline(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    class burst(Event):
        pass

    class Burst(Component):
        def burst(self) -> None:
            for n in range(100):
                self.fire(job(n), "jobs")

    source, bridge = producer(redis_server.url, prefix, client)
    Burst().register(source)
    sink = worker(redis_server.url, prefix, "sink", client)
    await app(source)
    await app(sink)
    await source.call(burst())
    await eventually(lambda: bridge.statistics()["sent"] == 100)
    # One pipeline per dispatcher pass: a fair dispatcher lets the woken flusher run
    # after at most 32 events, so the 100 go out in a few pipelines, never one each.
    assert bridge.statistics()["batches"] <= 4
    await eventually(lambda: sorted(done_by(sink)) == list(range(100)))


@pytest.mark.parametrize(
    "fields",
    [
        {b"n": b"intruder", b"e": b"\xff\xfe not json"},
        {b"n": b"intruder", b"e": b'{"name": "no such thing!", "args": []}'},
        {b"n": b"intruder", b"e": b'{"name": "job", "args": {"not": "a list"}}'},
        {b"n": b"intruder", b"e": b"[1, 2, 3]"},
        {b"garbage": b"entry"},
    ],
)
async def test_a_malformed_entry_goes_to_the_dead_stream(
    app: Any, redis_server: RedisServer, prefix: str, fields: dict[bytes, bytes], client: str
) -> None:
    url = redis_server.url
    sink = worker(url, prefix, "sink", client)
    await app(sink)
    watcher = Watcher(sink)
    key = f"{prefix}:channel:jobs"
    async with coredis.Redis.from_url(url) as redis:
        bad_id = await redis.xadd(key, fields)
        report = await watcher.wait("error", "bridge")
        assert isinstance(report.args[0], (ValueError, KeyError))
        await eventually(lambda: bridge_of(sink).statistics()["acked"] == 1)
        assert await pending(url, key, "sink") == 0
        await eventually(lambda: bridge_of(sink).statistics()["sent"] == 1)
        dead = await redis.xrange(f"{prefix}:dead")
        assert len(dead) == 1
        copy = dead[0].field_values
        assert copy[b"stream"] == key.encode()
        assert copy[b"id"] == bad_id
        assert all(copy[k] == v for k, v in fields.items())
        # The bridge keeps running.
        await redis.xadd(key, {b"n": b"intruder", b"e": b'{"name":"job","args":[7]}'})
    await eventually(lambda: done_by(sink) == [7])


async def test_events_wait_while_redis_is_away(app: Any, prefix: str, client: str) -> None:
    server = RedisServer(aof=True)
    try:
        source, bridge = producer(server.url, prefix, client, buffer=50)
        watcher = Watcher(source)
        with trio.fail_after(5):
            await app(source)  # Redis is not there: the application starts anyway
        failure = await watcher.wait("error", "bridge")
        assert isinstance(failure.args[0], (OSError, coredis.exceptions.RedisError))
        for n in range(50):
            source.fire(job(n), "jobs")
        with pytest.raises(BufferError):
            await source.call(job(50), "jobs")
        assert bridge.statistics()["buffered"] == 50
        await trio.to_thread.run_sync(server.start)
        await watcher.wait("ready", "bridge", timeout=10)
        await eventually(lambda: bridge.statistics()["sent"] == 50)
        async with coredis.Redis.from_url(server.url) as redis:
            entries = await redis.xrange(f"{prefix}:channel:jobs")
        assert [e.field_values[b"e"] for e in entries] == [
            f'{{"name":"job","args":[{n}],"channels":["jobs"]}}'.encode() for n in range(50)
        ]
    finally:
        server.close()
