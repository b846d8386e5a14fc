"""The reactor that serves a server's plain connections from one task, and the
per-connection tasks that replace it where there is no epoll."""

from __future__ import annotations

import os
import socket
import struct

import trio

from trio_circuits import Manager, handler, open_app
from trio_circuits.net.events import write
from trio_circuits.net.sockets import Connection, TCPServer
from trio_circuits.protocols.line import Line
from trio_circuits.testing import Watcher


class Echo(TCPServer):
    @handler("read")
    def _echo(self, sock: Connection, data: bytes) -> bytes:
        return data


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_many_connections_request_response(serving_mode: str) -> None:
    server = Echo(("127.0.0.1", 0))
    async with open_app(server):

        async def talk(n: int) -> None:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            for i in range(20):
                message = b"%d:%d;" % (n, i)
                await stream.send_all(message)
                got = b""
                while len(got) < len(message):
                    got += await stream.receive_some(100)
                assert got == message
            await stream.aclose()

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                for n in range(200):
                    nursery.start_soon(talk, n)


async def test_half_close_with_line_replies(serving_mode: str) -> None:
    class Replier(TCPServer):
        @handler("line")
        def _reply(self, sock: Connection, data: bytes) -> None:
            self.fire(write(sock, data.upper() + b"\n"))

    m = Manager()
    server = Replier(("127.0.0.1", 0)).register(m)
    Line(channel="server").register(m)
    async with open_app(m):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        lines = [b"line %d" % i for i in range(3000)]
        await stream.send_all(b"".join(x + b"\n" for x in lines))
        await stream.send_eof()
        got = b""
        with trio.fail_after(20):
            while chunk := await stream.receive_some(65536):
                got += chunk
        assert got.splitlines() == [x.upper() for x in lines]


async def test_big_replies_to_a_slow_reader_arrive_whole(serving_mode: str) -> None:
    class Big(TCPServer):
        @handler("read")
        def _big(self, sock: Connection, data: bytes) -> bytes:
            return data * 20000  # far more than a socket buffer holds

    server = Big(("127.0.0.1", 0))
    async with open_app(server):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        await stream.send_all(b"0123456789")
        await trio.sleep(0.3)  # the server's writes back up meanwhile
        got = 0
        with trio.fail_after(20):
            while got < 200_000:
                got += len(await stream.receive_some(65536))
        assert got == 200_000
        assert server.statistics()["buffered"] == 0


async def test_cancelling_the_application_closes_every_descriptor(serving_mode: str) -> None:
    before = _open_fds()
    server = Echo(("127.0.0.1", 0))
    peers: list[socket.socket] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run)
            w = Watcher(server)
            for _ in range(20):
                peer = socket.create_connection(("127.0.0.1", server.port))
                peers.append(peer)
            for _ in range(20):
                await w.wait("connect")
            nursery.cancel_scope.cancel()
    for peer in peers:
        peer.settimeout(5)
        try:
            assert peer.recv(10) == b""
        except ConnectionResetError:
            pass  # closed at once: a reset is fine too
        peer.close()
    assert _open_fds() <= before


async def test_a_peer_that_resets_mid_stream_is_reported_once(serving_mode: str) -> None:
    server = Echo(("127.0.0.1", 0))
    w = Watcher(server)
    async with open_app(server):
        sock = socket.create_connection(("127.0.0.1", server.port))
        await w.wait("connect")
        sock.sendall(b"x" * 100_000)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset, with our echo still on its way
        await w.wait("disconnect")
        await trio.sleep(0.1)
        assert not [e for e in w.seen if e.name == "disconnect"]  # only once
        assert server.statistics() == {"connections": 0, "buffered": 0}
