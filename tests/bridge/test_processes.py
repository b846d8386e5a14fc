"""Nodes in other processes: remote calls, SIGINT, a worker that dies, Redis restarts."""

from __future__ import annotations

import signal
import subprocess
from typing import Any

import trio

from trio_circuits import Component, Event, Manager
from trio_circuits.bridge import RedisBridge, remote
from trio_circuits.testing import RedisServer, Watcher

from .conftest import eventually, expect_line, spawn


class hello(Event):
    """Answered by the node in the other process."""


class job(Event):
    """Work for a group."""


async def test_a_node_in_another_process(
    app: Any,
    redis_server: RedisServer,
    prefix: str,
    children: list[subprocess.Popen[str]],
    client: str,
) -> None:
    child = spawn(redis_server.url, prefix, "child", "answer", client)
    children.append(child)
    await expect_line(child.stdout, "ready")
    root = Manager()
    RedisBridge(redis_server.url, node="parent", prefix=prefix, client=client).register(root)
    await app(root)
    value = await root.call(remote(hello("parent"), "child"), timeout=10)
    assert value.value == "hello parent from child"
    # SIGINT: the child stops cleanly and exits 0.
    child.send_signal(signal.SIGINT)
    with trio.fail_after(15):
        code = await trio.to_thread.run_sync(child.wait)
    assert code == 0, child.stderr.read() if child.stderr else ""


async def test_jobs_of_a_worker_that_died_go_to_another(
    app: Any,
    redis_server: RedisServer,
    prefix: str,
    children: list[subprocess.Popen[str]],
    client: str,
) -> None:
    doomed = spawn(redis_server.url, prefix, "doomed", "hang", client)
    children.append(doomed)
    await expect_line(doomed.stdout, "ready")
    source = Manager()
    RedisBridge(
        redis_server.url, node="source", prefix=prefix, channels=("jobs",), client=client
    ).register(source)
    await app(source)
    for n in range(3):
        source.fire(job(n), "jobs")
    for _ in range(3):
        await expect_line(doomed.stdout, "took")
    doomed.kill()

    class Survivor(Component):
        channel = "jobs"

        def init(self) -> None:
            self.done: list[int] = []

        def job(self, n: int) -> None:
            self.done.append(n)

    heir = Manager()
    RedisBridge(
        redis_server.url,
        node="heir",
        prefix=prefix,
        channels=("jobs",),
        group="workers",
        claim_after=0.5,
        client=client,
    ).register(heir)
    survivor = Survivor().register(heir)
    await app(heir)
    await eventually(lambda: sorted(survivor.done) == [0, 1, 2])
    source.fire(job(3), "jobs")
    await eventually(lambda: sorted(survivor.done) == [0, 1, 2, 3])


class Results(Component):
    channel = "results"

    def init(self) -> None:
        self.got: list[int] = []

    def done(self, n: int, node: str) -> None:
        self.got.append(n)


async def test_nothing_is_lost_when_redis_restarts(
    app: Any,
    redis_server: RedisServer,
    prefix: str,
    children: list[subprocess.Popen[str]],
    client: str,
) -> None:
    child = spawn(redis_server.url, prefix, "child", "answer", client)
    children.append(child)
    await expect_line(child.stdout, "ready")
    root = Manager()
    bridge = RedisBridge(
        redis_server.url,
        node="parent",
        prefix=prefix,
        channels=("jobs", "results"),
        client=client,
    ).register(root)
    results = Results().register(root)
    watcher = Watcher(root)
    await app(root)
    # The child turns each job into a result; a restart cuts both directions.
    for n in range(400):
        root.fire(job(n), "jobs")
        if n == 150:
            # Down until the bridge noticed (coredis hides an outage of a few ms).
            await trio.to_thread.run_sync(redis_server.kill)
            await eventually(lambda: not bridge.connected)
            await trio.to_thread.run_sync(redis_server.start)
        await trio.sleep(0.002)
    await eventually(lambda: set(results.got) == set(range(400)), seconds=30)
    assert isinstance((await watcher.wait("error", "bridge")).args[0], Exception)
    await watcher.wait("ready", "bridge")  # reconnected
    # At least once, in order per node: duplicates only re-send what a cut pipeline sent.
    firsts = list(dict.fromkeys(results.got))
    assert firsts == sorted(firsts)
    assert bridge.statistics()["buffered"] == 0
