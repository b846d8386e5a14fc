"""The IRC component over real loopback sockets (client and server sides)."""

from __future__ import annotations

import functools
from typing import Any

import trio

from trio_circuits import Component, Event, handler, open_app
from trio_circuits.net.events import connect
from trio_circuits.net.sockets import TCPClient, TCPServer
from trio_circuits.protocols.irc import IRC, NICK, PRIVMSG, Message, reply
from trio_circuits.testing import Watcher


class Server(Component):
    """A server application that records what its clients say."""

    channel = "server"

    def init(self) -> None:
        self.messages: list[tuple[str, Any, list[Any]]] = []
        TCPServer(("127.0.0.1", 0), channel="server").register(self)
        IRC(channel="server").register(self)

    @handler()
    def _record(self, event: Event, *args: Any) -> None:
        if hasattr(event, "message"):
            self.messages.append((event.name, args[1], list(args[2:])))

    def reply(self, sock: Any, message: Message) -> None:
        self.fire(Event.create("write", sock, bytes(message)))


async def read_lines(stream: trio.SocketStream, count: int) -> list[bytes]:
    data = b""
    with trio.fail_after(5):
        while data.count(b"\r\n") < count:
            chunk = await stream.receive_some(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n")[:count]


async def test_server_side_responses_with_tags() -> None:
    app = Server()
    watcher = Watcher(app)
    async with open_app(app):
        server = app.components[0]
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)  # type: ignore[attr-defined]
        await stream.send_all(b"@time=2024-05-01T00:00:00Z;+id=7 :me!u@h PRIVMSG #c :hi there\r\n")
        event = await watcher.wait("privmsg", "server")
        sock = event.args[0]
        assert event.args[1:] == [("me", "u", "h"), "#c", "hi there"]
        assert event.message.tags == {"time": "2024-05-01T00:00:00Z", "+id": "7"}  # type: ignore[attr-defined]
        await stream.send_all(b"001 me :Welcome\r\n")
        numeric = await watcher.wait("numeric", "server")
        assert numeric.args[1:] == [(None, None, None), 1, "me", "Welcome"]
        app.fire(reply(sock, Message("NOTICE", "me", "from the server", prefix="srv")), "server")
        assert await read_lines(stream, 1) == [b":srv NOTICE me :from the server"]
        await stream.aclose()


async def test_invalid_and_over_long_lines() -> None:
    app = Server()
    watcher = Watcher(app)
    async with open_app(app):
        server = app.components[0]
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)  # type: ignore[attr-defined]
        await stream.send_all(b"x-y not a command\r\nPING ok\r\n")
        error = await watcher.wait("error", "server")
        assert "invalid IRC command" in str(error.args[1])
        await watcher.wait("ping", "server")  # the connection goes on
        await stream.send_all(b"PRIVMSG #c :" + b"x" * 10_000 + b"\r\n")
        error = await watcher.wait("error", "server")
        assert isinstance(error.args[1], ValueError)
        await watcher.wait("disconnect", "server")  # Line closes that connection
        with trio.fail_after(5):
            assert await stream.receive_some(100) == b""
        await stream.aclose()


class Client(Component):
    channel = "client"

    def init(self, port: int) -> None:
        self.port = port
        TCPClient(channel="client").register(self)
        IRC(channel="client").register(self)

    def ready(self, component: Any) -> None:
        self.fire(connect("127.0.0.1", self.port))

    def connected(self, host: str, port: int) -> None:
        self.fire(NICK("tester"))


async def test_client_sends_commands_and_answers_ping() -> None:
    async with trio.open_nursery() as nursery:
        serve = functools.partial(trio.serve_tcp, _peer, 0, host="127.0.0.1")
        listeners = await nursery.start(serve)
        port = listeners[0].socket.getsockname()[1]
        app = Client(port)
        watcher = Watcher(app)
        async with open_app(app):
            await watcher.wait("connected")
            notice = await watcher.wait("notice", "client", timeout=10)
            assert notice.args == [("peer", None, None), "tester", "got NICK tester, PONG token"]
            app.fire(PRIVMSG("#c", "bye"), "client")
            done = await watcher.wait("privmsg", "client", timeout=10)
            assert done.args[-1] == "PRIVMSG #c bye"
        nursery.cancel_scope.cancel()


async def _peer(stream: trio.SocketStream) -> None:
    """A hand-written IRC peer: expects NICK, PINGs, expects the PONG, reports."""
    seen = await read_lines(stream, 1)
    await stream.send_all(b"PING :token\r\n")
    seen += await read_lines(stream, 1)
    text = ", ".join(line.decode() for line in seen)
    await stream.send_all(f":peer NOTICE tester :got {text}\r\n".encode())
    last = await read_lines(stream, 1)
    await stream.send_all(b":peer PRIVMSG tester :" + last[0] + b"\r\n")
    with trio.move_on_after(5):
        await stream.receive_some(100)
