"""A telnet-style chat server: every line a client sends goes to all the others.

    python examples/chatserver.py --bind 127.0.0.1:8000

Connect several ``nc 127.0.0.1 8000`` sessions and type.  Stop it with Ctrl-C.
Nobody waits for a member that does not read (``slow_receivers="close"``): once more
than 256 KiB wait for it, it is dropped, and the others never notice.
"""

from __future__ import annotations

import argparse
from typing import Any

import trio_circuits
from trio_circuits import Component, Debugger, handler
from trio_circuits.net.events import write
from trio_circuits.net.sockets import Connection, TCPServer


class ChatServer(Component):
    channel = "server"

    def init(self, bind: str, debug: bool = False) -> None:
        self.clients: dict[Connection, str] = {}
        if debug:
            Debugger().register(self)
        TCPServer(bind, slow_receivers="close").register(self)

    @handler(False)  # a helper, not a handler of ``broadcast`` events
    def broadcast(self, data: bytes, exclude: Connection | None = None) -> None:
        for sock in self.clients:
            if sock is not exclude:
                self.fire(write(sock, data))

    def ready(self, server: Any, bind: tuple[Any, Any]) -> None:
        print(f"Listening on {bind[0]}:{bind[1]}", flush=True)

    def connect(self, sock: Connection, host: str, port: int) -> None:
        name = f"{host}:{port}"
        self.clients[sock] = name
        self.fire(write(sock, b"Welcome to the chat server!\n"))
        self.broadcast(f"* {name} joined\n".encode(), exclude=sock)

    def disconnect(self, sock: Connection) -> None:
        name = self.clients.pop(sock, None)
        if name is not None:
            self.broadcast(f"* {name} left\n".encode())

    def read(self, sock: Connection, data: bytes) -> None:
        self.broadcast(f"<{self.clients[sock]}> ".encode() + data, exclude=sock)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port (port 0: any)")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()
    trio_circuits.run(ChatServer(args.bind, debug=args.debug))
