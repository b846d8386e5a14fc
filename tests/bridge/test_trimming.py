"""Streams keep only what some group still needs; inboxes keep nothing handled; the
groups of generated-name nodes that are gone stop holding the streams."""

from __future__ import annotations

import signal
import socket
import subprocess
from typing import Any

import pytest
import trio

from trio_circuits import Component, Event, Manager
from trio_circuits.bridge import RedisBridge, remote
from trio_circuits.bridge.client import GroupState
from trio_circuits.bridge.connection import RedisConnection
from trio_circuits.bridge.resp import RedisURL
from trio_circuits.bridge.trimmer import floor, is_forgotten, next_id, trim_point
from trio_circuits.testing import RedisServer

from .conftest import eventually, expect_line, spawn

FAST = 0.1  # trim_every, in these tests


class note(Event):
    """Bridged on ``jobs``."""


class ping(Event):
    """A remote call."""


class Notes(Component):
    channel = "jobs"

    def __init__(self) -> None:
        super().__init__()
        self.got: list[int] = []

    def note(self, n: int) -> None:
        self.got.append(n)


class Pong(Component):
    channel = "remote"

    def ping(self, n: int) -> int:
        return n + 1


def group(name: str = "g", last: bytes = b"5-0", pending: bytes | None = None) -> GroupState:
    return GroupState(name=name, last_delivered=last, first_pending=pending, idle_ms=10)


# -- the decisions, without Redis ---------------------------------------------------------


def test_next_id_and_floor() -> None:
    assert next_id(b"5-3") == b"5-4"
    assert next_id(b"0-0") == b"0-1"
    assert floor(group(last=b"9-1")) == b"9-2"
    # What is pending is still needed, however far the group read.
    assert floor(group(last=b"9-1", pending=b"3-7")) == b"3-7"


def test_trim_point_is_the_slowest_group() -> None:
    assert trim_point([]) is None  # nobody reads: nothing is known to be done with
    groups = [group("a", b"20-0"), group("b", b"7-2"), group("c", b"30-0", pending=b"10-0")]
    assert trim_point(groups) == b"7-3"
    # Ids compare as numbers, not as text.
    assert trim_point([group("a", b"10-0"), group("b", b"9-99")]) == b"9-100"


def test_only_silent_generated_name_groups_are_forgotten() -> None:
    def state(name: str, idle: int | None) -> GroupState:
        return GroupState(name=name, last_delivered=b"1-0", first_pending=None, idle_ms=idle)

    assert is_forgotten(state("~host-12", 5_000), 1_000, own="~host-13")
    assert not is_forgotten(state("~host-12", 500), 1_000, own="~host-13")  # still reading
    assert not is_forgotten(state("worker-1", 10**9), 1_000, own="~host-13")  # named
    assert not is_forgotten(state("~host-13", 10**9), 1_000, own="~host-13")  # ourselves
    assert not is_forgotten(state("~host-12", None), 1_000, own="~host-13")  # no reader yet


def test_a_given_node_name_cannot_look_generated() -> None:
    with pytest.raises(ValueError, match="node must be"):
        RedisBridge(node="~sneaky")
    with pytest.raises(ValueError, match="trim_every must be > 0"):
        RedisBridge(trim_every=0)
    with pytest.raises(ValueError, match="forget_after must be > 0"):
        RedisBridge(forget_after=float("nan"))


# -- against a real Redis -------------------------------------------------------------------


async def redis(server: RedisServer, *command: Any) -> Any:
    connection = await RedisConnection.open(RedisURL.parse(server.url))
    try:
        (reply,) = await connection.execute([list(command)])
        return reply
    finally:
        await connection.aclose()


async def length(server: RedisServer, key: str) -> int:
    reply: int = await redis(server, "XLEN", key)
    return reply


async def eventually_length(server: RedisServer, key: str, at_most: int) -> None:
    with trio.fail_after(10):
        while await length(server, key) > at_most:  # noqa: ASYNC110 (Redis is polled)
            await trio.sleep(0.05)


async def test_inboxes_keep_no_handled_entry(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    caller, worker = Manager(), Manager()
    RedisBridge(redis_server.url, node="caller", prefix=prefix, client=client).register(caller)
    RedisBridge(redis_server.url, node="worker", prefix=prefix, client=client).register(worker)
    Pong().register(worker)
    await app(caller)
    await app(worker)
    for n in range(50):
        value = await caller.call(remote(ping(n), "worker"), timeout=5)
        assert value.value == n + 1
    # Every request and every reply was read, handled, acknowledged: and deleted.
    await eventually_length(redis_server, f"{prefix}:node:worker", 0)
    await eventually_length(redis_server, f"{prefix}:node:caller", 0)


async def test_streams_are_trimmed_to_the_slowest_group_and_lose_nothing(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    key = f"{prefix}:channel:jobs"
    sender = Manager()
    bridge = RedisBridge(
        redis_server.url,
        node="sender",
        prefix=prefix,
        channels=("jobs",),
        client=client,
        trim_every=FAST,
    )
    bridge.register(sender)
    await app(sender)

    # A named reader that stops: what it has not read stays in the stream for it.
    async with trio.open_nursery() as nursery:
        reader = Manager()
        RedisBridge(
            redis_server.url, node="late", prefix=prefix, channels=("jobs",), client=client
        ).register(reader)
        notes = Notes()
        notes.register(reader)
        await nursery.start(reader.run)
        for n in range(100):
            sender.fire(note(n), "jobs")
        await eventually(lambda: len(notes.got) == 100)
        # All read: the stream empties (to about; MINID ~ drops whole nodes).
        await eventually_length(redis_server, key, 0)
        reader.stop()

    for n in range(100, 300):
        sender.fire(note(n), "jobs")
    await eventually(lambda: bridge.statistics()["sent"] == 300)
    rounds = bridge.statistics()["trims"]
    await eventually(lambda: bridge.statistics()["trims"] >= rounds + 3)
    assert await length(redis_server, key) == 200  # kept for "late"

    # It comes back under its name: everything it missed arrives, then goes.
    back = Manager()
    RedisBridge(
        redis_server.url, node="late", prefix=prefix, channels=("jobs",), client=client
    ).register(back)
    notes = Notes()
    notes.register(back)
    await app(back)
    await eventually(lambda: len(notes.got) == 200)
    assert notes.got == list(range(100, 300))
    await eventually_length(redis_server, key, 0)


async def test_a_generated_name_node_leaves_no_group_when_it_stops(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    key = f"{prefix}:channel:jobs"
    async with trio.open_nursery() as nursery:
        root = Manager()
        bridge = RedisBridge(redis_server.url, prefix=prefix, channels=("jobs",), client=client)
        bridge.register(root)
        await nursery.start(root.run)
        groups = await redis(redis_server, "XINFO", "GROUPS", key)
        assert [g[1] for g in groups] == [f"~{bridge.node}".encode()]
        assert await redis(redis_server, "EXISTS", bridge.config.inbox) == 1
        root.stop()
    assert await redis(redis_server, "XINFO", "GROUPS", key) == []
    assert await redis(redis_server, "EXISTS", bridge.config.inbox) == 0


async def test_the_group_of_a_killed_generated_name_node_is_forgotten(
    app: Any,
    redis_server: RedisServer,
    prefix: str,
    children: list[subprocess.Popen[str]],
    client: str,
) -> None:
    key = f"{prefix}:channel:jobs"
    doomed = spawn(redis_server.url, prefix, "-", "answer", client)
    children.append(doomed)
    await expect_line(doomed.stdout, "ready")
    survivor = Manager()
    bridge = RedisBridge(
        redis_server.url,
        node="survivor",
        prefix=prefix,
        channels=("jobs",),
        client=client,
        forget_after=1.0,
        trim_every=FAST,
    )
    bridge.register(survivor)
    await app(survivor)
    doomed.send_signal(signal.SIGKILL)
    for n in range(50):
        survivor.fire(note(n), "jobs")
    await eventually(lambda: bridge.statistics()["sent"] == 50)
    assert await length(redis_server, key) == 50  # held for the dead node, for now
    # The dead node's group is removed once its reader has been silent for
    # forget_after; then nothing holds the stream, and its inbox is gone.
    await eventually_length(redis_server, key, 0)
    groups = await redis(redis_server, "XINFO", "GROUPS", key)
    assert [g[1] for g in groups] == [b"survivor"]
    assert bridge.statistics()["forgotten"] == 1
    dead_inbox = f"{prefix}:node:{socket.gethostname()}-{doomed.pid}"
    assert await redis(redis_server, "EXISTS", dead_inbox) == 0
