"""A self-terminating tour of trio_circuits: an echo server and a chat server on
ephemeral loopback ports; clients connect in plaintext, over TLS (a throwaway
certificate) and with a starttls upgrade; they exchange data, disconnect, and the
application stops.  The Debugger prints the event trace.

Run: ``python examples/demo.py`` (``--quiet`` hides the trace).
"""

from __future__ import annotations

import argparse
import ssl
import sys

import trio
import trustme

from trio_circuits import Component, Debugger, Manager, handler, open_app
from trio_circuits.net.events import close, connect, starttls, write
from trio_circuits.net.sockets import Connection, TCPClient, TCPServer


class EchoServer(TCPServer):
    """Echoes; ``STARTTLS`` upgrades the connection (it holds a certificate)."""

    @handler("read")
    def _on_read(self, sock: Connection, data: bytes) -> bytes | None:
        if data == b"STARTTLS\r\n":
            self.fire(write(sock, b"OK\r\n"))
            self.fire(starttls(sock))
            return None
        return data


class Chat(Component):
    """Relays every chat message to the other members."""

    channel = "chat"

    def init(self) -> None:
        self.members: set[Connection] = set()
        self.pair = trio.Event()  # set once two members are in

    def connect(self, sock: Connection, host: str, port: int) -> None:
        self.members.add(sock)
        if len(self.members) == 2:
            self.pair.set()

    def disconnect(self, sock: Connection) -> None:
        self.members.discard(sock)

    def read(self, sock: Connection, data: bytes) -> None:
        for other in self.members - {sock}:
            self.fire(write(other, data))


def tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throwaway CA: (server context, client context trusting it)."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


async def exchange(app: Manager, channel: str, data: bytes) -> bytes:
    """Write ``data`` from the client on ``channel``; return what it reads back."""
    app.fire(write(data), channel)
    value = await app.wait("read", channel, timeout=5)
    assert value.event is not None
    reply: bytes = value.event.args[0]
    return reply


async def main(quiet: bool) -> None:
    server_ctx, client_ctx = tls_contexts()
    app = Manager()
    echo = EchoServer(("127.0.0.1", 0), channel="echo", ssl_context=server_ctx).register(app)
    tls_echo = EchoServer(
        ("127.0.0.1", 0), secure=True, ssl_context=server_ctx, channel="tls"
    ).register(app)
    chat = TCPServer(("127.0.0.1", 0), channel="chat").register(app)
    room = Chat().register(app)
    for name in ("plain", "secure", "upgrade", "alice", "bob"):
        TCPClient(channel=name).register(app)
    if not quiet:
        Debugger(file=sys.stdout, IgnoreEvents=["registered"]).register(app)

    async with open_app(app):
        print(f"# echo on 127.0.0.1:{echo.port}, TLS echo on {tls_echo.port}, chat on {chat.port}")

        print("# 1. a plaintext client")
        app.fire(connect("127.0.0.1", echo.port), "plain")
        await app.wait("connected", "plain", timeout=5)
        print("#    echoed:", await exchange(app, "plain", b"hello"))

        print("# 2. a TLS client (certificate verified against the throwaway CA)")
        app.fire(
            connect("127.0.0.1", tls_echo.port, secure=True, ssl_context=client_ctx), "secure"
        )
        await app.wait("connected", "secure", timeout=5)
        print("#    echoed over TLS:", await exchange(app, "secure", b"secret"))

        print("# 3. a client that upgrades with starttls")
        app.fire(connect("127.0.0.1", echo.port), "upgrade")
        await app.wait("connected", "upgrade", timeout=5)
        assert await exchange(app, "upgrade", b"STARTTLS\r\n") == b"OK\r\n"
        app.fire(starttls(ssl_context=client_ctx, server_hostname="localhost"), "upgrade")
        print("#    echoed after starttls:", await exchange(app, "upgrade", b"now encrypted"))

        print("# 4. two chat clients")
        for name in ("alice", "bob"):
            app.fire(connect("127.0.0.1", chat.port), name)
            await app.wait("connected", name, timeout=5)
        with trio.fail_after(5):
            await room.pair.wait()  # the server side of both connections
        print("#    bob got:", await exchange_chat(app))

        print("# 5. everyone disconnects")
        for name in ("plain", "secure", "upgrade", "alice", "bob"):
            app.fire(close(), name)
            await app.wait("disconnected", name, timeout=5)
    print("# demo finished cleanly")


async def exchange_chat(app: Manager) -> bytes:
    app.fire(write(b"hi bob"), "alice")
    value = await app.wait("read", "bob", timeout=5)
    assert value.event is not None
    message: bytes = value.event.args[0]
    return message


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quiet", action="store_true", help="no event trace")
    args = parser.parse_args()
    trio.run(main, args.quiet)
