"""A UDP echo server: every datagram goes back to its sender.

    python examples/udpecho.py --bind 127.0.0.1:8000

Try it with ``nc -u 127.0.0.1 8000``.  Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
from typing import Any

import trio_circuits
from trio_circuits import handler
from trio_circuits.net.sockets import UDPServer


class UDPEcho(UDPServer):
    @handler("ready")
    def _on_ready(self, component: Any, bind: tuple[str, int]) -> None:
        print(f"Listening on {bind[0]}:{bind[1]}", flush=True)

    @handler("read")
    def _on_read(self, address: tuple[str, int], data: bytes) -> bytes:
        return data


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port (port 0: any)")
    args = parser.parse_args()
    trio_circuits.run(UDPEcho(args.bind))
