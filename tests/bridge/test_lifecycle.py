"""Starting, stopping, passwords, and the optional dependency."""

from __future__ import annotations

import ssl
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import coredis
import pytest
import trio
import trustme

from trio_circuits import Component, Event, Manager, open_app
from trio_circuits.bridge import RedisBridge
from trio_circuits.bridge.resp import RedisError
from trio_circuits.testing import RedisServer, Watcher

from .conftest import eventually, tls_front

# What a refused AUTH raises, per client.
REDIS_ERRORS = {"hiredis": RedisError, "coredis": coredis.exceptions.RedisError}


class job(Event):
    """Bridged."""


class Slow(Component):
    channel = "jobs"

    def init(self) -> None:
        self.done: list[int] = []

    async def job(self, n: int) -> None:
        await trio.sleep(0.3)
        self.done.append(n)


async def test_ready_fires_once_reading(
    redis_server: RedisServer, prefix: str, client: str
) -> None:
    root = Manager()
    bridge = RedisBridge(redis_server.url, prefix=prefix, client=client).register(root)
    watcher = Watcher(root)
    async with open_app(root):
        event = await watcher.wait("ready", "bridge")
        assert event.args == [bridge]
        assert bridge.connected
        assert bridge.node  # hostname-pid by default
    assert not bridge.connected


async def test_stop_finishes_taken_events_and_flushes(
    redis_server: RedisServer, prefix: str, client: str
) -> None:
    url = redis_server.url
    source = Manager()
    out = RedisBridge(url, node="source", prefix=prefix, channels=("jobs",), client=client)
    out.register(source)
    sink = Manager()
    inn = RedisBridge(url, node="sink", prefix=prefix, channels=("jobs",), client=client)
    inn.register(sink)
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
    async with coredis.Redis.from_url(url) as redis:
        summary = await redis.xpending(f"{prefix}:channel:jobs", "sink")
    assert summary.pending == 0  # type: ignore[union-attr]


async def test_stop_with_redis_gone_is_bounded(
    redis_server: RedisServer, prefix: str, client: str
) -> None:
    root = Manager()
    root.close_timeout = 1
    bridge = RedisBridge(redis_server.url, prefix=prefix, channels=("jobs",), client=client)
    bridge.register(root)
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


async def test_passwords_work_and_a_wrong_one_is_an_error(prefix: str, client: str) -> None:
    with RedisServer(password="s3cret") as server:
        good = Manager()
        RedisBridge(
            server.url, node="good", prefix=prefix, channels=("jobs",), client=client
        ).register(good)
        watcher = Watcher(good)
        async with open_app(good):
            await watcher.wait("ready", "bridge")
        bad = Manager()
        wrong = server.url.replace("s3cret", "wrong")
        RedisBridge(wrong, node="bad", prefix=prefix, channels=("jobs",), client=client).register(
            bad
        )
        watcher = Watcher(bad)
        with trio.fail_after(5):
            async with open_app(bad):
                failure = await watcher.wait("error", "bridge")
        assert isinstance(failure.args[0], REDIS_ERRORS[client])
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
        "calls": 0,
        "trims": 0,
        "forgotten": 0,
    }
    assert bridge.stream_key("a") == "trio_circuits:channel:a"
    assert bridge.dead_key == "trio_circuits:dead"


async def test_bridges_in_a_tree_start_and_stop_with_it(
    redis_server: RedisServer, prefix: str, client: str
) -> None:
    root = Manager()
    watcher = Watcher(root)
    async with open_app(root):
        bridge = RedisBridge(redis_server.url, prefix=prefix, client=client).register(root)
        await watcher.wait("ready", "bridge")
        assert bridge.connected
        bridge.unregister()
        await eventually(lambda: not bridge.connected)


@pytest.mark.parametrize("how", ["context", "url"])
async def test_rediss_urls_work(
    redis_server: RedisServer,
    prefix: str,
    server_context: ssl.SSLContext,
    client_context: ssl.SSLContext,
    ca: trustme.CA,
    tmp_path: Path,
    how: str,
    client: str,
) -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(tls_front, redis_server.port, server_context)
        url = f"rediss://127.0.0.1:{port}/0"
        options: dict[str, Any] = {"client": client}
        if how == "context":
            options["ssl_context"] = client_context
        else:
            ca_file = tmp_path / "ca.pem"
            ca.cert_pem.write_to_path(str(ca_file))
            url += f"?ssl_ca_certs={ca_file}&ssl_cert_reqs=required"
        a, b = Manager(), Manager()
        RedisBridge(url, node="a", prefix=prefix, channels=("jobs",), **options).register(a)
        RedisBridge(url, node="b", prefix=prefix, channels=("jobs",), **options).register(b)
        slow = Slow().register(b)
        async with open_app(b), open_app(a):
            a.fire(job(1), "jobs")
            await eventually(lambda: slow.done == [1])
        nursery.cancel_scope.cancel()


async def test_an_untrusted_rediss_server_is_an_error(
    redis_server: RedisServer, prefix: str, server_context: ssl.SSLContext, client: str
) -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(tls_front, redis_server.port, server_context)
        root = Manager()
        RedisBridge(f"rediss://127.0.0.1:{port}/0", prefix=prefix, client=client).register(root)
        watcher = Watcher(root)
        async with open_app(root):
            failure = await watcher.wait("error", "bridge")
        assert "CERTIFICATE_VERIFY_FAILED" in repr(failure.args[0]) or isinstance(
            failure.args[0], (ssl.SSLError, OSError, coredis.exceptions.RedisError)
        )
        assert "ready" not in [e.name for e in watcher.seen]
        nursery.cancel_scope.cancel()
