"""Line flood: N peers each send many two-byte lines to a ``TCPServer`` + ``Line``.

Usage::

    python benchmarks/line_flood.py [--peers 1 50 500] [--lines 20000] [--runs 3]

For each N, a server process (one ``line`` handler counting lines) is started on
a free loopback port; N Trio peers in this process connect, send ``x\\n`` * lines,
half-close and read until EOF.  The server samples its queue length between
dispatcher batches and reports, once it has counted every line: lines/s (first
byte to last line), the peak number of queued events and its peak RSS (VmHWM)
against its RSS when idle.  Medians of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

SERVER = r"""
import json, os, sys, time
import trio
from trio_circuits import Manager, handler
from trio_circuits.net.sockets import TCPServer
from trio_circuits.protocols.line import Line

expected = int(sys.argv[1])


def rss_kib(field):
    with open("/proc/self/status") as status:
        for row in status:
            if row.startswith(field):
                return int(row.split()[1])
    return 0


class Counter(TCPServer):
    count = 0
    first = None

    @handler("read", priority=1)
    def _first(self, sock, data):
        if self.first is None:
            self.first = time.perf_counter()

    @handler("line")
    def _line(self, sock, data):
        self.count += 1
        if self.count == expected:
            self.done.set()


async def main():
    root = Manager()
    server = Counter(("127.0.0.1", 0)).register(root)
    Line(channel="server").register(root)
    server.done = trio.Event()
    peak = 0
    async with trio.open_nursery() as nursery:
        await nursery.start(root.run)
        idle = rss_kib("VmRSS:")
        print(server.port, flush=True)

        async def sample():
            nonlocal peak
            while True:
                peak = max(peak, len(root))
                await trio.sleep(0)

        nursery.start_soon(sample)
        await server.done.wait()
        elapsed = time.perf_counter() - server.first
        print(json.dumps({
            "lines_per_s": expected / elapsed,
            "peak_queue": peak,
            "idle_rss_mib": idle / 1024,
            "peak_rss_mib": rss_kib("VmHWM:") / 1024,
        }), flush=True)
        root.stop()
        nursery.cancel_scope.cancel()


trio.run(main)
"""


def run_once(peers: int, lines: int, memory_limit_mib: int) -> dict[str, float] | None:
    """One run; ``None`` if the server ran out of its memory limit or time."""
    import trio

    def limit() -> None:
        size = memory_limit_mib * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(peers * lines)],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=limit,
    )
    assert proc.stdout is not None
    try:
        port = int(proc.stdout.readline())
        payload = b"x\n" * lines

        async def peer() -> None:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            try:
                await stream.send_all(payload)
                await stream.send_eof()
                while await stream.receive_some(65536):
                    pass
            except (trio.BrokenResourceError, OSError):
                pass
            finally:
                await stream.aclose()

        async def flood() -> None:
            with trio.move_on_after(300):
                async with trio.open_nursery() as nursery:
                    for _ in range(peers):
                        nursery.start_soon(peer)

        trio.run(flood)
        line = proc.stdout.readline()
        return json.loads(line) if line else None
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peers", type=int, nargs="+", default=[1, 50, 500])
    parser.add_argument("--lines", type=int, default=20_000, help="lines per peer")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-limit", type=int, default=4096, help="server MiB")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    print(f"{args.lines} two-byte lines per peer, medians of {args.runs} runs", flush=True)
    print(f"{'peers':>6} {'lines/s':>10} {'peak queue':>11} {'idle RSS':>9} {'peak RSS':>9}")
    for peers in args.peers:
        results = [run_once(peers, args.lines, args.memory_limit) for _ in range(args.runs)]
        done = [r for r in results if r is not None]
        if not done:
            print(f"{peers:>6} {'(server exceeded its memory limit or time)':>40}")
            continue

        def median(key: str, runs: list[dict[str, float]] = done) -> float:
            return statistics.median(r[key] for r in runs)

        print(
            f"{peers:>6} {median('lines_per_s'):>10,.0f} {median('peak_queue'):>11,.0f} "
            f"{median('idle_rss_mib'):>8.1f}M {median('peak_rss_mib'):>8.1f}M"
            + ("" if len(done) == len(results) else f"  ({len(done)}/{len(results)} runs)"),
            flush=True,
        )


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
