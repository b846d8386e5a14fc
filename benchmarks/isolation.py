"""Isolation: what one misbehaving peer costs the others (SPEC 5.2).

    python benchmarks/isolation.py [flood amplify chat stuck workers] [--seconds 5]

Each scenario starts a server process (``benchmarks/isolation_server.py``), attacks
it from this process while a well-behaved client measures its own latency, and
prints what the server reported (queue length, RSS):

* ``flood``: 50 peers flood a ``Line`` server with two-byte lines; a plain client's
  ``ping`` request/reply latency (p50, p99, max), the peak queue, RSS.
* ``amplify``: 10 peers each send 64 KiB of empty lines to a server that answers
  every line with 1 KiB, and never read; then they leave.  RSS while they stay and
  after, a plain client's latency meanwhile.
* ``chat``: ``examples/chatserver.py`` with four members talking and one that never
  reads: the lag of the others' messages (p50, p99, max), RSS, when the silent one
  is dropped.
* ``stuck``: 200 peers each send 1 MiB to an echo server, half-close and never read;
  how long until the server has released them all (``--send-timeout``, 2 s here).
* ``workers``: an echo server with ``workers=2`` (the default listeners); ten bursts
  of 100 connections; each worker's share of each burst.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import trio

HERE = Path(__file__).resolve().parent
SERVER = HERE / "isolation_server.py"
# The chat members' lines are 1 KiB: a member that does not read falls behind fast.
PAD = "." * 1000


class Server:
    """A server process and the statistics it prints."""

    def __init__(self, mode: str, *extra: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(HERE.parent))
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), mode, *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        first = self._first()
        self.port: int = first["port"]
        self.idle_rss: float = first["idle_rss"]
        self.samples: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _first(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for row in self.proc.stdout:  # the chat example prints a line of its own first
            if row.startswith("{"):
                return dict(json.loads(row))
        raise SystemExit("the server exited before it listened")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for row in self.proc.stdout:
            if not row.startswith("{"):
                continue
            sample = json.loads(row)
            sample["t"] = time.monotonic()
            self.samples.append(sample)

    def latest(self) -> dict[str, Any]:
        return self.samples[-1] if self.samples else {}

    def since(self, start: float) -> list[dict[str, Any]]:
        return [s for s in self.samples if s["t"] >= start]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def server(mode: str, *extra: str) -> Iterator[Server]:
    srv = Server(mode, *extra)
    try:
        yield srv
    finally:
        srv.close()


def percentiles(samples: list[float]) -> str:
    if not samples:
        return "no replies"
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms ({len(ordered)} samples)"
    )


async def probe(port: int, seconds: float, latencies: list[float]) -> None:
    """A plain client: ``ping`` every 20 ms, each reply timed (a missing one: 10 s)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        buffer = b""
        deadline = trio.current_time() + seconds
        while trio.current_time() < deadline:
            sent = trio.current_time()
            await stream.send_all(b"ping\n")
            with trio.move_on_after(10):
                while b"pong\n" not in buffer:
                    data = await stream.receive_some(65536)
                    if not data:
                        return
                    buffer += data
                buffer = buffer.split(b"pong\n", 1)[1]
                latencies.append(trio.current_time() - sent)
                await trio.sleep(0.02)
                continue
            latencies.append(10.0)
            return


async def flooder(port: int, payload: bytes, stop: trio.Event) -> None:
    try:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
    except OSError:
        return
    async with stream:
        try:
            while not stop.is_set():
                await stream.send_all(payload)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass


def report_server(srv: Server, start: float) -> str:
    samples = srv.since(start)
    queue = max((s["queue"] for s in samples), default=0)
    hwm = max((s["hwm"] for s in samples), default=0.0)
    return f"peak queue {queue:,}, RSS idle {srv.idle_rss:.0f} MiB, peak {hwm:.0f} MiB"


def flood(seconds: float) -> None:
    with server("flood") as srv:
        latencies: list[float] = []
        start = time.monotonic()

        async def attack() -> None:
            stop = trio.Event()
            async with trio.open_nursery() as nursery:
                for _ in range(50):
                    nursery.start_soon(flooder, srv.port, b"x\n" * 32768, stop)
                await trio.sleep(0.5)
                await probe(srv.port, seconds, latencies)
                stop.set()
                nursery.cancel_scope.cancel()

        trio.run(attack)
        print(f"flood    50 flooders; plain client: {percentiles(latencies)}")
        print(f"         {report_server(srv, start)}")


def amplify(seconds: float) -> None:
    with server("amplify") as srv:
        latencies: list[float] = []
        start = time.monotonic()
        after: dict[str, float] = {}

        async def attack() -> None:
            streams = []
            for _ in range(10):
                stream = await trio.open_tcp_stream("127.0.0.1", srv.port)
                # Never read: the kernel's receive buffer stays small.
                stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                streams.append(stream)
            for stream in streams:
                await stream.send_all(b"\n" * 65536)
            await probe(srv.port, seconds, latencies)
            after["during"] = max((s["hwm"] for s in srv.since(start)), default=0.0)
            for stream in streams:
                stream.socket.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                await stream.aclose()  # a reset: they leave at once
            await trio.sleep(2)
            after["after"] = srv.latest().get("rss", 0.0)

        trio.run(attack)
        print(f"amplify  10 amplifiers; plain client: {percentiles(latencies)}")
        print(
            f"         RSS idle {srv.idle_rss:.0f} MiB, while they stay {after['during']:.0f} MiB,"
            f" 2 s after they left {after['after']:.0f} MiB"
        )


def chat(seconds: float) -> None:
    with server("chat") as srv:
        start = time.monotonic()
        dropped: list[float] = []
        sent: dict[int, list[float]] = {i: [] for i in range(4)}
        got: dict[int, dict[tuple[int, float], float]] = {i: {} for i in range(4)}

        joined: list[int] = []
        everyone = trio.Event()

        async def member(index: int, stop: trio.Event) -> None:
            stream = await trio.open_tcp_stream("127.0.0.1", srv.port)
            async with stream, trio.open_nursery() as nursery:

                async def talk() -> None:
                    joined.append(index)
                    if len(joined) == 4:
                        await trio.sleep(0.2)  # the server has seen every join
                        everyone.set()
                    await everyone.wait()
                    while not stop.is_set():
                        stamp = time.monotonic()
                        sent[index].append(stamp)
                        await stream.send_all(f"{index} {stamp!r} {PAD}\n".encode())
                        await trio.sleep(0.02)

                nursery.start_soon(talk)
                buffer = b""
                while not stop.is_set():
                    with trio.move_on_after(0.5):
                        data = await stream.receive_some(65536)
                        if not data:
                            break
                        buffer += data
                    *lines, buffer = buffer.split(b"\n")
                    now = time.monotonic()
                    for row in lines:
                        parts = row.split()
                        if len(parts) == 4 and parts[0].startswith(b"<"):
                            key = (int(parts[1]), float(parts[2]))
                            got[index][key] = now
                nursery.cancel_scope.cancel()

        async def silent(stop: trio.Event) -> None:
            stream = await trio.open_tcp_stream("127.0.0.1", srv.port)
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            connected = time.monotonic()
            async with stream:
                while not stop.is_set():
                    if closed_by_peer(stream.socket.fileno()):
                        dropped.append(time.monotonic() - connected)
                        return
                    await trio.sleep(0.1)

        async def attack() -> None:
            stop = trio.Event()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(silent, stop)
                await trio.sleep(0.2)
                for index in range(4):
                    nursery.start_soon(member, index, stop)
                await trio.sleep(seconds)
                stop.set()

        trio.run(attack)
        end = time.monotonic()
        # Every message a member sent is due at the three others: one that never
        # arrived counts with the time it has been waiting.
        lags: list[float] = []
        missing = 0
        for receiver in range(4):
            for sender in range(4):
                if sender == receiver:
                    continue
                for stamp in sent[sender]:
                    if stamp > end - 1.0:
                        continue  # too recent to judge
                    arrived = got[receiver].get((sender, stamp))
                    if arrived is None:
                        missing += 1
                    lags.append((arrived if arrived is not None else end) - stamp)
        gone = f"dropped after {dropped[0]:.1f} s" if dropped else "never dropped"
        print(f"chat     4 members + 1 silent ({gone}); lag: {percentiles(lags)}")
        print(
            f"         {missing} messages never arrived; {report_server(srv, start)}; "
            f"{srv.latest().get('connections', '?')} connections at the end"
        )


def closed_by_peer(fd: int) -> bool:
    """True if the peer closed (or reset) the socket ``fd``: looked at without reading.

    A close behind data that was never read shows only as a reset, or as the
    socket's error.
    """
    with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as peek:
        if peek.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            return True
        try:
            return peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True


def stuck(seconds: float) -> None:
    timeout = 2.0
    extra = ("--send-timeout", str(timeout)) if _has_send_timeout() else ()
    with server("stuck", *extra) as srv:
        socks: list[socket.socket] = []
        payload = b"z" * (1 << 20)
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", srv.port))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            socks.append(sock)
        sent = 0
        deadline = time.monotonic() + 30
        pending = {s: memoryview(payload) for s in socks}
        while pending and time.monotonic() < deadline:
            for sock, rest in list(pending.items()):
                try:
                    n = sock.send(rest)
                except BlockingIOError:
                    continue
                except OSError:
                    del pending[sock]
                    continue
                sent += n
                if n == len(rest):
                    del pending[sock]
                    sock.shutdown(socket.SHUT_WR)
                else:
                    pending[sock] = rest[n:]
            time.sleep(0.01)
        start = time.monotonic()
        released = None
        limit = start + max(seconds, timeout * 5)
        while time.monotonic() < limit:
            if srv.since(start) and srv.latest().get("connections", 1) == 0:
                released = time.monotonic() - start
                break
            time.sleep(0.05)
        open_now = srv.latest().get("connections", "?")
        for sock in socks:
            sock.close()
        what = (
            f"all released {released:.1f} s after the last byte"
            if released is not None
            else f"{open_now} of 200 still open after {limit - start:.0f} s"
        )
        setting = f"send_timeout {timeout} s" if extra else "no send_timeout"
        print(f"stuck    200 peers, 1 MiB each, half-closed, never reading ({setting}): {what}")
        print(f"         ({len(pending)} peers could not send everything; {sent >> 20} MiB sent)")


def _has_send_timeout() -> bool:
    from trio_circuits.net.sockets import TCPServer

    try:
        TCPServer(0, send_timeout=1)
    except TypeError:
        return False
    return True


def workers(seconds: float) -> None:
    with socket.socket() as probe_sock:
        probe_sock.bind(("127.0.0.1", 0))
        port = probe_sock.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "who", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port)
        time.sleep(1.0)  # both workers up
        shares: list[float] = []
        for _ in range(10):
            pids = _burst(port, 100)
            counts = [*sorted((pids.count(p) for p in set(pids) if p), reverse=True), 0, 0]
            shares.append(counts[0] / max(1, sum(counts)))
            time.sleep(0.2)
        text = ", ".join(f"{s:.0%}" for s in shares)
        print(f"workers  2 workers, 10 bursts of 100: the busier worker's share {text}")
    finally:
        proc.terminate()
        proc.wait(10)


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the workers never listened on port {port}")


def _burst(port: int, count: int) -> list[str]:
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    pids = []
    for sock in socks:
        with sock:
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(64)
                if not chunk:
                    break
                data += chunk
            pids.append(data.decode().strip())
    return pids


SCENARIOS: dict[str, Callable[[float], None]] = {
    "flood": flood,
    "amplify": amplify,
    "chat": chat,
    "stuck": stuck,
    "workers": workers,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (all)")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each attack lasts")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    for name in args.scenarios or list(SCENARIOS):
        SCENARIOS[name](args.seconds)


if __name__ == "__main__":
    main()
