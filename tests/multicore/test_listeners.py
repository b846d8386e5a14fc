"""What the workers share: TCP, UNIX and UDP listeners, ``--reuse-port`` or
``--shared-listener``, bridge nodes; how evenly bursts of connections are spread."""

from __future__ import annotations

import re
import signal
import socket
from pathlib import Path

import pytest
import trio

from trio_circuits.testing import RedisServer

from ..net.test_examples import EXAMPLES, program
from .harness import HOST, exchange, one_stream_per_worker, receive_line, supervised


async def _udp_ask(port: int, clients: int) -> set[int]:
    """Ask from ``clients`` sockets (so many source ports); the workers that answered."""
    answered: set[int] = set()
    for _ in range(clients):
        with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
            await peer.sendto(b"ping", (HOST, port))
            with trio.fail_after(10):
                reply, _ = await peer.recvfrom(65536)
            greeting, _, data = reply.partition(b"\n")
            assert data == b"ping"
            answered.add(int(greeting.split()[1]))
    return answered


async def test_tcp_tcp6_unix_and_udp_servers_in_one_tree_are_shared(tmp_path: Path) -> None:
    path = str(tmp_path / "echo.sock")
    env = {"TEST_UNIX": path}
    async with supervised("tests.multicore.apps:mixed", "--workers", "2", env=env) as sup:
        await sup.line("2 workers ready")
        assert re.search(r"listening: UnixEcho unix \S+echo.sock \(shared\)", sup.text)
        udp = re.search(r"listening: UdpEcho udp [\d.]+:(\d+) \(SO_REUSEPORT\)", sup.text)
        assert udp is not None
        for stream, _ in (await one_stream_per_worker(sup.port, 2)).values():  # both serve
            await stream.aclose()
        assert (await exchange(sup.port, b"tcp\n"))[0] in (0, 1)  # echoed
        # TCP listeners default to one SO_REUSEPORT socket per worker on Linux.
        tcp6 = re.search(r"listening: Echo6 tcp \[::1\]:(\d+) \(SO_REUSEPORT\)", sup.text)
        assert tcp6 is not None
        with trio.fail_after(10):
            stream = await trio.open_tcp_stream("::1", int(tcp6.group(1)))
            async with stream:
                assert int((await receive_line(stream)).split()[1]) in (0, 1)
                await stream.send_all(b"tcp6\n")
                assert await receive_line(stream) == b"tcp6"
        unix = set()
        for _ in range(40):
            with trio.fail_after(10):
                stream = await trio.open_unix_socket(path)
                async with stream:
                    unix.add(int((await receive_line(stream)).split()[1]))
                    await stream.send_all(b"unix\n")
                    assert await stream.receive_some(100) == b"unix\n"
        assert unix <= {0, 1}
        # One SO_REUSEPORT socket per worker: the kernel spreads senders over them.
        assert await _udp_ask(int(udp.group(1)), 40) == {0, 1}
        assert await sup.stop() == 0
    assert not Path(path).exists()  # noqa: ASYNC240 - the supervisor removed its listener


@pytest.mark.parametrize(
    ("flags", "kind"),
    [
        ((), "SO_REUSEPORT"),
        (("--reuse-port",), "SO_REUSEPORT"),
        (("--shared-listener",), "shared"),
    ],
    ids=["default", "reuse-port", "shared-listener"],
)
async def test_the_tcp_listeners_are_per_worker_or_shared_as_asked(
    flags: tuple[str, ...], kind: str
) -> None:
    async with supervised("tests.multicore.apps:echo", "--workers", "2", *flags) as sup:
        await sup.line("2 workers ready")
        assert re.search(rf"listening: Echo tcp [\d.]+:\d+ \({kind}\)", sup.text)
        served = {(await exchange(sup.port, b"ping\n"))[0] for _ in range(40)}
        assert served == {0, 1}
        assert await sup.stop(signal.SIGINT) == 0


async def _burst(port: int, count: int) -> list[int]:
    """Open ``count`` connections at once, then read each one's greeting: the indexes."""
    streams: list[trio.SocketStream] = []
    try:
        with trio.fail_after(20):
            for _ in range(count):
                streams.append(await trio.open_tcp_stream(HOST, port))
            return [int((await receive_line(s)).split()[1]) for s in streams]
    finally:
        for stream in streams:
            await stream.aclose()


async def test_bursts_of_connections_are_spread_over_the_workers() -> None:
    # All 100 connections are in the kernel's queues before either worker serves
    # one: with one shared listener the first worker to wake took nearly all of them.
    async with supervised("tests.multicore.apps:echo", "--workers", "2") as sup:
        await sup.line("2 workers ready")
        for _ in range(10):
            indexes = await _burst(sup.port, 100)
            share = indexes.count(0) / len(indexes)
            assert 0.3 <= share <= 0.7, indexes
        assert await sup.stop() == 0


async def test_each_worker_is_a_bridge_node_of_its_own() -> None:
    host = socket.gethostname()
    with RedisServer() as redis:
        for node in ("api", ""):
            env = {"TEST_REDIS": redis.url, "TEST_NODE": node, "TEST_PREFIX": f"t-{node}"}
            async with supervised(
                "tests.multicore.apps:bridged", "--workers", "2", env=env
            ) as sup:
                await sup.line("2 workers ready")
                await sup.count(r"^\[worker \d\] bridge ready$", 2)
                streams = await one_stream_per_worker(sup.port, 2)
                try:
                    names = {i: line.decode().split()[2] for i, (_, line) in streams.items()}
                    if node:  # a given name, suffixed with the worker's index
                        assert names == {0: "api-0", 1: "api-1"}
                    else:  # a generated name: the worker's own pid, then its index
                        pids = sup.ready_pids()
                        assert names == {i: f"{host}-{pids[i]}-{i}" for i in (0, 1)}
                    # A line to worker 0 is an event that worker 1 hears through Redis.
                    await streams[0][0].send_all(b"hello\n")
                    with trio.fail_after(10):
                        assert await receive_line(streams[1][0]) == b"heard hello from 0"
                finally:
                    for stream, _ in streams.values():
                        await stream.aclose()
                assert await sup.stop() == 0


async def test_the_echoserver_example_with_four_workers() -> None:
    args = (str(EXAMPLES / "echoserver.py"), "--bind", "127.0.0.1:0", "--workers", "4")
    with program(*args) as (_, address):
        port = int(address.rpartition(":")[2])
        for _ in range(8):
            with trio.fail_after(10):
                stream = await trio.open_tcp_stream(HOST, port)
                async with stream:
                    await stream.send_all(b"hello\n")
                    assert await stream.receive_some(100) == b"hello\n"
