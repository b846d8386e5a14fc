"""The lean client's Trio connection against a real redis-server: AUTH, SELECT, UNIX
sockets, TLS, failures and cancellation."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
import trustme

from trio_circuits import Component, Event, Manager, open_app
from trio_circuits.bridge import RedisBridge, remote
from trio_circuits.bridge.connection import PipelinedConnection, RedisConnection
from trio_circuits.bridge.hiredis_client import HiredisBackend
from trio_circuits.bridge.resp import ConnectionLost, Conversation, RedisURL, ReplyError
from trio_circuits.bridge.transport import Transport
from trio_circuits.testing import RedisServer

from .conftest import eventually, tls_front


async def connect(url: str, **kwargs: Any) -> RedisConnection:
    with trio.fail_after(5):
        return await RedisConnection.open(RedisURL.parse(url), **kwargs)


async def test_commands_and_pipelines(redis_server: RedisServer) -> None:
    connection = await connect(redis_server.url)
    try:
        assert await connection.execute([["PING"]]) == [b"PONG"]
        replies = await connection.execute([["SET", "k", "v"], ["NOPE"], ["GET", "k"]])
        assert replies[0] == b"OK"
        assert isinstance(replies[1], ReplyError)
        assert replies[2] == b"v"
        # A reply larger than one read.
        big = b"x" * 300_000
        assert await connection.execute([["SET", "big", big], ["GET", "big"]]) == [b"OK", big]
    finally:
        await connection.aclose()
    assert not connection.usable


async def test_select_picks_the_database(redis_server: RedisServer) -> None:
    three = await connect(redis_server.url.replace("/0", "/3"))
    zero = await connect(redis_server.url)
    try:
        await three.execute([["SET", "where", "three"]])
        assert await zero.execute([["GET", "where"]]) == [None]
        assert await three.execute([["GET", "where"]]) == [b"three"]
    finally:
        await three.aclose()
        await zero.aclose()


async def test_passwords_and_acl_users() -> None:
    with RedisServer(password="s3cret") as server:
        admin = await connect(server.url)
        try:
            reply = await admin.execute(
                [["ACL", "SETUSER", "alice", "on", ">wonder", "~*", "+@all"]]
            )
            assert reply == [b"OK"]
        finally:
            await admin.aclose()
        alice = await connect(f"redis://alice:wonder@127.0.0.1:{server.port}/1")
        try:
            assert await alice.execute([["ACL", "WHOAMI"]]) == [b"alice"]
        finally:
            await alice.aclose()
        with pytest.raises(ReplyError, match="WRONGPASS"):
            await connect(f"redis://alice:nope@127.0.0.1:{server.port}/0")
        with pytest.raises(ReplyError, match=r"WRONGPASS|invalid password"):
            await connect(server.url.replace("s3cret", "wrong"))
        anonymous = await connect(f"redis://127.0.0.1:{server.port}/0")
        try:
            (reply,) = await anonymous.execute([["PING"]])
            assert isinstance(reply, ReplyError)
            assert str(reply).startswith("NOAUTH")
        finally:
            await anonymous.aclose()


async def test_unix_sockets(redis_server: RedisServer) -> None:
    connection = await connect(redis_server.unix_url)
    try:
        assert await connection.execute([["PING"]]) == [b"PONG"]
    finally:
        await connection.aclose()


async def test_tls(
    redis_server: RedisServer,
    server_context: ssl.SSLContext,
    client_context: ssl.SSLContext,
    ca: trustme.CA,
    tmp_path: Path,
) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    async with trio.open_nursery() as nursery:
        port = await nursery.start(tls_front, redis_server.port, server_context)
        url = f"rediss://127.0.0.1:{port}/2"
        by_context = await connect(url, ssl_context=client_context)
        by_url = await connect(f"{url}?ssl_ca_certs={ca_file}&ssl_cert_reqs=required")
        try:
            await by_context.execute([["SET", "secure", "yes"]])
            assert await by_url.execute([["GET", "secure"]]) == [b"yes"]
        finally:
            await by_context.aclose()
            await by_url.aclose()
        with pytest.raises(ConnectionLost, match="CERTIFICATE_VERIFY_FAILED"):
            await connect(url)  # the system's CAs do not know trustme's
        nursery.cancel_scope.cancel()


async def test_a_cancelled_command_closes_the_connection(redis_server: RedisServer) -> None:
    blocked = await connect(redis_server.url)
    other = await connect(redis_server.url)
    try:
        with trio.move_on_after(0.2) as scope:
            await blocked.execute([["BLPOP", "queue", 0]])
        assert scope.cancelled_caught
        assert not blocked.usable
        # Its reply can never be read as the next command's: there is no next command.
        with pytest.raises(ConnectionLost, match="reconnect"):
            await blocked.execute([["GET", "queue"]])
        # Redis dropped the blocked client with the socket: nobody pops what comes.
        with trio.fail_after(5):
            while True:
                (clients,) = await other.execute([["INFO", "clients"]])
                if b"blocked_clients:0" in clients:
                    break
                await trio.sleep(0.01)
        assert await other.execute([["RPUSH", "queue", "job"], ["LLEN", "queue"]]) == [1, 1]
    finally:
        await blocked.aclose()
        await other.aclose()


async def test_a_server_that_dies_is_connection_lost(redis_server: RedisServer) -> None:
    connection = await connect(redis_server.url)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.to_thread.run_sync, redis_server.kill)
            with trio.fail_after(5), pytest.raises(ConnectionLost):
                await connection.execute([["BLPOP", "never", 0]])
    finally:
        await connection.aclose()
    with pytest.raises(OSError):  # refused
        await connect(redis_server.url)


async def test_a_silent_server_times_out() -> None:
    with socket.socket() as listener:  # accepts (the kernel does) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        config = RedisBridge(f"rediss://127.0.0.1:{port}/0", connect_timeout=0.3).config
        backend = HiredisBackend(config)
        with trio.fail_after(5), pytest.raises(ConnectionLost, match=r"in 0\.3 s"):
            await backend.open_connection()


class job(Event):
    """Bridged."""


class Jobs(Component):
    channel = "jobs"

    def init(self) -> None:
        self.done: list[int] = []

    def job(self, n: int) -> None:
        self.done.append(n)


async def test_bridges_over_unix_sockets_with_acl_users_and_databases(
    prefix: str, client: str
) -> None:
    with RedisServer(password="s3cret") as server:
        admin = await connect(server.url)
        try:
            await admin.execute([["ACL", "SETUSER", "bob", "on", ">builder", "~*", "+@all"]])
        finally:
            await admin.aclose()
        tcp = f"redis://bob:builder@127.0.0.1:{server.port}/4"
        unix = f"unix://bob:builder@{server.unix_path}?db=4"
        a, b = Manager(), Manager()
        RedisBridge(tcp, node="a", prefix=prefix, channels=("jobs",), client=client).register(a)
        RedisBridge(unix, node="b", prefix=prefix, channels=("jobs",), client=client).register(b)
        jobs = Jobs().register(b)
        async with open_app(b), open_app(a):
            for n in range(20):
                a.fire(job(n), "jobs")
            await eventually(lambda: jobs.done == list(range(20)))
        check = await connect(f"redis://bob:builder@127.0.0.1:{server.port}/4")
        try:
            assert await check.execute([["XLEN", f"{prefix}:channel:jobs"]]) == [20]
        finally:
            await check.aclose()


class blob(Event):
    """A large bridged event."""


class Blobs(Component):
    channel = "jobs"

    def init(self) -> None:
        self.got: list[tuple[int, int]] = []

    def blob(self, n: int, data: bytes) -> None:
        self.got.append((n, len(data)))


async def test_writes_larger_than_the_socket_takes_at_once(
    redis_server: RedisServer, prefix: str, client: str
) -> None:
    # 6 MiB of bytes is 8 MiB of JSON: more than a socket's send buffer, so the
    # rest of the write goes out later, before what was written after it.
    big = bytes(range(256)) * (6 * 4096)
    a, b = Manager(), Manager()
    sender = RedisBridge(
        redis_server.url, node="a", prefix=prefix, channels=("jobs",), client=client
    ).register(a)
    RedisBridge(
        redis_server.url, node="b", prefix=prefix, channels=("jobs",), client=client
    ).register(b)
    blobs = Blobs().register(b)
    async with open_app(b), open_app(a):
        a.fire(blob(0, big), "jobs")
        for n in range(1, 4):
            a.fire(blob(n, b"small"), "jobs")
        a.fire(blob(4, big), "jobs")
        await eventually(lambda: len(blobs.got) == 5, seconds=30)
        assert blobs.got == [(0, len(big)), (1, 5), (2, 5), (3, 5), (4, len(big))]
        await eventually(lambda: sender.statistics()["buffered"] == 0)


class hello(Event):
    """Answered remotely."""


class Answer(Component):
    channel = "remote"

    def hello(self) -> str:
        return "hi"


async def test_a_lone_request_and_its_reply_are_confirmed_soon(
    redis_server: RedisServer, prefix: str, client: str
) -> None:
    # Confirmations are read lazily (with the next write), but not for ever.
    caller, callee = Manager(), Manager()
    mine = RedisBridge(redis_server.url, node="caller", prefix=prefix, client=client)
    mine.register(caller)
    theirs = RedisBridge(redis_server.url, node="callee", prefix=prefix, client=client)
    theirs.register(callee)
    Answer().register(callee)
    async with open_app(callee), open_app(caller):
        value = await caller.call(remote(hello(), "callee"), timeout=5)
        assert value.value == "hi"
        await eventually(lambda: mine.statistics()["buffered"] == 0, seconds=2)
        await eventually(lambda: theirs.statistics()["buffered"] == 0, seconds=2)
        await eventually(lambda: mine.statistics()["in_flight"] == 0, seconds=2)
        await eventually(lambda: theirs.statistics()["in_flight"] == 0, seconds=2)
        assert mine.statistics()["sent"] == 1  # the request
        assert theirs.statistics()["sent"] == 1  # the reply


async def test_bytes_written_while_the_rest_of_a_write_drains_wait_behind_it() -> None:
    # A peer that reads slowly: the big write is half in the socket, half waiting;
    # a small write made while the socket has room again must not overtake it.
    near, far = socket.socketpair()
    with near, far:
        trio.socket.from_stdlib_socket(near)  # non-blocking, as the transport needs
        far.setblocking(False)
        connection = PipelinedConnection(Transport(near, None), Conversation())
        big = b"B" * 8_000_000
        got = bytearray()

        def read_some(limit: int) -> None:
            while len(got) < limit:
                try:
                    chunk = far.recv(1 << 20)
                except BlockingIOError:
                    return
                got.extend(chunk)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(connection.drain)
            connection.send_nowait(big, 1, lambda replies: None)
            await trio.testing.wait_all_tasks_blocked()  # drain waits for room
            read_some(1_000_000)  # room again, and the drain task not run yet
            connection.send_nowait(b"SMALL", 1, lambda replies: None)
            with trio.fail_after(10):
                while len(got) < len(big) + 5:
                    read_some(len(big) + 5)
                    await trio.sleep(0.001)
            nursery.cancel_scope.cancel()
        assert bytes(got) == big + b"SMALL"
