"""A TCP port forwarder: each connection to SOURCE gets its own client to TARGET.

    python examples/portforward.py 127.0.0.1:2222 127.0.0.1:22

As in circuits' example, each forwarded connection has a ``TCPClient`` on a channel
of its own, with handlers added at run time.  Both sides are opened with
``half_close=True``: a client that sends its request and half-closes
(``printf 'x\n' | nc -N``) has its EOF passed on (``eof`` -> ``send_eof``) and still
gets the whole reply.
"""

from __future__ import annotations

import argparse
from typing import Any
from uuid import uuid4

import trio_circuits
from trio_circuits import Component, Event, handler
from trio_circuits.net.events import close, connect, send_eof, write
from trio_circuits.net.sockets import Connection, TCPClient, TCPServer


def _on_target_ready(self: PortForwarder, event: Event, component: Any) -> None:
    host, port = self.target
    self.fire(connect(host, port), component.channel)


def _on_target_read(self: PortForwarder, event: Event, data: bytes) -> None:
    sock = self.sockets.get(event.channels[0])
    if sock is not None:  # else the source has gone: the target is closing
        self.fire(write(sock, data), "source")


def _on_target_eof(self: PortForwarder, event: Event) -> None:
    sock = self.sockets.get(event.channels[0])
    if sock is not None:
        self.fire(send_eof(sock), "source")  # the target has said everything


def _on_target_disconnected(self: PortForwarder, event: Event) -> None:
    channel = event.channels[0]
    sock = self.sockets.pop(channel, None)
    if sock is not None:
        self.clients.pop(sock, None)
        self.fire(close(sock), "source")


class PortForwarder(Component):
    def init(self, source: str, target: str) -> None:
        host, _, port = target.rpartition(":")
        self.target = (host, int(port))
        self.clients: dict[Connection, tuple[TCPClient, str]] = {}
        self.sockets: dict[str, Connection] = {}
        TCPServer(source, channel="source", half_close=True).register(self)

    @handler("ready", channel="source")
    def _on_source_ready(self, server: Any, bind: tuple[Any, Any]) -> None:
        print(f"Forwarding {bind[0]}:{bind[1]} -> {self.target[0]}:{self.target[1]}", flush=True)

    @handler("connect", channel="source")
    def _on_source_connect(self, sock: Connection, host: str, port: int) -> None:
        channel = uuid4().hex
        client = TCPClient(channel=channel, half_close=True)
        for name, fn in (
            ("ready", _on_target_ready),
            ("read", _on_target_read),
            ("eof", _on_target_eof),
            ("disconnected", _on_target_disconnected),
        ):
            self.addHandler(handler(name, channel=channel)(fn))
        self.clients[sock] = (client, channel)
        self.sockets[channel] = sock
        client.register(self)

    @handler("read", channel="source")
    def _on_source_read(self, sock: Connection, data: bytes) -> None:
        entry = self.clients.get(sock)
        if entry is not None:  # else the target has gone: the source is closing
            self.fire(write(data), entry[1])

    @handler("eof", channel="source")
    def _on_source_eof(self, sock: Connection) -> None:
        entry = self.clients.get(sock)
        if entry is not None:
            self.fire(send_eof(), entry[1])  # the client's request is complete

    @handler("disconnect", channel="source")
    def _on_source_disconnect(self, sock: Connection) -> None:
        entry = self.clients.pop(sock, None)
        if entry is not None:
            client, channel = entry
            self.sockets.pop(channel, None)
            self.fire(close(), channel)
            client.unregister()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", help="host:port to listen on")
    parser.add_argument("target", help="host:port to forward to")
    args = parser.parse_args()
    trio_circuits.run(PortForwarder(args.source, args.target))
