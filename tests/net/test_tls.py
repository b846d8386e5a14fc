"""TLS servers and clients, starttls both ways, hostile TLS peers (trustme certificates)."""

from __future__ import annotations

import ssl
from functools import partial
from pathlib import Path

import trio
import trustme

from trio_circuits import Manager, handler, open_app
from trio_circuits.net.events import close, connect, starttls, write
from trio_circuits.net.sockets import Connection, TCPClient, TCPServer
from trio_circuits.testing import Watcher


class Echo(TCPServer):
    @handler("read")
    def _echo(self, sock: Connection, data: bytes) -> bytes:
        return data


async def _tls_peer(port: int, context: ssl.SSLContext) -> trio.SSLStream[trio.SocketStream]:
    raw = await trio.open_tcp_stream("127.0.0.1", port)
    tls = trio.SSLStream(raw, context, server_hostname="localhost")
    with trio.fail_after(5):
        await tls.do_handshake()
    return tls


async def test_tls_server_with_files_and_a_plain_trio_client(
    cert_files: tuple[str, str, str], client_context: ssl.SSLContext
) -> None:
    certfile, keyfile, _ = cert_files
    server = Echo(("127.0.0.1", 0), secure=True, certfile=certfile, keyfile=keyfile)
    w = Watcher(server)
    async with open_app(server):
        tls = await _tls_peer(server.port, client_context)
        ev = await w.wait("connect")
        assert ev.args[0].secure
        await tls.send_all(b"secret")
        with trio.fail_after(5):
            assert await tls.receive_some(100) == b"secret"
        assert (await w.wait("read")).args[1] == b"secret"
        await tls.aclose()
        await w.wait("disconnect")


async def test_tls_client_verifies_and_talks(
    server_context: ssl.SSLContext,
    client_context: ssl.SSLContext,
    cert_files: tuple[str, str, str],
) -> None:
    m = Manager()
    server = Echo(("127.0.0.1", 0), secure=True, ssl_context=server_context).register(m)
    TCPClient().register(m)
    w = Watcher(m)
    async with open_app(m):
        m.fire(
            connect(
                "127.0.0.1",
                server.port,
                secure=True,
                ssl_context=client_context,
                server_hostname="localhost",
            ),
            "client",
        )
        await w.wait("connected", "client")
        m.fire(write(b"over tls"), "client")
        assert (await w.wait("read", "client")).args == [b"over tls"]
        m.fire(close(), "client")
        await w.wait("disconnected", "client")
        # ca_certs as a file works too; the certificate names 127.0.0.1.
        m.fire(connect("127.0.0.1", server.port, secure=True, ca_certs=cert_files[2]), "client")
        await w.wait("connected", "client")
        m.fire(close(), "client")
        await w.wait("disconnected", "client")


async def test_tls_client_rejects_an_unverified_server(server_context: ssl.SSLContext) -> None:
    m = Manager()
    server = Echo(("127.0.0.1", 0), secure=True, ssl_context=server_context).register(m)
    TCPClient().register(m)
    w = Watcher(m)
    async with open_app(m):
        # No trust in our private CA: verification must fail.
        m.fire(connect("127.0.0.1", server.port, secure=True), "client")
        ev = await w.wait("error", "client")
        assert isinstance(ev.args[0], ssl.SSLError)
        assert not [e for e in w.seen if e.name == "connected"]


async def test_failed_tls_client_handshakes_end_and_the_client_connects_again(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    class Plain(TCPServer):
        @handler("read")
        def _echo(self, sock: Connection, data: bytes) -> bytes:
            return data

    m = Manager()
    tls_server = Echo(("127.0.0.1", 0), secure=True, ssl_context=server_context).register(m)
    plain_server = Plain(("127.0.0.1", 0), channel="plain").register(m)
    client = TCPClient(handshake_timeout=2).register(m)
    w = Watcher(m)
    async with open_app(m):
        for port in (tls_server.port, plain_server.port):
            # Untrusted, then not TLS at all: error, then unreachable, socket closed.
            m.fire(connect("127.0.0.1", port, secure=True), "client")
            err = await w.wait("error", "client")
            unreachable = await w.wait("unreachable", "client")
            assert unreachable.args[:2] == ["127.0.0.1", port]
            assert unreachable.args[2] is err.args[0]
            # Once each (the server side reports its own error on its channel).
            reports = ("error", "unreachable")
            assert not [e for e in w.seen if e.name in reports and "client" in e.channels]
            assert not client.connected
            assert client.connection is None
        names = [e.name for e in w.seen]
        assert "connected" not in names
        assert "disconnected" not in names
        # With the right CA, the same client connects.
        secure = connect("127.0.0.1", tls_server.port, secure=True, ssl_context=client_context)
        m.fire(secure, "client")
        await w.wait("connected", "client")
        m.fire(write(b"works"), "client")
        assert (await w.wait("read", "client")).args == [b"works"]
        with trio.fail_after(5):
            # Bounded poll: the plain server saw one connection, which has closed.
            while plain_server.statistics()["connections"]:  # noqa: ASYNC110
                await trio.sleep(0.01)


async def test_silent_and_garbage_tls_peers_do_not_block_others(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    server = Echo(("127.0.0.1", 0), secure=True, ssl_context=server_context, handshake_timeout=1)
    w = Watcher(server)
    async with open_app(server):
        silent = await trio.open_tcp_stream("127.0.0.1", server.port)
        garbage = await trio.open_tcp_stream("127.0.0.1", server.port)
        await garbage.send_all(b"GET / HTTP/1.0\r\n\r\n" * 10)
        with trio.fail_after(3):
            tls = await _tls_peer(server.port, client_context)
            await tls.send_all(b"fine")
            assert await tls.receive_some(100) == b"fine"
        errors = [await w.wait("error", timeout=5) for _ in range(2)]
        kinds = {type(e.args[1]).__name__ for e in errors}
        assert "TooSlowError" in kinds
        assert len([e for e in w.seen if e.name == "connect"]) == 1  # the good one only
        await tls.aclose()
        await silent.aclose()
        await garbage.aclose()


async def test_server_starttls(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    class Smtpish(TCPServer):
        @handler("read")
        def _on_read(self, sock: Connection, data: bytes) -> None:
            if data == b"STARTTLS\r\n":
                self.fire(write(sock, b"220 go ahead\r\n"))
                self.fire(starttls(sock))
            else:
                self.fire(write(sock, b"echo:" + data))

    server = Smtpish(("127.0.0.1", 0), ssl_context=server_context)
    w = Watcher(server)
    async with open_app(server):
        raw = await trio.open_tcp_stream("127.0.0.1", server.port)
        await raw.send_all(b"plain\r\n")
        with trio.fail_after(5):
            assert await raw.receive_some(100) == b"echo:plain\r\n"
            await raw.send_all(b"STARTTLS\r\n")
            assert await raw.receive_some(100) == b"220 go ahead\r\n"
            tls = trio.SSLStream(raw, client_context, server_hostname="localhost")
            await tls.do_handshake()
            await tls.send_all(b"secret\r\n")
            assert await tls.receive_some(100) == b"echo:secret\r\n"
        reads = [e.args[1] for e in w.seen if e.name == "read"]
        assert reads == [b"plain\r\n", b"STARTTLS\r\n", b"secret\r\n"]
        sock = [e.args[0] for e in w.seen if e.name == "read"][-1]
        assert sock.secure
        await tls.aclose()


async def test_client_starttls(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    upgraded = trio.Event()

    async def handler_(stream: trio.SocketStream) -> None:
        assert await stream.receive_some(100) == b"STARTTLS\r\n"
        await stream.send_all(b"OK\r\n")
        tls = trio.SSLStream(stream, server_context, server_side=True)
        await tls.do_handshake()
        upgraded.set()
        data = await tls.receive_some(100)
        await tls.send_all(b"tls:" + data)
        await tls.aclose()

    class Client(TCPClient):
        @handler("read")
        def _on_read(self, data: bytes) -> None:
            if data == b"OK\r\n":
                self.fire(starttls(ssl_context=client_context, server_hostname="localhost"))
                self.fire(write(b"hello"))

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handler_, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        client = Client()
        w = Watcher(client)
        async with open_app(client):
            client.fire(connect("127.0.0.1", port))
            await w.wait("connected")
            client.fire(write(b"STARTTLS\r\n"))
            with trio.fail_after(5):
                await upgraded.wait()
            reads: list[bytes] = []
            while len(reads) < 2:
                reads.append((await w.wait("read")).args[0])
            assert reads == [b"OK\r\n", b"tls:hello"]
            assert client.connection is None or client.connection.secure
        nursery.cancel_scope.cancel()


async def test_server_requires_client_certificates(
    tmp_path: Path, ca: trustme.CA, cert_files: tuple[str, str, str]
) -> None:
    certfile, keyfile, cafile = cert_files
    client_cert = ca.issue_cert("client@example.org")
    client_pem = tmp_path / "client.pem"
    client_cert.private_key_and_cert_chain_pem.write_to_path(str(client_pem))
    m = Manager()
    server = Echo(
        ("127.0.0.1", 0),
        secure=True,
        certfile=certfile,
        keyfile=keyfile,
        ca_certs=cafile,
        cert_reqs=ssl.CERT_REQUIRED,
    ).register(m)
    TCPClient().register(m)
    w = Watcher(m)
    async with open_app(m):
        args = ("127.0.0.1", server.port)
        m.fire(connect(*args, secure=True, ca_certs=cafile, certfile=str(client_pem)), "client")
        await w.wait("connected", "client")
        m.fire(write(b"mutual"), "client")
        assert (await w.wait("read", "client")).args == [b"mutual"]
        m.fire(close(), "client")
        await w.wait("disconnected", "client")
        # Without a client certificate the server refuses the handshake.
        raw = await trio.open_tcp_stream(*args)
        context = ssl.create_default_context(cafile=cafile)
        tls = trio.SSLStream(raw, context, server_hostname="127.0.0.1")
        with trio.fail_after(5):
            try:
                await tls.do_handshake()
                await tls.send_all(b"x")
                data = await tls.receive_some(10)
            except trio.BrokenResourceError:
                data = b""
        assert data == b""
        ev = await w.wait("error", "server")
        assert isinstance(ev.args[1], ssl.SSLError)
        await trio.aclose_forcefully(tls)
