"""Fixtures for the bridge tests: a real redis-server per test, unique key prefixes."""

from __future__ import annotations

import contextlib
import os
import ssl
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
import trio

from trio_circuits.testing import RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A throwaway redis-server on a free loopback port (AOF on, so restarts keep data)."""
    with RedisServer(aof=True) as server:
        yield server


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


async def eventually(check: Callable[[], bool], seconds: float = 10) -> None:
    """Wait until ``check()`` is true: polled every 10 ms, at most ``seconds``.

    Polling, because what is checked lives in Redis or in counters no event reports.
    """
    with trio.fail_after(seconds):
        while not check():  # noqa: ASYNC110
            await trio.sleep(0.01)


@pytest.fixture(params=["hiredis", "coredis"])
def client(request: pytest.FixtureRequest) -> str:
    """Which Redis client the bridges of a test use: every bridge test runs on both."""
    name: str = request.param
    return name


async def tls_front(
    redis_port: int, context: ssl.SSLContext, *, task_status: trio.TaskStatus[int]
) -> None:
    """A real TLS endpoint in front of the plaintext redis-server (its binary has no TLS).

    ``port = await nursery.start(tls_front, redis_port, server_context)``.
    """

    async def pump(source: trio.abc.Stream, sink: trio.abc.Stream) -> None:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            while data := await source.receive_some(65536):
                await sink.send_all(data)
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await sink.aclose()

    async def serve(client: trio.SSLStream[trio.SocketStream]) -> None:
        backend = await trio.open_tcp_stream("127.0.0.1", redis_port)
        async with backend, trio.open_nursery() as nursery:
            nursery.start_soon(pump, client, backend)
            nursery.start_soon(pump, backend, client)

    listeners = await trio.open_ssl_over_tcp_listeners(0, context, host="127.0.0.1")
    transport = listeners[0].transport_listener
    assert isinstance(transport, trio.SocketListener)
    port: int = transport.socket.getsockname()[1]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, serve, listeners)
        task_status.started(port)


SCRIPT = Path(__file__).with_name("node_main.py")


def spawn(url: str, prefix: str, node: str, mode: str, client: str) -> subprocess.Popen[str]:
    """Start ``node_main.py`` in a child process (``node="-"``: a generated name)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), url, prefix, node, mode, client],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


async def expect_line(stream: IO[str] | None, wanted: str, seconds: float = 20) -> str:
    """Read lines from a child's stdout (in a thread) until one starts with ``wanted``."""
    assert stream is not None

    def read() -> str:
        for _ in range(1_000):
            line = stream.readline()
            if not line or line.startswith(wanted):
                return line
        return ""

    with trio.fail_after(seconds):
        line = await trio.to_thread.run_sync(read, abandon_on_cancel=True)
    assert line.startswith(wanted), f"expected {wanted!r}, got {line!r}"
    return line


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    """The child processes a test started: killed (if still running) after it."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
