"""The baseline: an echo server in plain Trio (``trio.serve_tcp``).

Usage: ``python benchmarks/raw_trio_echo.py --port PORT`` (binds 127.0.0.1).
"""

from __future__ import annotations

import argparse

import trio


async def echo(stream: trio.SocketStream) -> None:
    """Echo everything until the peer closes; a reset just ends the connection."""
    try:
        async for data in stream:
            await stream.send_all(data)
    except trio.BrokenResourceError:
        pass


async def main(port: int) -> None:
    """Serve until interrupted."""
    await trio.serve_tcp(echo, port, host="127.0.0.1")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    trio.run(main, args.port)  # the benchmark stops it with SIGTERM
