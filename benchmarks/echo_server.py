"""The trio_circuits echo server used by the benchmarks: the ``read`` handler returns
the data, which is written back.

Usage: ``python benchmarks/echo_server.py --port PORT [--workers N] [--reuse-port]``
(binds 127.0.0.1).  ``--workers N`` runs ``trio_circuits.run(make_app, workers=N)``:
N worker processes sharing the listener, under a supervisor.
"""

from __future__ import annotations

import argparse

import trio_circuits
from trio_circuits import handler
from trio_circuits.net.sockets import TCPServer


class EchoServer(TCPServer):
    """Echo every byte back to its connection."""

    @handler("read")
    def _on_read(self, sock: object, data: bytes) -> bytes:
        return data


def parse_args() -> argparse.Namespace:
    """The command line (a worker reads its supervisor's)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--reuse-port", action="store_true")
    return parser.parse_args()


def make_app() -> EchoServer:
    """The application: one echo server on ``--port``."""
    return EchoServer(("127.0.0.1", parse_args().port))


def main() -> None:
    """Serve until SIGINT/SIGTERM."""
    args = parse_args()
    trio_circuits.run(make_app, workers=args.workers, reuse_port=args.reuse_port)


if __name__ == "__main__":
    main()
