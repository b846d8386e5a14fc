"""The servers of ``benchmarks/isolation.py``, one process each.

    python benchmarks/isolation_server.py MODE [--send-timeout S]

MODE is ``flood`` (``Line``: a ``ping`` line is answered ``pong``, other lines are
counted), ``amplify`` (``Line``: every line is answered with 1 KiB), ``chat``
(``examples/chatserver.py``'s server) or ``stuck`` (an echo server).  The server
prints its port, then a JSON line of statistics every 100 ms: the peak queue length
since the last line, RSS and peak RSS (MiB), open connections.  It stops when its
standard input closes.

MODE ``who`` is different: two worker processes (``workers=2``) share a listener on
``--port``; each connection is told the PID of the worker that accepted it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import trio

import trio_circuits
from trio_circuits import Manager, handler
from trio_circuits.net.sockets import TCPServer
from trio_circuits.protocols.line import Line

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ANSWER = b"y" * 1023 + b"\n"


def rss_mib(field: str) -> float:
    """A ``/proc/self/status`` size field, in MiB."""
    with open("/proc/self/status") as status:
        for row in status:
            if row.startswith(field):
                return int(row.split()[1]) / 1024
    return 0.0


class FloodServer(TCPServer):
    """Answers ``ping`` with ``pong``; counts every other line."""

    lines = 0

    @handler("line")
    def _line(self, sock: Any, data: bytes) -> bytes | None:
        if data == b"ping":
            sock.write(b"pong\n")
        else:
            self.lines += 1
        return None


class AmplifyServer(TCPServer):
    """Answers every line with 1 KiB of its own (``ping`` with ``pong``)."""

    answered = 0

    @handler("line")
    def _line(self, sock: Any, data: bytes) -> None:
        if data == b"ping":
            sock.write(b"pong\n")
            return
        self.answered += 1
        sock.write(b"%d " % self.answered + ANSWER)  # a new object, as real answers are


class EchoServer(TCPServer):
    """Echoes what it reads."""

    @handler("read")
    def _read(self, sock: Any, data: bytes) -> bytes:
        return data


def _chat_server(send_timeout: float | None) -> Any:
    spec = importlib.util.spec_from_file_location("chatserver", EXAMPLES / "chatserver.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ChatServer("127.0.0.1:0")


class Who(TCPServer):
    """Tells each connection which process accepted it, then closes it."""

    @handler("connect")
    def _connect(self, sock: Any, *args: Any) -> None:
        sock.write(f"{os.getpid()}\n".encode())
        sock.close()


def make_who() -> Manager:
    """The ``who`` worker's tree (a module-level factory, as ``workers=N`` needs)."""
    return Who(("127.0.0.1", int(os.environ["ISOLATION_PORT"])))


def build(mode: str, send_timeout: float | None) -> tuple[Manager, TCPServer]:
    """The application of ``mode`` and its server."""
    kwargs: dict[str, Any] = {}
    if send_timeout is not None:
        kwargs["send_timeout"] = send_timeout
    if mode == "chat":
        root = _chat_server(send_timeout)
        server = next(c for c in root.components if isinstance(c, TCPServer))
        return root, server
    root = Manager()
    cls = {"flood": FloodServer, "amplify": AmplifyServer, "stuck": EchoServer}[mode]
    server = cls(("127.0.0.1", 0), **kwargs).register(root)
    if mode != "stuck":
        Line(channel="server").register(root)
    return root, server


async def main(mode: str, send_timeout: float | None) -> None:
    root, server = build(mode, send_timeout)
    async with trio_circuits.open_app(root), trio.open_nursery() as nursery:
        await trio.sleep(0.2)
        print(json.dumps({"port": server.port, "idle_rss": rss_mib("VmRSS:")}), flush=True)

        async def stdin_closed() -> None:
            await trio.to_thread.run_sync(sys.stdin.read)
            nursery.cancel_scope.cancel()

        nursery.start_soon(stdin_closed)
        peak = 0
        report = trio.current_time() + 0.1
        while True:
            peak = max(peak, len(root))
            if trio.current_time() >= report:
                stats = {
                    "queue": peak,
                    "rss": rss_mib("VmRSS:"),
                    "hwm": rss_mib("VmHWM:"),
                    "connections": len(server.connections),
                }
                print(json.dumps(stats), flush=True)
                peak = 0
                report = trio.current_time() + 0.1
            await trio.sleep(0.001)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["flood", "amplify", "chat", "stuck", "who"])
    parser.add_argument("--send-timeout", type=float, default=None)
    parser.add_argument("--port", type=int, default=0, help="who: the port to share")
    args = parser.parse_args()
    if args.mode == "who":
        os.environ["ISOLATION_PORT"] = str(args.port)
        trio_circuits.run(make_who, workers=2)
    else:
        trio.run(main, args.mode, args.send_timeout)
