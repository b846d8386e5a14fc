"""One peer never hurts the others (SPEC 5.2): fair intake, bounded fan-out, slow
receivers, stuck peers, starttls plaintext, half-close -- each tried as a hostile
peer would, while another client measures what it costs *it*."""

from __future__ import annotations

import socket
import ssl
from typing import Any

import pytest
import trio

from trio_circuits import Manager, handler, open_app
from trio_circuits.net.events import connect, send_eof, starttls, write
from trio_circuits.net.sockets import Connection, TCPClient, TCPServer
from trio_circuits.protocols.line import Line
from trio_circuits.testing import Watcher

KiB = 1 << 10
MiB = 1 << 20


class Pinger(TCPServer):
    """A Line server: ``ping`` is answered ``pong``; other lines are counted."""

    lines = 0

    @handler("line")
    def _line(self, sock: Connection, data: bytes) -> None:
        if data == b"ping":
            sock.write(b"pong\n")
        else:
            self.lines += 1


async def _flood(port: int, stop: trio.Event) -> None:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    payload = b"x\n" * 32768
    async with stream:
        try:
            while not stop.is_set():
                await stream.send_all(payload)
        except trio.BrokenResourceError:
            pass


async def _ping(stream: trio.SocketStream) -> float:
    started = trio.current_time()
    await stream.send_all(b"ping\n")
    got = b""
    while not got.endswith(b"pong\n"):
        data = await stream.receive_some(100)
        assert data, "the server closed the plain client"
        got += data
    return trio.current_time() - started


async def test_flooders_do_not_make_a_plain_client_wait(serving_mode: str) -> None:
    """Thirty peers flood a Line server: a plain client's request/reply is answered in
    well under a second each time (they were answered after 5-7 s, in arrival order
    behind every flooder's read)."""
    m = Manager()
    server = Pinger(("127.0.0.1", 0)).register(m)
    Line(channel="server").register(m)
    async with open_app(m), trio.open_nursery() as nursery:
        stop = trio.Event()
        for _ in range(30):
            nursery.start_soon(_flood, server.port, stop)
        with trio.fail_after(10):
            while server.lines < 200_000:  # noqa: ASYNC110 (bounded poll: flooding now)
                await trio.sleep(0.05)
        plain = await trio.open_tcp_stream("127.0.0.1", server.port)
        times = []
        with trio.fail_after(30):
            for _ in range(10):
                times.append(await _ping(plain))
                await trio.sleep(0.02)
        stop.set()
        nursery.cancel_scope.cancel()
        await plain.aclose()
    assert max(times) < 2.0, times
    assert len(m) < 10 * m.max_queued


class Amplifier(TCPServer):
    """Answers every line with 1 KiB of its own."""

    @handler("line")
    def _line(self, sock: Connection, data: bytes) -> None:
        sock.write(b"%d " % id(data) + b"y" * 1000 + b"\n")


async def test_amplifiers_that_never_read_stay_bounded(serving_mode: str) -> None:
    """Ten peers send 64 KiB of empty lines each (65,536 answers of 1 KiB: 64 MiB
    apiece) and read nothing: what is queued for them stays near ``max_buffered``
    each, and a plain client is still answered."""
    m = Manager()
    server = Amplifier(("127.0.0.1", 0)).register(m)
    Line(channel="server").register(m)
    async with open_app(m):
        peers = []
        for _ in range(10):
            peer = await trio.open_tcp_stream("127.0.0.1", server.port)
            peer.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            await peer.send_all(b"\n" * 65536)
            peers.append(peer)
        most = 0
        with trio.move_on_after(2):
            while True:
                most = max(most, server.statistics()["buffered"])
                await trio.sleep(0.01)
        plain = await trio.open_tcp_stream("127.0.0.1", server.port)
        with trio.fail_after(5):
            await plain.send_all(b"\n")
            assert (await plain.receive_some(2048)).endswith(b"y\n")
        for peer in [*peers, plain]:
            await peer.aclose()
    # max_buffered (256 KiB) each, plus one batch of answers past it.
    assert most < 10 * (256 + 160) * KiB, most


class Chat(TCPServer):
    """Every read goes to every other member."""

    def init(self, *args: Any, **kwargs: Any) -> None:
        self.members: list[Connection] = []

    @handler("connect")
    def _join(self, sock: Connection, *_: Any) -> None:
        self.members.append(sock)

    @handler("disconnect")
    def _leave(self, sock: Connection) -> None:
        self.members.remove(sock)

    @handler("read")
    def _say(self, sock: Connection, data: bytes) -> None:
        for other in self.members:
            if other is not sock:
                other.write(data)


async def test_a_silent_member_costs_the_others_nothing(serving_mode: str) -> None:
    """Two members talk while a third reads nothing: each line arrives promptly (held
    for a silent receiver, the speakers froze for as long as it stayed), and the
    silent one is dropped as too slow once past ``max_buffered``."""
    m = Manager()
    server = Chat(("127.0.0.1", 0), slow_receivers="close").register(m)
    w = Watcher(m)
    async with open_app(m):
        silent = await trio.open_tcp_stream("127.0.0.1", server.port)
        silent.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        await w.wait("connect")
        alice = await trio.open_tcp_stream("127.0.0.1", server.port)
        await w.wait("connect")
        bob = await trio.open_tcp_stream("127.0.0.1", server.port)
        await w.wait("connect")
        line = b"." * 4095 + b"\n"
        worst = 0.0
        with trio.fail_after(60):
            for _ in range(1000):  # 4 MiB: more than the silent one's buffers hold
                started = trio.current_time()
                await alice.send_all(line)
                got = b""
                while len(got) < len(line):
                    got += await bob.receive_some(len(line) - len(got))
                worst = max(worst, trio.current_time() - started)
        ev = await w.wait("error", timeout=10)
        assert isinstance(ev.args[1], trio.TooSlowError)
        assert "max_buffered" in str(ev.args[1])
        for stream in (silent, alice, bob):
            await stream.aclose()
    assert worst < 1.0, worst


async def test_peers_that_never_read_are_released_by_send_timeout(serving_mode: str) -> None:
    """Fifty peers send 1 MiB to an echo server, half-close and never read: every one
    is closed within send_timeout (they were held for ever)."""

    class Echo(TCPServer):
        @handler("read")
        def _read(self, sock: Connection, data: bytes) -> bytes:
            return data

    m = Manager()
    server = Echo(("127.0.0.1", 0), send_timeout=0.5).register(m)
    w = Watcher(m)
    async with open_app(m), trio.open_nursery() as nursery:

        async def stuck() -> None:
            peer = await trio.open_tcp_stream("127.0.0.1", server.port)
            peer.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            async with peer:
                try:
                    await peer.send_all(b"z" * MiB)
                    await peer.send_eof()
                except trio.BrokenResourceError:
                    pass  # closed by the server before it sent everything
                await trio.sleep_forever()

        for _ in range(50):
            nursery.start_soon(stuck)
        with trio.fail_after(20):
            while len([e for e in w.seen if e.name == "connect"]) < 50:  # noqa: ASYNC110
                await trio.sleep(0.05)
            while server.connections:  # noqa: ASYNC110 (bounded poll)
                await trio.sleep(0.05)
        errors = [e for e in w.seen if e.name == "error"]
        assert errors
        assert all("send_timeout" in str(e.args[1]) for e in errors)
        nursery.cancel_scope.cancel()


class Smtpish(TCPServer):
    """A line protocol with STARTTLS; every other line is answered ``250 <line>``."""

    def init(self, *args: Any, **kwargs: Any) -> None:
        self.handled: list[tuple[bool, bytes]] = []

    @handler("line")
    def _line(self, sock: Connection, data: bytes) -> None:
        self.handled.append((sock.secure, data))
        if data == b"STARTTLS":
            sock.write(b"220 go ahead\n")
            self.fire(starttls(sock))
        else:
            sock.write(b"250 " + data + b"\n")


async def _upgrade(
    server: Smtpish, first: bytes, client_context: ssl.SSLContext
) -> tuple[bytes, trio.SSLStream[trio.SocketStream]]:
    """Send ``first`` in plaintext, read the 220, upgrade: the plaintext answer, the TLS
    stream."""
    raw = await trio.open_tcp_stream("127.0.0.1", server.port)
    await raw.send_all(first)
    got = b""
    with trio.fail_after(5):
        while b"220" not in got:
            got += await raw.receive_some(100)
    tls = trio.SSLStream(raw, client_context, server_hostname="localhost")
    with trio.fail_after(5):
        await tls.do_handshake()
    return got, tls


async def test_starttls_drops_a_partial_line(
    serving_mode: str, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    """``STARTTLS\\nPARTIAL``, then ``HELLO`` over TLS: the server handles ``HELLO``,
    never ``PARTIALHELLO`` (CVE-2011-0411: plaintext kept across the upgrade)."""
    m = Manager()
    server = Smtpish(("127.0.0.1", 0), ssl_context=server_context).register(m)
    Line(channel="server").register(m)
    async with open_app(m):
        plain, tls = await _upgrade(server, b"STARTTLS\nPARTIAL", client_context)
        assert plain == b"220 go ahead\n"
        await tls.send_all(b"HELLO\n")
        with trio.fail_after(5):
            assert await tls.receive_some(100) == b"250 HELLO\n"
        await tls.aclose()
    assert server.handled == [(False, b"STARTTLS"), (True, b"HELLO")]


async def test_starttls_never_handles_a_command_pipelined_after_it(
    serving_mode: str, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    """``STARTTLS\\nEVIL\\n`` in one packet: EVIL is never handled, never answered --
    neither in plaintext nor encrypted."""
    m = Manager()
    server = Smtpish(("127.0.0.1", 0), ssl_context=server_context).register(m)
    Line(channel="server").register(m)
    async with open_app(m):
        plain, tls = await _upgrade(server, b"STARTTLS\nEVIL\nWORSE\n", client_context)
        assert plain == b"220 go ahead\n"
        await tls.send_all(b"NOOP\n")
        with trio.fail_after(5):
            assert await tls.receive_some(100) == b"250 NOOP\n"
        await tls.aclose()
    assert server.handled == [(False, b"STARTTLS"), (True, b"NOOP")]


async def test_half_close_both_ways(serving_mode: str) -> None:
    """half_close: the server hears the client's EOF (``eof``), answers afterwards,
    then half-closes itself (``send_eof``); the client reads to the end."""

    class Collect(TCPServer):
        def init(self, *args: Any, **kwargs: Any) -> None:
            self.got: dict[Connection, bytes] = {}

        @handler("read")
        def _read(self, sock: Connection, data: bytes) -> None:
            self.got[sock] = self.got.get(sock, b"") + data

        @handler("eof")
        def _eof(self, sock: Connection) -> None:
            sock.write(b"you said " + self.got.pop(sock, b""))
            sock.send_eof()

    m = Manager()
    server = Collect(("127.0.0.1", 0), half_close=True).register(m)
    w = Watcher(m)
    async with open_app(m):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        await stream.send_all(b"a request")
        await stream.send_eof()
        reply = b""
        with trio.fail_after(5):
            while data := await stream.receive_some(100):
                reply += data
        assert reply == b"you said a request"
        await w.wait("disconnect")  # both sides ended: closed
        await stream.aclose()


async def test_a_client_relays_a_half_close() -> None:
    """A TCPClient with half_close: ``send_eof()`` before the connection is made goes
    out after what was written; the server's EOF is ``eof()``."""
    replies: list[bytes] = []

    async def peer(stream: trio.SocketStream) -> None:
        got = b""
        while data := await stream.receive_some(100):
            got += data
        await stream.send_all(b"heard " + got)
        await stream.send_eof()
        replies.append(got)

    class Client(TCPClient):
        @handler("read")
        def _read(self, data: bytes) -> None:
            replies.append(data)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, peer, 0)
        port = listeners[0].socket.getsockname()[1]
        client = Client(half_close=True)
        w = Watcher(client)
        async with open_app(client):
            client.fire(write(b"hello"))
            client.fire(send_eof())
            client.fire(connect("127.0.0.1", port))
            await w.wait("eof", timeout=5)
            await w.wait("disconnected", timeout=5)
        nursery.cancel_scope.cancel()
    assert replies == [b"hello", b"heard hello"]


def test_the_knobs_are_checked_at_construction() -> None:
    for kwargs in (
        {"send_timeout": 0},
        {"max_buffered": 10},  # below high_water
        {"slow_receivers": "sometimes"},
    ):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            TCPServer(0, **kwargs)
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            TCPClient(**kwargs)
