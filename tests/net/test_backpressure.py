"""Back-pressure from one connection to another: a relay whose far side does not read.

A relay (a port forwarder, a chat server passing lines on) reads from one peer and
writes to another.  If the other never reads, its output must not grow without
bound: the cascade of the source's read is held (``drain``) until the output has
drained, so the source is read no further meanwhile -- and nothing is lost once the
far side reads again.  Real sockets; the peers are plain Trio.
"""

from __future__ import annotations

import hashlib
from functools import partial

import pytest
import trio

from trio_circuits import Component, Manager, handler, open_app
from trio_circuits.net.events import connect, write
from trio_circuits.net.sockets import Connection, TCPClient, TCPServer
from trio_circuits.testing import Watcher

MiB = 1 << 20
# What the kernel may hold on loopback between the source and the relay, and between
# the relay and the sink (send and receive buffers, autotuned): far below what an
# unbounded relay takes in the same time (all of it).
KERNEL_SLACK = 40 * MiB


class ClientRelay(Component):
    """Forwards what the server's connections read to the client's connection."""

    @handler("read", channel="source")
    def _forward(self, sock: Connection, data: bytes) -> None:
        self.fire(write(data), "target")


class ServerRelay(TCPServer):
    """Its first connection is the sink; what later ones send goes to it."""

    sink: Connection | None = None

    @handler("connect")
    def _first(self, sock: Connection, *_: object) -> None:
        if self.sink is None:
            self.sink = sock

    @handler("read")
    def _forward(self, sock: Connection, data: bytes) -> None:
        if sock is not self.sink and self.sink is not None:
            self.fire(write(self.sink, data))


async def _send_for(
    stream: trio.SocketStream, payload: bytes, sent: list[int], done: trio.Event | None = None
) -> None:
    for start in range(0, len(payload), 1 << 16):
        await stream.send_all(payload[start : start + (1 << 16)])
        sent[0] += min(1 << 16, len(payload) - start)
    await stream.send_eof()
    if done is not None:
        done.set()


async def _read_all(stream: trio.abc.ReceiveStream, size: int, limit: float = 30) -> bytes:
    got = bytearray()
    with trio.fail_after(limit):
        while len(got) < size:
            chunk = await stream.receive_some(1 << 16)
            assert chunk, f"EOF after {len(got)} of {size} bytes"
            got += chunk
    return bytes(got)


async def _watch_buffered(conn: Connection, seconds: float) -> int:
    """The most ``conn`` had queued, sampled every 5 ms for ``seconds``."""
    most = 0
    for _ in range(int(seconds / 0.005)):
        most = max(most, conn.buffered)
        await trio.sleep(0.005)
    return most


async def test_a_client_relay_holds_its_source_while_the_target_does_not_read(
    serving_mode: str,
) -> None:
    payload = hashlib.sha256(b"seed").digest() * (64 * MiB // 32)
    sink_ready = trio.Event()
    sink_streams: list[trio.SocketStream] = []

    async def sink(stream: trio.SocketStream) -> None:
        sink_streams.append(stream)
        sink_ready.set()
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, sink, 0, host="127.0.0.1"))
        sink_port = listeners[0].socket.getsockname()[1]
        m = Manager()
        server = TCPServer(("127.0.0.1", 0), channel="source").register(m)
        client = TCPClient(channel="target").register(m)
        ClientRelay().register(m)
        w = Watcher(m)
        async with open_app(m):
            m.fire(connect("127.0.0.1", sink_port), "target")
            await w.wait("connected", "target")
            await sink_ready.wait()
            target = client.connection
            assert target is not None
            source = await trio.open_tcp_stream("127.0.0.1", server.port)
            sent = [0]
            all_sent = trio.Event()
            nursery.start_soon(_send_for, source, payload, sent, all_sent)
            most = await _watch_buffered(target, 1.0)
            # The relay queued at most one read beyond its high-water mark...
            assert most <= client.high_water + (1 << 16), most
            # ... and the source could send no more than the kernels hold.
            assert sent[0] < KERNEL_SLACK, sent[0]
            # The sink reads at last: every byte arrives, in order.
            got = await _read_all(sink_streams[0], len(payload))
            assert got == payload
            await all_sent.wait()
            await source.aclose()
        nursery.cancel_scope.cancel()


async def test_a_server_relay_between_two_connections_holds_the_writer(
    serving_mode: str,
) -> None:
    payload = hashlib.sha256(b"other").digest() * (64 * MiB // 32)
    m = Manager()
    server = ServerRelay(("127.0.0.1", 0)).register(m)
    w = Watcher(m)
    async with open_app(m), trio.open_nursery() as nursery:
        sink = await trio.open_tcp_stream("127.0.0.1", server.port)
        await w.wait("connect")
        assert server.sink is not None
        source = await trio.open_tcp_stream("127.0.0.1", server.port)
        sent = [0]
        all_sent = trio.Event()
        nursery.start_soon(_send_for, source, payload, sent, all_sent)
        most = await _watch_buffered(server.sink, 1.0)
        assert most <= server.high_water + (1 << 16), most
        assert sent[0] < KERNEL_SLACK, sent[0]
        assert await _read_all(sink, len(payload)) == payload
        await all_sent.wait()
        # The source's EOF closes it once everything has gone through.
        assert await source.receive_some(1) == b""
        await sink.aclose()
        await source.aclose()


async def test_a_relay_whose_target_closes_releases_its_source(serving_mode: str) -> None:
    """A held cascade ends when the connection it waits for closes: no hang."""
    payload = b"z" * (32 * MiB)
    m = Manager()
    server = ServerRelay(("127.0.0.1", 0)).register(m)
    w = Watcher(m)
    async with open_app(m), trio.open_nursery() as nursery:
        sink = await trio.open_tcp_stream("127.0.0.1", server.port)
        await w.wait("connect")
        source = await trio.open_tcp_stream("127.0.0.1", server.port)
        sent = [0]
        all_sent = trio.Event()
        nursery.start_soon(_send_for, source, payload, sent, all_sent)
        await _watch_buffered(server.sink, 0.5)  # type: ignore[arg-type]
        held = sent[0]
        assert held < KERNEL_SLACK
        await trio.aclose_forcefully(sink)  # the sink goes away without reading
        with trio.fail_after(20):
            await all_sent.wait()  # the source is read again, to its end
        assert await source.receive_some(1) == b""
        await source.aclose()


async def test_writes_before_the_client_connects_hold_their_source(serving_mode: str) -> None:
    """A relay's client still connecting queues its writes: bounded, then sent in order."""
    payload = hashlib.sha256(b"later").digest() * (96 * MiB // 32)
    chunks_in, chunks_out = trio.open_memory_channel[bytes](1000)

    async def collect(stream: trio.SocketStream) -> None:
        while chunk := await stream.receive_some(1 << 16):
            await chunks_in.send(chunk)

    m = Manager()
    server = TCPServer(("127.0.0.1", 0), channel="source").register(m)
    TCPClient(channel="target").register(m)
    ClientRelay().register(m)
    w = Watcher(m)
    async with open_app(m), trio.open_nursery() as nursery:
        source = await trio.open_tcp_stream("127.0.0.1", server.port)
        sent = [0]
        all_sent = trio.Event()
        nursery.start_soon(_send_for, source, payload, sent, all_sent)
        await trio.sleep(1.0)  # no connection yet: the writes wait for one
        assert sent[0] < KERNEL_SLACK, sent[0]
        listeners = await nursery.start(partial(trio.serve_tcp, collect, 0, host="127.0.0.1"))
        m.fire(connect("127.0.0.1", listeners[0].socket.getsockname()[1]), "target")
        await w.wait("connected", "target")
        got = bytearray()
        with trio.fail_after(30):
            while len(got) < len(payload):
                got += await chunks_out.receive()
        assert got == payload
        await all_sent.wait()
        await source.aclose()
        nursery.cancel_scope.cancel()


class Broadcaster(TCPServer):
    """Writes what each connection sends to every other one (a chat, without lines)."""

    members: list[Connection]

    def init(self, *args: object, **kwargs: object) -> None:
        self.members = []

    @handler("connect")
    def _join(self, sock: Connection, *_: object) -> None:
        self.members.append(sock)

    @handler("disconnect")
    def _leave(self, sock: Connection) -> None:
        self.members.remove(sock)

    @handler("read")
    def _pass_on(self, sock: Connection, data: bytes) -> None:
        for other in self.members:
            if other is not sock:
                self.fire(write(other, data))


async def _silent_member(server: Broadcaster, m: Manager, message: str) -> None:
    """A talker, a reader and a member that never reads: the reader gets everything,
    the silent one is reported (``error(sock, TooSlowError)``, ``message``) and closed."""
    payload = hashlib.sha256(b"chat").digest() * (8 * MiB // 32)
    w = Watcher(m)
    async with open_app(m), trio.open_nursery() as nursery:
        silent = await trio.open_tcp_stream("127.0.0.1", server.port)  # never reads
        await w.wait("connect")
        reader = await trio.open_tcp_stream("127.0.0.1", server.port)
        await w.wait("connect")
        talker = await trio.open_tcp_stream("127.0.0.1", server.port)
        await w.wait("connect")
        silent_conn, reader_conn = server.members[:2]
        all_sent = trio.Event()
        nursery.start_soon(_send_for, talker, payload, [0], all_sent)
        got = await _read_all(reader, len(payload))
        assert got == payload
        ev = await w.wait("error", timeout=10)
        assert ev.args[0] is silent_conn
        assert isinstance(ev.args[1], trio.TooSlowError)
        assert message in str(ev.args[1])
        for _ in range(3):  # the talker leaves too, once it has sent everything
            ev = await w.wait("disconnect", timeout=10)  # close_timeout: 5 s
            if ev.args[0] is silent_conn:
                break
        assert silent_conn not in server.members
        assert reader_conn in server.members
        with trio.fail_after(10):
            await all_sent.wait()
        for stream in (silent, reader, talker):
            await stream.aclose()


async def test_a_member_that_never_reads_is_dropped_by_a_broadcast(serving_mode: str) -> None:
    """A broadcast is not held for a member that never reads: past max_buffered, the
    member is closed as too slow, and the others go on (slow_receivers="auto")."""
    m = Manager()
    # A reader in this process may fall a little behind: room for it, and the
    # silent member fills that long before the 8 MiB are through.
    server = Broadcaster(("127.0.0.1", 0), max_buffered=1 * MiB).register(m)
    await _silent_member(server, m, "max_buffered")


async def test_a_held_relay_closes_a_member_after_drain_timeout(serving_mode: str) -> None:
    """slow_receivers="hold": every cascade waits for the member, within drain_timeout."""
    m = Manager()
    server = Broadcaster(("127.0.0.1", 0), slow_receivers="hold", drain_timeout=0.5).register(m)
    await _silent_member(server, m, "still queued after 0.5 s")


def test_drain_timeout_is_checked_at_construction() -> None:
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="drain_timeout"):
            TCPServer(0, drain_timeout=bad)
        with pytest.raises(ValueError, match="drain_timeout"):
            TCPClient(drain_timeout=bad)
