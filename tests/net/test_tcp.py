"""TCP, TCP6 and UNIX servers and clients on real sockets, peers in plain Trio."""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path
from typing import Any

import pytest
import trio

from trio_circuits import Component, Event, Manager, handler, open_app
from trio_circuits.net.events import close, connect, write
from trio_circuits.net.sockets import (
    Connection,
    Pipe,
    TCP6Client,
    TCP6Server,
    TCPClient,
    TCPServer,
    UNIXClient,
    UNIXServer,
)
from trio_circuits.testing import Watcher

from ..conftest import has_ipv6_loopback


class Echo(TCPServer):
    @handler("read")
    def _echo(self, sock: Connection, data: bytes) -> bytes:
        return data


class Echo6(TCP6Server):
    @handler("read")
    def _echo(self, sock: Connection, data: bytes) -> bytes:
        return data


class UnixEcho(UNIXServer):
    @handler("read")
    def _echo(self, sock: Connection, data: bytes) -> bytes:
        return data


async def _roundtrip(stream: trio.abc.Stream, data: bytes) -> bytes:
    await stream.send_all(data)
    got = b""
    with trio.fail_after(5):
        while len(got) < len(data):
            chunk = await stream.receive_some(65536)
            assert chunk
            got += chunk
    return got


async def test_tcp_server_lifecycle_with_a_plain_trio_peer() -> None:
    m = Manager()
    server = Echo(("127.0.0.1", 0)).register(m)
    w = Watcher(m)
    async with open_app(m):
        ready = await w.wait("ready", "server")
        assert ready.args == [server, ("127.0.0.1", server.port)]
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        local_port = stream.socket.getsockname()[1]
        ev = await w.wait("connect", "server")
        sock = ev.args[0]
        assert isinstance(sock, Connection)
        assert ev.args[1:] == ["127.0.0.1", local_port]
        assert sock.getpeername() == ("127.0.0.1", local_port)
        assert await _roundtrip(stream, b"hello") == b"hello"
        read_ev = await w.wait("read", "server")
        assert read_ev.args == [sock, b"hello"]
        await stream.aclose()
        ev = await w.wait("disconnect", "server")
        assert ev.args == [sock]
        m.fire(close(), "server")
        await w.wait("closed", "server")
        assert server.port is None


async def test_bare_port_binds_all_interfaces() -> None:
    server = Echo(0)
    async with open_app(server):
        assert server.host == "0.0.0.0"
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        assert await _roundtrip(stream, b"x") == b"x"
        await stream.aclose()


async def test_client_lifecycle_reconnect_and_write_back() -> None:
    class Upper(TCPServer):
        @handler("connect")
        def _greet(self, sock: Connection, host: str, port: int) -> None:
            self.fire(write(sock, b"Ready"))

        @handler("read")
        def _upper(self, sock: Connection, data: bytes) -> bytes:
            return data.upper()

    class Client(TCPClient):
        got: list[bytes]

        def init(self, **kwargs: Any) -> None:
            self.got = []

        @handler("read")
        def _read(self, data: bytes) -> bytes | None:
            self.got.append(data)
            # A client read handler returning bytes writes them back too.
            return b"ack" if data == b"Ready" else None

    m = Manager()
    server = Upper(("127.0.0.1", 0)).register(m)
    client = Client().register(m)
    w = Watcher(m)
    async with open_app(m):
        for _ in range(2):
            m.fire(connect("127.0.0.1", server.port), "client")
            ev = await w.wait("connected", "client")
            assert ev.args == ["127.0.0.1", server.port]
            await w.wait("read", "client")
            ev = await w.wait("read", "server")
            assert ev.args[1] == b"ack"
            assert (await w.wait("read", "client")).args == [b"ACK"]
            m.fire(close(), "client")
            await w.wait("disconnected", "client")
            await w.wait("disconnect", "server")
            w.clear()
        assert client.got == [b"Ready", b"ACK"] * 2


async def test_refused_connect_is_unreachable_at_once() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = TCPClient(connect_timeout=30)
    w = Watcher(client)
    async with open_app(client):
        start = trio.current_time()
        client.fire(connect("127.0.0.1", port))
        ev = await w.wait("unreachable", timeout=5)
        assert trio.current_time() - start < 5
        assert ev.args[:2] == ["127.0.0.1", port]
        assert isinstance(ev.args[2], OSError)
        assert isinstance((await w.wait("error")).args[0], OSError)


async def test_dns_failure_fires_error_and_unreachable() -> None:
    client = TCPClient()
    w = Watcher(client)
    async with open_app(client):
        client.fire(connect("no-such-host.invalid", 80))
        ev = await w.wait("error", timeout=10)
        assert isinstance(ev.args[0], socket.gaierror)
        await w.wait("unreachable")


async def test_events_per_connection_are_ordered() -> None:
    log: list[tuple[str, bytes]] = []

    class Recorder(Echo):
        @handler("connect", "read", "disconnect")
        def _log(self, event: Event, sock: Connection, *args: Any) -> None:
            data = args[0] if event.name == "read" else b""
            log.append((event.name, data))

    server = Recorder(("127.0.0.1", 0))
    w = Watcher(server)
    async with open_app(server):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        payload = bytes(range(256)) * 400
        await stream.send_all(payload)
        await stream.send_eof()
        got = b""
        with trio.fail_after(10):
            while chunk := await stream.receive_some(65536):
                got += chunk
        assert got == payload
        await w.wait("disconnect")
    names = [name for name, _ in log]
    assert names[0] == "connect"
    assert names[-1] == "disconnect"
    assert set(names[1:-1]) == {"read"}
    assert b"".join(data for _, data in log) == payload


async def test_half_close_peer_gets_every_reply_byte() -> None:
    class Replier(TCPServer):
        @handler("read")
        def _reply(self, sock: Connection, data: bytes) -> None:
            self.fire(write(sock, data * 1000))

    server = Replier(("127.0.0.1", 0))
    async with open_app(server):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        await stream.send_all(b"0123456789")
        await stream.send_eof()
        got = b""
        with trio.fail_after(10):
            while chunk := await stream.receive_some(65536):
                got += chunk
        assert got == b"0123456789" * 1000


async def test_close_sock_flushes_queued_writes_first() -> None:
    class Burst(TCPServer):
        @handler("connect")
        def _burst(self, sock: Connection, host: str, port: int) -> None:
            for _ in range(50):
                self.fire(write(sock, b"z" * 4096))
            self.fire(close(sock))

    server = Burst(("127.0.0.1", 0))
    async with open_app(server):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        got = 0
        with trio.fail_after(10):
            while chunk := await stream.receive_some(65536):
                got += len(chunk)
        assert got == 50 * 4096


async def test_many_concurrent_clients_without_cross_talk() -> None:
    server = Echo(("127.0.0.1", 0))
    results: dict[int, bytes] = {}

    async def client(n: int) -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        payload = f"client-{n}-".encode() * 10
        results[n] = await _roundtrip(stream, payload)
        await stream.aclose()

    async with open_app(server):
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                for n in range(500):
                    nursery.start_soon(client, n)
    assert len(results) == 500
    assert all(results[n] == f"client-{n}-".encode() * 10 for n in range(500))


async def test_peer_that_never_reads_is_paused_under_the_high_water_mark() -> None:
    chunk = b"y" * 65536
    server = Echo(("127.0.0.1", 0), high_water=256 * 1024)
    total = 8 * 1024 * 1024
    async with open_app(server):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sent = 0
        peak = 0
        # Send until the server stops reading (our sends then block).  A socket send
        # is all-or-nothing under cancellation, so ``sent`` counts every byte sent.
        with trio.move_on_after(2):
            while sent < total:
                sent += await stream.socket.send(chunk)
                peak = max(peak, server.statistics()["buffered"])
        await trio.sleep(0.2)
        peak = max(peak, server.statistics()["buffered"])
        assert sent < total  # the server pushed back
        assert peak <= 256 * 1024 + 2 * 65536
        # Now read: every byte sent comes back.
        got = 0
        with trio.fail_after(20):
            while got < sent:
                got += len(await stream.receive_some(1 << 20))
        assert got == sent


async def test_abrupt_resets_do_not_hurt_the_server() -> None:
    server = Echo(("127.0.0.1", 0))
    w = Watcher(server)
    async with open_app(server):
        for _ in range(20):
            sock = trio.socket.socket()
            await sock.connect(("127.0.0.1", server.port))
            await sock.send(b"data")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        assert await _roundtrip(stream, b"still here") == b"still here"
        await stream.aclose()
        with trio.fail_after(5):
            # Bounded poll: connections end in their own tasks.
            while server.statistics()["connections"]:  # noqa: ASYNC110
                await trio.sleep(0.01)
        disconnects = [e.args[0] for e in w.seen if e.name == "disconnect"]
        assert len(disconnects) == len(set(disconnects))


async def test_stop_frees_the_port_and_closes_connections() -> None:
    server = Echo(("127.0.0.1", 0))
    async with open_app(server):
        port = server.port
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        assert await _roundtrip(stream, b"a") == b"a"
    with trio.fail_after(5):
        assert await stream.receive_some(10) == b""
    again = Echo(("127.0.0.1", port))
    async with open_app(again):
        assert again.port == port


async def test_unregistered_server_closes_listener_and_connections() -> None:
    m = Manager()
    server = Echo(("127.0.0.1", 0)).register(m)
    w = Watcher(m)
    async with open_app(m):
        port = server.port
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await w.wait("connect")
        server.unregister()
        await w.wait("unregistered")
        with trio.fail_after(5):
            assert await stream.receive_some(10) == b""
        await w.wait("disconnect", "server")
        await w.wait("closed", "server")
        with pytest.raises(OSError):
            await trio.open_tcp_stream("127.0.0.1", port)


def test_bad_arguments_raise_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        TCPServer(70000)
    with pytest.raises(TypeError):
        TCPServer(object())
    with pytest.raises(FileNotFoundError):
        TCPServer(0, secure=True, certfile=str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError):
        TCPServer(0, secure=True)
    with pytest.raises(ValueError):
        TCPClient(connect_timeout=0)


async def test_unbindable_address_fires_error_then_fails_the_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = Echo(("127.0.0.1", taken.getsockname()[1]))
        w = Watcher(server)
        with pytest.raises(OSError, match="in use"):
            async with open_app(server):
                pytest.fail("the application started on a port in use")
        errors = [e for e in w.seen if e.name == "error"]
        assert len(errors) == 1
        assert isinstance(errors[0].args[0], OSError)


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
async def test_tcp6_server_and_client() -> None:
    m = Manager()
    server = Echo6(("::1", 0)).register(m)
    TCP6Client().register(m)
    w = Watcher(m)
    async with open_app(m):
        m.fire(connect("::1", server.port), "client")
        await w.wait("connected", "client")
        ev = await w.wait("connect", "server")
        assert ev.args[1] == "::1"
        m.fire(write(b"six"), "client")
        assert (await w.wait("read", "client")).args == [b"six"]


async def test_unix_server_and_client(tmp_path: Path) -> None:
    path = str(tmp_path / "echo.sock")
    m = Manager()
    server = UnixEcho(path).register(m)
    UNIXClient().register(m)
    w = Watcher(m)
    async with open_app(m):
        ev = await w.wait("ready", "server")
        assert ev.args[1] == (path, None)
        m.fire(connect(path), "client")
        ev = await w.wait("connected", "client")
        assert ev.args == [socket.gethostname(), path]
        conn_ev = await w.wait("connect", "server")
        assert len(conn_ev.args) == 1
        m.fire(write(b"unix"), "client")
        assert (await w.wait("read", "client")).args == [b"unix"]
        stream = await trio.open_unix_socket(path)
        assert await _roundtrip(stream, b"raw") == b"raw"
        await stream.aclose()
        server.unregister()
        await w.wait("unregistered")
        # Its closing events still reach the tree it was in.
        await w.wait("closed", "server")
        assert not await trio.Path(path).exists()


async def test_pipe_both_ways() -> None:
    m = Manager()
    a, b = Pipe("a", "b")
    m += a
    m += b
    w = Watcher(m)
    async with open_app(m):
        m.fire(write(b"to b"), "a")
        assert (await w.wait("read", "b")).args == [b"to b"]
        m.fire(write(b"to a"), "b")
        assert (await w.wait("read", "a")).args == [b"to a"]
        m.fire(close(), "a")
        await w.wait("disconnected", "a")
        await w.wait("disconnected", "b")


async def test_component_on_the_channel_handles_server_events() -> None:
    seen: list[bytes] = []

    class App(Component):
        channel = "server"

        def read(self, sock: Connection, data: bytes) -> None:
            seen.append(data)
            self.fire(write(sock, b"got " + data))

    m = Manager()
    server = TCPServer(("127.0.0.1", 0)).register(m)
    App().register(m)
    async with open_app(m):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        assert await _roundtrip(stream, b"it") == b"got it"
    assert seen == [b"it"]


async def test_connect_timeout_fires_unreachable() -> None:
    # A listener whose backlog is full and never accepts: further SYNs go unanswered.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(8):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(s)
        client = TCPClient(connect_timeout=0.5)
        w = Watcher(client)
        try:
            async with open_app(client):
                start = trio.current_time()
                client.fire(connect("127.0.0.1", port))
                ev = await w.wait("unreachable", timeout=10)
                assert isinstance(ev.args[2], trio.TooSlowError)
                assert 0.4 < trio.current_time() - start < 5
        finally:
            for s in fillers:
                s.close()


def test_circuits_names_in_the_sockets_module(monkeypatch: pytest.MonkeyPatch) -> None:
    from trio_circuits.net import sockets

    assert sockets.write is write
    assert sockets.BUFSIZE > 0
    assert sockets.Client("0.0.0.0:1234")._bind == ("0.0.0.0", 1234)
    assert sockets.Client(1234)._bind[1] == 1234

    def broken() -> str:
        raise socket.gaierror

    monkeypatch.setattr(sockets, "gethostname", broken)
    assert sockets.Client(1234)._bind == ("0.0.0.0", 1234)


def test_sock_of_a_running_server_closes_from_another_thread() -> None:
    server = Echo(("127.0.0.1", 0))
    w = Watcher(server)
    server.start()
    try:
        port = server.port
        server._sock.close()  # from this (non-Trio) thread; returns once closed
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2)
        # The server noticed: it stopped accepting and reported its close.
        for _ in range(500):
            if any(e.name == "closed" for e in w.seen):
                break
            time.sleep(0.01)
        assert any(e.name == "closed" for e in w.seen)
    finally:
        server.stop()
        server.join(5)
