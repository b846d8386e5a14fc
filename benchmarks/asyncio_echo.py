"""The other baseline: asyncio's Protocol echo server (stdlib event loop).

``data_received`` writes straight back with ``transport.write``; reading pauses
while the transport's write buffer is above its high-water mark
(``pause_writing``/``resume_writing``), so a peer that does not read cannot grow it.

Usage: ``python benchmarks/asyncio_echo.py --port PORT`` (binds 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import signal


class Echo(asyncio.Protocol):
    """Echo every byte; pause reading while the write buffer is full."""

    transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def pause_writing(self) -> None:
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()


async def main(port: int) -> None:
    """Serve until SIGTERM/SIGINT."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", port, backlog=5000)
    stop = asyncio.Event()
    for signo in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signo, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(main(args.port))
