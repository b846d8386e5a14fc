"""A telnet-style client: stdin goes to a TCP, UDP or UNIX peer; replies to stdout.

    python examples/telnet.py 127.0.0.1 8000
    python examples/telnet.py --udp 127.0.0.1 8000
    python examples/telnet.py --unix /tmp/echo.sock
    python examples/telnet.py --secure localhost 8443

Stops when stdin ends (after the peer's answers have arrived) or the peer closes.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import trio

import trio_circuits
from trio_circuits import BaseComponent, Component
from trio_circuits.net.events import close, connect, write
from trio_circuits.net.sockets import TCPClient, UDPClient, UNIXClient


class Stdin(BaseComponent):
    """Reads standard input in the I/O nursery and fires ``write`` for each chunk."""

    channel = "client"

    def __init__(self, target: tuple[str, int] | None = None) -> None:
        super().__init__()
        self.target = target  # UDP: where datagrams go

    async def run_io(self, *, task_status: trio.TaskStatus[Any]) -> None:
        task_status.started()
        stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
        try:
            while data := await stdin.receive_some(4096):
                self.fire(write(data) if self.target is None else write(self.target, data))
            await trio.sleep(0.5)  # let the peer's answers arrive
            self.fire(close())
        finally:
            await stdin.aclose()


class Telnet(Component):
    channel = "client"

    def init(self, host: str, port: int | None, secure: bool = False, udp: bool = False) -> None:
        self.host, self.port, self.secure, self.udp = host, port, secure, udp
        if udp:
            UDPClient().register(self)
        else:
            (UNIXClient() if port is None else TCPClient()).register(self)

    def ready(self, component: Any, *bind: Any) -> None:
        if self.udp:
            assert self.port is not None
            Stdin((self.host, self.port)).register(self)
        elif self.port is None:
            self.fire(connect(self.host))
        else:
            self.fire(connect(self.host, self.port, secure=self.secure))

    def connected(self, host: str, port: Any) -> None:
        print(f"Connected to {host}:{port}", file=sys.stderr, flush=True)
        Stdin().register(self)

    def read(self, *args: Any) -> None:
        data: bytes = args[-1]  # TCP/UNIX: (data); UDP: (address, data)
        sys.stdout.buffer.write(data)
        sys.stdout.flush()

    def error(self, *args: Any) -> None:
        print(f"ERROR: {args[-1]}", file=sys.stderr, flush=True)

    def unreachable(self, host: str, port: Any, reason: Any) -> None:
        self.stop(1)

    def disconnected(self) -> None:
        self.stop()

    def closed(self) -> None:
        self.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("host", nargs="?", default="127.0.0.1")
    parser.add_argument("port", nargs="?", type=int, default=8000)
    parser.add_argument("--unix", metavar="PATH")
    parser.add_argument("--secure", action="store_true")
    parser.add_argument("--udp", action="store_true")
    args = parser.parse_args()
    if args.unix:
        trio_circuits.run(Telnet(args.unix, None))
    else:
        trio_circuits.run(Telnet(args.host, args.port, args.secure, args.udp))
