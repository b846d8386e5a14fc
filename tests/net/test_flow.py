"""A connection's life governed by completion (SPEC 5.1), attacked as peers do.

Every peer here is plain Trio on a real loopback socket: a half-closing client, a
flood of tiny lines, a line with no end, a TLS upgrade behind a busy queue, a
silent peer.
"""

from __future__ import annotations

import resource
import ssl
from typing import Any

import pytest
import trio
import trio.lowlevel

from trio_circuits import Component, Event, Manager, handler, open_app
from trio_circuits.net.events import starttls, write
from trio_circuits.net.sockets import Connection, TCPServer
from trio_circuits.protocols.line import Line
from trio_circuits.testing import Watcher


class LineReplier(TCPServer):
    """Answers every line with ``R:<line>\\n`` through ``write`` events."""

    @handler("line")
    def _reply(self, sock: Connection, data: bytes) -> None:
        self.fire(write(sock, b"R:" + data + b"\n"))


async def _read_to_eof(stream: trio.abc.ReceiveStream, limit: float = 20) -> bytes:
    got = bytearray()
    with trio.fail_after(limit):
        while chunk := await stream.receive_some(65536):
            got += chunk
    return bytes(got)


@pytest.mark.parametrize("count", [1, 5000])
async def test_half_close_gets_every_line_reply(count: int, serving_mode: str) -> None:
    m = Manager()
    server = LineReplier(("127.0.0.1", 0)).register(m)
    Line(channel="server").register(m)
    async with open_app(m):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        lines = [b"line %d" % i for i in range(count)]
        await stream.send_all(b"".join(x + b"\n" for x in lines))
        await stream.send_eof()
        got = await _read_to_eof(stream)
        assert got.splitlines() == [b"R:" + x for x in lines]


@pytest.mark.parametrize("size", [1000, 300_000])
async def test_half_close_gets_an_async_handlers_reply(size: int, serving_mode: str) -> None:
    class AsyncEcho(TCPServer):
        @handler("read")
        async def _echo(self, sock: Connection, data: bytes) -> bytes:
            await trio.sleep(0.001)
            return data

    server = AsyncEcho(("127.0.0.1", 0))
    async with open_app(server):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        await stream.send_all(payload)
        await stream.send_eof()
        assert await _read_to_eof(stream) == payload


async def test_a_flood_of_tiny_lines_keeps_the_queue_bounded(serving_mode: str) -> None:
    counted = 0

    class Counter(TCPServer):
        @handler("line")
        def _count(self, sock: Connection, data: bytes) -> None:
            nonlocal counted
            counted += 1

    m = Manager()
    server = Counter(("127.0.0.1", 0)).register(m)
    Line(channel="server").register(m)
    peers, lines = 20, 50_000
    peak = 0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    async def flood() -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        await stream.send_all(b"x\n" * lines)
        await stream.send_eof()
        await _read_to_eof(stream, limit=60)

    async def sample(done: trio.Event) -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, len(m))
            await trio.lowlevel.checkpoint()

    async with open_app(m):
        done = trio.Event()
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(sample, done)
                async with trio.open_nursery() as peers_nursery:
                    for _ in range(peers):
                        peers_nursery.start_soon(flood)
                done.set()
    growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    report = f"peak queue {peak}, max RSS grew {growth_mib:.1f} MiB"
    assert counted == peers * lines, report
    assert peak < 10 * m.max_queued, report
    assert growth_mib < 100, report


async def test_max_queued_is_a_keyword_and_checked() -> None:
    assert Manager(max_queued=50).max_queued == 50
    assert Component(max_queued=7).max_queued == 7
    with pytest.raises(ValueError, match="max_queued"):
        Manager(max_queued=0)


async def test_an_over_long_line_gets_one_error_and_a_close(serving_mode: str) -> None:
    read_bytes = 0

    class Counting(TCPServer):
        @handler("read")
        def _count(self, sock: Connection, data: bytes) -> None:
            nonlocal read_bytes
            read_bytes += len(data)

    m = Manager()
    server = Counting(("127.0.0.1", 0)).register(m)
    Line(channel="server", max_line_length=1024).register(m)
    w = Watcher(m)
    async with open_app(m):
        bystander = await trio.open_tcp_stream("127.0.0.1", server.port)
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        chunk = b"y" * 65536
        closed_by_server = False
        with trio.move_on_after(1):
            try:
                while True:
                    await stream.send_all(chunk)
            except trio.BrokenResourceError:
                closed_by_server = True
        if not closed_by_server:
            # The server stopped reading; it must still close the connection.
            with trio.fail_after(10):
                try:
                    while await stream.receive_some(65536):
                        pass
                except trio.BrokenResourceError:
                    pass
        await w.wait("disconnect", "server")
        errors = [e for e in w.seen if e.name == "error"]
        assert len(errors) == 1
        assert isinstance(errors[0].args[1], ValueError)
        assert read_bytes < 4 * 1024 * 1024
        # Other connections are untouched.
        await bystander.send_all(b"still\n")
        (remaining,) = server.connections
        m.fire(write(remaining, b"hello\n"), "server")
        assert await bystander.receive_some(100) == b"hello\n"


class Upgrading(TCPServer):
    """On ``STARTTLS``: write ``GO``, fire a burst of other events, then upgrade."""

    @handler("read")
    def _on_read(self, sock: Connection, data: bytes) -> bytes | None:
        if data == b"STARTTLS\n":
            self.fire(write(sock, b"GO\n"))
            for i in range(3000):
                self.fire(Event.create("busy", i))
            self.fire(starttls(sock))
            return None
        return b"secure:" + data


async def test_starttls_behind_a_busy_queue_never_takes_the_hello_as_plaintext(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext, serving_mode: str
) -> None:
    server = Upgrading(("127.0.0.1", 0), ssl_context=server_context)
    async with open_app(server):
        for _ in range(5):
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            await stream.send_all(b"STARTTLS\n")
            with trio.fail_after(10):
                assert await stream.receive_some(100) == b"GO\n"
                tls = trio.SSLStream(stream, client_context, server_hostname="localhost")
                await tls.do_handshake()
                await tls.send_all(b"ping")
                assert await tls.receive_some(100) == b"secure:ping"
            await tls.aclose()


async def test_idle_connections_are_closed_and_busy_ones_kept(serving_mode: str) -> None:
    class Echo(TCPServer):
        @handler("read")
        def _echo(self, sock: Connection, data: bytes) -> bytes:
            return data

    server = Echo(("127.0.0.1", 0), idle_timeout=0.3)
    w = Watcher(server)
    async with open_app(server):
        silent = await trio.open_tcp_stream("127.0.0.1", server.port)
        talker = await trio.open_tcp_stream("127.0.0.1", server.port)
        start = trio.current_time()
        for _ in range(8):  # 0.8 s of traffic, more than twice the idle timeout
            await talker.send_all(b"hi")
            with trio.fail_after(5):
                assert await talker.receive_some(10) == b"hi"
            await trio.sleep(0.1)
        assert await _read_to_eof(silent, limit=5) == b""
        assert trio.current_time() - start < 3
        await silent.aclose()
        await w.wait("disconnect")
        assert not [e for e in w.seen if e.name == "disconnect"]
        await talker.send_all(b"ok")
        with trio.fail_after(5):
            assert await talker.receive_some(10) == b"ok"


async def test_a_slow_cascade_is_not_idle() -> None:
    class Slow(TCPServer):
        @handler("read")
        async def _slow(self, sock: Connection, data: bytes) -> bytes:
            await trio.sleep(0.6)
            return data

    server = Slow(("127.0.0.1", 0), idle_timeout=0.2)
    async with open_app(server):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        await stream.send_all(b"wait for me")
        with trio.fail_after(5):
            assert await stream.receive_some(100) == b"wait for me"


def test_bad_flow_arguments_raise_at_construction() -> None:
    with pytest.raises(ValueError, match="idle_timeout"):
        TCPServer(0, idle_timeout=0)
    with pytest.raises(ValueError, match="close_timeout"):
        TCPServer(0, close_timeout=-1)
    with pytest.raises(ValueError, match="high_water"):
        TCPServer(0, high_water=0)
    with pytest.raises(TypeError, match="socket option"):
        TCPServer(0, socket_options=[(1, 2)])  # type: ignore[list-item]


async def test_a_server_registered_later_that_cannot_bind_reports_it() -> None:
    import socket

    class Reports(Component):
        """Handles ``exception`` (every channel) and ``error`` on "handled" only."""

        def init(self) -> None:
            self.reports: list[BaseException] = []
            self.errors: list[BaseException] = []

        def exception(self, etype: type, value: BaseException, *args: Any, **kw: Any) -> None:
            self.reports.append(value)

        @handler("error", channel="handled")
        def _error(self, err: BaseException) -> None:
            self.errors.append(err)

    root = Reports()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with open_app(root):
            # Nobody handles its error: reported as an exception; the app keeps running.
            TCPServer(("127.0.0.1", port), channel="lonely").register(root)
            with trio.fail_after(5):
                while not root.reports:  # noqa: ASYNC110 (a bounded poll)
                    await trio.sleep(0.01)
            assert isinstance(root.reports[0], OSError)
            # A handler takes it: no report.
            TCPServer(("127.0.0.1", port), channel="handled").register(root)
            with trio.fail_after(5):
                while not root.errors:  # noqa: ASYNC110 (a bounded poll)
                    await trio.sleep(0.01)
            await trio.sleep(0.05)
            assert len(root.reports) == 1
            assert root.running


async def test_a_half_closed_peer_that_never_reads_is_closed_after_close_timeout(
    serving_mode: str,
) -> None:
    class Big(TCPServer):
        @handler("read")
        def _big(self, sock: Connection, data: bytes) -> bytes:
            return b"z" * (8 << 20)  # far more than the socket buffers hold

    server = Big(("127.0.0.1", 0), close_timeout=0.5)
    w = Watcher(server)
    async with open_app(server):
        sock = trio.socket.socket()
        sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_RCVBUF, 4096)
        await sock.connect(("127.0.0.1", server.port))
        await sock.send(b"go")
        sock.shutdown(trio.socket.SHUT_WR)
        start = trio.current_time()
        await w.wait("disconnect", timeout=5)
        assert trio.current_time() - start < 3
        assert server.statistics() == {"connections": 0, "buffered": 0}
        sock.close()
