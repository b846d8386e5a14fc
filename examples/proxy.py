"""A TCP proxy: every connection to BIND gets its own client component to TARGET.

    python examples/proxy.py --bind 127.0.0.1:3333 --target 127.0.0.1:22

A port of circuits' example: a per-connection ``Client`` component on a channel of
its own, unregistered when its connection ends.  Both sides half-close
(``half_close=True``): a client's EOF is passed on to the target, and the target's
back, so a request followed by EOF still gets its whole reply.
"""

from __future__ import annotations

import argparse
from typing import Any
from uuid import uuid4

import trio_circuits
from trio_circuits import Component, Debugger
from trio_circuits.net.events import close, connect, send_eof, write
from trio_circuits.net.sockets import Connection, TCPClient, TCPServer


class Client(Component):
    channel = "client"

    def init(self, sock: Connection, host: str, port: int, channel: str = channel) -> None:
        self.sock = sock
        self.host = host
        self.port = port
        TCPClient(channel=self.channel, half_close=True).register(self)

    def ready(self, *args: Any) -> None:
        self.fire(connect(self.host, self.port))

    def disconnected(self) -> None:
        self.fire(close(self.sock), self.parent.channel)

    def eof(self) -> None:
        self.fire(send_eof(self.sock), self.parent.channel)

    def read(self, data: bytes) -> None:
        self.fire(write(self.sock, data), self.parent.channel)


class Proxy(Component):
    channel = "server"

    def init(self, bind: str, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.clients: dict[Connection, Client] = {}
        TCPServer(bind, half_close=True).register(self)

    def ready(self, server: Any, bind: tuple[Any, Any]) -> None:
        print(f"Proxying {bind[0]}:{bind[1]} -> {self.host}:{self.port}", flush=True)

    def connect(self, sock: Connection, host: str, port: int) -> None:
        client = Client(sock, self.host, self.port, channel=uuid4().hex)
        self.clients[sock] = client.register(self)

    def disconnect(self, sock: Connection) -> None:
        client = self.clients.pop(sock, None)
        if client is not None:
            client.unregister()

    def eof(self, sock: Connection) -> None:
        client = self.clients.get(sock)
        if client is not None:
            self.fire(send_eof(), client.channel)

    def read(self, sock: Connection, data: bytes) -> None:
        client = self.clients.get(sock)
        if client is not None:  # else its target has gone: the connection is closing
            self.fire(write(data), client.channel)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bind", default="127.0.0.1:3333")
    parser.add_argument("--target", default="127.0.0.1:22")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")
    app = Proxy(args.bind, host, int(port))
    if args.debug:
        Debugger().register(app)
    trio_circuits.run(app)
