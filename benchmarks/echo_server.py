"""The trio_circuits echo server used by the benchmarks: the ``read`` handler returns
the data, which is written back.

Usage: ``python benchmarks/echo_server.py --port PORT`` (binds 127.0.0.1).
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


def main() -> None:
    """Parse ``--port`` and serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    trio_circuits.run(EchoServer(("127.0.0.1", args.port)))


if __name__ == "__main__":
    main()
