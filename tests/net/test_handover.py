"""Sockets made elsewhere: ``open_socket()`` binds one as a server would, ``use_socket()``
hands one to a server (how the workers of ``run(..., workers=N)`` get listeners)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import trio

from trio_circuits import Manager, handler, open_app
from trio_circuits.net.sockets import TCPServer, UDPServer, UNIXServer


class Echo(TCPServer):
    @handler("read")
    def _echo(self, sock: Any, data: bytes) -> bytes:
        return data


class UnixEcho(UNIXServer):
    @handler("read")
    def _echo(self, sock: Any, data: bytes) -> bytes:
        return data


class UdpEcho(UDPServer):
    @handler("read")
    def _echo(self, address: Any, data: bytes) -> bytes:
        return data


async def _echoes(stream: trio.abc.Stream) -> None:
    async with stream:
        await stream.send_all(b"ping")
        with trio.fail_after(5):
            assert await stream.receive_some(100) == b"ping"


async def test_a_tcp_server_listens_on_a_socket_another_server_opened() -> None:
    template = Echo(
        ("127.0.0.1", 0), socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)]
    )
    sock = template.open_socket()
    port = sock.getsockname()[1]
    assert port != 0
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0  # not listening
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 65536  # its options
    server = Echo(("127.0.0.1", 0))
    server.use_socket(sock)
    async with open_app(server):
        assert server.port == port
        await _echoes(await trio.open_tcp_stream("127.0.0.1", port))
        with pytest.raises(RuntimeError, match="before the application starts"):
            server.use_socket(template.open_socket())
    assert sock.fileno() == -1  # the server closed it
    assert template.port is None  # opening a socket changed nothing in the template


async def test_reuse_port_sockets_share_a_port_and_both_serve() -> None:
    template = Echo(("127.0.0.1", 0))
    first = template.open_socket(reuse_port=True)
    port = first.getsockname()[1]
    second = template.open_socket(reuse_port=True, port=port)
    assert second.getsockname()[1] == port
    root = Manager()
    for channel, sock in zip("ab", (first, second), strict=True):
        Echo(("127.0.0.1", 0), channel=channel).register(root).use_socket(sock)
    async with open_app(root):
        for _ in range(4):
            await _echoes(await trio.open_tcp_stream("127.0.0.1", port))


def test_use_socket_checks_the_socket() -> None:
    server = Echo(("127.0.0.1", 0))
    with pytest.raises(TypeError):
        server.use_socket("not a socket")  # type: ignore[arg-type]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        with pytest.raises(ValueError, match="SOCK_STREAM"):
            server.use_socket(udp)
    with socket.socket() as unbound, pytest.raises(ValueError, match="not bound"):
        server.use_socket(unbound)
    with socket.socket() as given:
        given.bind(("127.0.0.1", 0))
        with pytest.raises(ValueError, match="was given a socket"):
            Echo(given).open_socket()


def test_use_socket_replaces_a_socket_bound_early() -> None:
    server = Echo(("127.0.0.1", 0))
    early = server._sock  # circuits' attribute binds at once
    replacement = Echo(("127.0.0.1", 0)).open_socket()
    server.use_socket(replacement)
    assert early.fileno() == -1
    assert server._sock is replacement
    replacement.close()


async def test_a_unix_server_on_a_handed_socket_leaves_the_file_to_its_owner(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "s.sock")
    template = UnixEcho(path)
    sock = template.open_socket()
    with pytest.raises(ValueError, match="no port"):
        template.open_socket(reuse_port=True)
    with pytest.raises(ValueError, match="no port"):
        template.open_socket(port=1)
    server = UnixEcho(str(tmp_path / "unused.sock"))
    server.use_socket(sock)
    async with open_app(server):
        assert server.host == path
        await _echoes(await trio.open_unix_socket(path))
    assert (tmp_path / "s.sock").is_socket()  # still there
    assert not (tmp_path / "unused.sock").exists()


async def test_udp_servers_share_a_port_with_reuse_port() -> None:
    template = UdpEcho(("127.0.0.1", 0))
    first = template.open_socket(reuse_port=True)
    port = first.getsockname()[1]
    second = template.open_socket(reuse_port=True, port=port)
    assert first.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST) == 1
    root = Manager()
    servers = [UdpEcho(("127.0.0.1", 0), channel=c).register(root) for c in "ab"]
    servers[0].use_socket(first)
    servers[1].use_socket(second)
    with pytest.raises(ValueError, match="SOCK_DGRAM"):
        servers[1].use_socket(Echo(("127.0.0.1", 0)).open_socket())
    async with open_app(root):
        assert [s.port for s in servers] == [port, port]
        for _ in range(4):
            with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
                await peer.sendto(b"ping", ("127.0.0.1", port))
                with trio.fail_after(5):
                    assert (await peer.recvfrom(100))[0] == b"ping"
        with pytest.raises(RuntimeError, match="before the application starts"):
            servers[0].use_socket(first)
