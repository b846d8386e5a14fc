"""The many-core baseline: N plain-Trio echo processes sharing one port.

Usage::

    python benchmarks/raw_trio_workers.py --port PORT --workers N --listen reuseport
    python benchmarks/raw_trio_workers.py --port PORT --workers N --listen shared

``reuseport``: each worker binds 127.0.0.1:PORT itself with ``SO_REUSEPORT`` (the
kernel spreads new connections over the workers' accept queues).  ``shared``: this
parent binds and listens once and the workers inherit the socket (one accept queue;
whichever worker accepts first takes the connection).  No supervision: SIGTERM or
SIGINT to the parent is passed on to the workers, which exit at once.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys

import trio
from raw_trio_echo import echo


async def serve(sock: socket.socket) -> None:
    """Accept and echo on ``sock`` (already bound and listening) until cancelled."""
    listener = trio.SocketListener(trio.socket.from_stdlib_socket(sock))
    await trio.serve_listeners(echo, [listener])


def worker(args: argparse.Namespace) -> None:
    """One worker: the inherited socket, or one bound here with SO_REUSEPORT."""
    if args.fd is not None:
        sock = socket.socket(fileno=args.fd)
    else:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", args.port))
        sock.listen(4096)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    trio.run(serve, sock)


def parent(args: argparse.Namespace) -> None:
    """Start the workers, pass on SIGTERM/SIGINT, wait for them."""
    me = [sys.executable, os.path.abspath(__file__), "--port", str(args.port), "--worker"]
    fds: tuple[int, ...] = ()
    if args.listen == "shared":
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", args.port))
        sock.listen(4096)
        fds = (sock.fileno(),)
        me += ["--fd", str(sock.fileno())]
    procs = [subprocess.Popen(me, pass_fds=fds) for _ in range(args.workers)]

    def stop(signo: int, frame: object) -> None:
        for p in procs:
            p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for p in procs:
        p.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--listen", choices=("reuseport", "shared"), default="reuseport")
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.fd is not None or arguments.worker:
        worker(arguments)
    else:
        parent(arguments)
