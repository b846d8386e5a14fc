"""The Redis bridge between two processes over a local redis-server.

Usage::

    python benchmarks/bridge.py [--redis URL] [--runs 3] [--n 30000] [--seconds 2]
                                [--clients hiredis,coredis] [--before PATH]
                                [--phases throughput,latency,calls] [--spy DIR]

Starts a throwaway redis-server (unless ``--redis``).  Each *variant* runs as two
processes, a sender and a receiver, each with a bridge:

* ``bridge/hiredis``, ``bridge/coredis`` -- this checkout, with each client;
* ``before`` (with ``--before PATH``) -- the package found in ``PATH`` (a checkout
  of an earlier version), run through ``PYTHONPATH``, for before/after figures
  from one run.

Each variant measures, from its sender:

* ``throughput`` -- ``n`` events fired as fast as the outbox takes them, until the
  receiver has handled the last one (end to end, events/s);
* ``latency`` -- events at a steady 1,000/s for ``seconds``: p50/p99 from fire to
  the receiver's handler (ms);
* ``calls`` -- sequential ``remote`` calls for ``seconds`` (calls/s).

Beside them, two baselines without the bridge, plain Trio sockets with ``hiredis``
in two processes:

* ``ping-pong`` -- a stream ping-pong: ``XADD`` to a stream the other process reads
  with a blocked ``XREADGROUP``, which answers the same way (its ``XACK`` pipelined
  with its ``XADD``); round trips/s.  A remote call is this plus the bridge's work.
  The sender runs it itself, in slices alternating with its slices of remote
  calls, against a ``pong`` process: both figures see the same load;
* ``flood`` -- pipelines of 512 ``XADD``\\ s read by ``XREADGROUP COUNT 512`` and
  acknowledged; entries/s.

Rounds interleave the variants (the order rotates), and medians over the rounds
are printed, with each variant's ratio to the baselines measured beside it, then
one JSON line (each round's figures go to stderr).  ``CPU per call`` is each
process's CPU time over the calls.  ``--spy DIR`` runs the senders and receivers
under ``py-spy record --gil`` and leaves one collapsed-stack file per process in
``DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import hiredis
import trio

PAYLOAD = "x" * 64
#: The calls phase alternates this many slices of remote calls and of ping-pong.
SLICES = 6
HERE = Path(__file__).resolve()


# -- roles: the bridge's receiver and sender ------------------------------------------


def bridge_options(client: str) -> dict[str, Any]:
    # "before" is an older checkout whose bridge may not know ``client``.
    return {} if client == "default" else {"client": client}


def receiver(url: str, prefix: str, client: str) -> None:
    import trio_circuits
    from trio_circuits import Component, Manager
    from trio_circuits.bridge import RedisBridge

    class Receiver(Component):
        channel = "bench"

        def init(self) -> None:
            self.reset()

        def reset(self) -> None:
            self.count = 0
            self.first = self.last = 0.0
            self.latencies: list[float] = []

        def tick(self, i: int, sent_at: float, payload: str) -> None:
            now = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process here
            if not self.count:
                self.first = now
            self.count += 1
            self.last = now
            if sent_at:
                self.latencies.append(now - sent_at)

    class Answers(Component):
        channel = "remote"

        def init(self, receiver: Receiver) -> None:
            self.receiver = receiver

        def ping(self) -> str:
            return "pong"

        def report(self) -> dict[str, Any]:
            r = self.receiver
            result: dict[str, Any] = {"count": r.count, "first": r.first, "last": r.last}
            result["cpu"] = time.process_time()
            if r.latencies:
                lat = sorted(r.latencies)
                result["p50"] = lat[len(lat) // 2]
                result["p99"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            r.reset()
            return result

    class Announce(Component):
        channel = "bridge"

        def ready(self, *args: Any) -> None:
            print("ready", flush=True)

    root = Manager()
    RedisBridge(
        url, node="receiver", prefix=prefix, channels=("bench", "remote"), **bridge_options(client)
    ).register(root)
    rec = Receiver().register(root)
    Answers(receiver=rec).register(root)
    Announce().register(root)
    trio_circuits.run(root)


async def sender(
    url: str, prefix: str, client: str, n: int, seconds: float, phases: str, pong_key: str
) -> None:
    import trio_circuits
    from trio_circuits import Event, Manager
    from trio_circuits.bridge import RedisBridge, remote

    class tick(Event):
        """``(i, sent_at, payload)``: one measured event."""

    class report(Event):
        """Ask the receiver for what it measured since the last report."""

    class ping(Event):
        """A remote call that does nothing."""

    root = Manager()
    bridge = RedisBridge(
        url, node="sender", prefix=prefix, channels=("bench", "remote"), **bridge_options(client)
    )
    bridge.register(root)
    results: dict[str, float] = {}
    async with trio_circuits.open_app(root):

        async def collect() -> dict[str, Any]:
            value = await root.call(remote(report(), "receiver"), timeout=30)
            result: dict[str, Any] = value.value
            return result

        await collect()  # the receiver answers: both bridges are reading
        if "throughput" in phases:
            # Keep at most a few batches waiting, as a real producer would.
            start = time.monotonic()
            for i in range(n):
                root.fire(tick(i, 0.0, PAYLOAD), "bench")
                if i % 512 == 511:
                    while bridge.statistics()["buffered"] > 2048:  # noqa: ASYNC110
                        await trio.sleep(0.0005)
            with trio.fail_after(120):
                total, end = 0, start
                while total < n:
                    await trio.sleep(0.05)
                    got = await collect()
                    total += got["count"]
                    if got["count"]:
                        end = got["last"]
            results["throughput"] = n / (end - start)

        if "latency" in phases:
            count = int(seconds * 1000)
            t0 = trio.current_time()
            for i in range(count):
                await trio.sleep_until(t0 + i / 1000)
                root.fire(tick(i, time.monotonic(), PAYLOAD), "bench")
            await trio.sleep(0.5)
            got = await collect()
            results["latency_count"] = got["count"]
            results["p50_ms"] = got["p50"] * 1000
            results["p99_ms"] = got["p99"] * 1000

        if "calls" in phases:
            # Slices of remote calls alternate with slices of the plain ping-pong,
            # from this same process: both see the same load of the machine.
            pingpong = await PingPong.open(url, pong_key)
            calls = trips = 0
            call_time = trip_time = call_cpu = trip_cpu = 0.0
            remote_cpu = (await collect())["cpu"]
            for _ in range(SLICES):
                cpu, begin = time.process_time(), time.monotonic()
                while time.monotonic() < begin + seconds / SLICES:
                    await pingpong.trip()
                    trips += 1
                trip_time += time.monotonic() - begin
                trip_cpu += time.process_time() - cpu
                cpu, begin = time.process_time(), time.monotonic()
                while time.monotonic() < begin + seconds / SLICES:
                    await root.call(remote(ping(), "receiver"), timeout=10)
                    calls += 1
                call_time += time.monotonic() - begin
                call_cpu += time.process_time() - cpu
            await pingpong.stop()
            results["calls_per_sec"] = calls / call_time
            results["ping_pong"] = trips / trip_time
            results["ping_pong_cpu_us"] = trip_cpu / trips * 1e6
            # CPU per call: this process's, and the receiver's.  The receiver's counts
            # from one report to the next: one more call, and idle while the
            # ping-pong ran.
            results["caller_cpu_us"] = call_cpu / calls * 1e6
            remote_cpu = (await collect())["cpu"] - remote_cpu
            results["callee_cpu_us"] = remote_cpu / (calls + 1) * 1e6
    print(json.dumps(results), flush=True)


# -- roles: the plain-hiredis baselines -----------------------------------------------


class Plain:
    """A Trio socket stream to Redis, hiredis to parse: the least a client can do."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.reader = hiredis.Reader()

    @classmethod
    async def open(cls, url: str) -> Plain:
        # The benchmark's own server: redis://127.0.0.1:PORT/0, no password.
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        return cls(await trio.open_tcp_stream("127.0.0.1", port))

    async def execute(self, *commands: tuple[Any, ...]) -> list[Any]:
        await self.stream.send_all(b"".join(hiredis.pack_command(c) for c in commands))
        replies: list[Any] = []
        while len(replies) < len(commands):
            reply = self.reader.gets()
            if reply is False:
                self.reader.feed(await self.stream.receive_some(65536))
                continue
            replies.append(reply)
        return replies


async def pong(url: str, key: str) -> None:
    """Answer each entry of ``key:ping`` with one on ``key:pong``, until told to stop."""
    reader, writer = await Plain.open(url), await Plain.open(url)
    ping_key, pong_key = f"{key}:ping", f"{key}:pong"
    await writer.execute(("XGROUP", "CREATE", ping_key, "g", "$", "MKSTREAM"))
    print("ready", flush=True)
    while True:
        (reply,) = await reader.execute(
            ("XREADGROUP", "GROUP", "g", "pong", "COUNT", 1, "BLOCK", 0, "STREAMS", ping_key, ">")
        )
        entry_id, fields = reply[0][1][0]
        if fields[1] == b"stop":
            return
        await writer.execute(
            ("XADD", pong_key, "*", "e", fields[1]), ("XACK", ping_key, "g", entry_id)
        )


class PingPong:
    """The ping side of the plain ping-pong (the other side is the ``pong`` role)."""

    def __init__(self, reader: Plain, writer: Plain, key: str) -> None:
        self.reader, self.writer = reader, writer
        self.ping_key, self.pong_key = f"{key}:ping", f"{key}:pong"
        self.body = json.dumps({"name": "ping", "args": [], "channels": ["remote"]}).encode()
        self.previous: bytes | None = None

    @classmethod
    async def open(cls, url: str, key: str) -> PingPong:
        self = cls(await Plain.open(url), await Plain.open(url), key)
        await self.writer.execute(("XGROUP", "CREATE", self.pong_key, "g", "$", "MKSTREAM"))
        return self

    async def trip(self) -> None:
        """One round trip: XADD (with the XACK of the previous answer), then the answer."""
        commands: list[tuple[Any, ...]] = [("XADD", self.ping_key, "*", "e", self.body)]
        if self.previous is not None:
            commands.append(("XACK", self.pong_key, "g", self.previous))
        await self.writer.execute(*commands)
        read = ("XREADGROUP", "GROUP", "g", "ping", "COUNT", 1, "BLOCK", 0, "STREAMS")
        (reply,) = await self.reader.execute((*read, self.pong_key, ">"))
        self.previous = reply[0][1][0][0]

    async def stop(self) -> None:
        await self.writer.execute(("XADD", self.ping_key, "*", "e", b"stop"))
        await self.reader.stream.aclose()
        await self.writer.stream.aclose()


async def sink(url: str, key: str, n: int) -> None:
    reader, writer = await Plain.open(url), await Plain.open(url)
    await writer.execute(("XGROUP", "CREATE", key, "g", "$", "MKSTREAM"))
    print("ready", flush=True)
    count, first = 0, 0.0
    while count < n:
        (reply,) = await reader.execute(
            ("XREADGROUP", "GROUP", "g", "sink", "COUNT", 512, "BLOCK", 5000, "STREAMS", key, ">")
        )
        entries = reply[0][1] if reply else []
        if entries and not count:
            first = time.monotonic()
        count += len(entries)
        if entries:
            await writer.execute(("XACK", key, "g", *(e[0] for e in entries)))
    print(json.dumps({"count": count, "first": first, "last": time.monotonic()}), flush=True)


async def flood(url: str, key: str, n: int) -> None:
    writer = await Plain.open(url)
    body = json.dumps({"name": "tick", "args": [0, 0.0, PAYLOAD], "channels": ["bench"]})
    start = time.monotonic()
    for first in range(0, n, 512):
        count = min(n, first + 512) - first
        await writer.execute(*[("XADD", key, "*", "n", "sender", "e", body)] * count)
    print(json.dumps({"start": start}), flush=True)


# -- the orchestrator ------------------------------------------------------------------


def spawn(
    role: str, args: list[str], pythonpath: str | None = None, spy: Path | None = None
) -> subprocess.Popen[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    argv = [sys.executable, str(HERE), "--role", role, *args]
    if spy is not None:
        spy.mkdir(parents=True, exist_ok=True)
        out = spy / f"{role}-{uuid.uuid4().hex[:6]}.txt"
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        argv = [
            py_spy,
            "record",
            "--gil",
            "--format",
            "raw",
            "--rate",
            "500",
            "-o",
            str(out),
            "--",
            *argv,
        ]
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def expect(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    """The process's next line of output (its ``ready``, or its JSON result)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.strip() and not line.startswith("py-spy>"):
            return line.strip()
        if proc.poll() is not None:
            break
    err = proc.stderr.read() if proc.stderr else ""
    raise RuntimeError(f"no output from {proc.args}: {err[-2000:]}")


def finish(proc: subprocess.Popen[str], interrupt: bool = False) -> None:
    if interrupt and proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_bridge(
    url: str, client: str, n: int, seconds: float, phases: str, path: str | None, spy: Path | None
) -> dict[str, float]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    common = ["--redis", url, "--prefix", prefix, "--client", client]
    pong_key = f"{prefix}-pp"
    other = spawn("pong", ["--redis", url, "--prefix", pong_key])
    rec = spawn("receiver", common, path, spy)
    try:
        assert expect(other) == "ready"
        assert expect(rec) == "ready"
        args = [*common, "--n", str(n), "--seconds", str(seconds), "--phases", phases]
        send = spawn("sender", [*args, "--pong", pong_key], path, spy)
        try:
            result: dict[str, float] = json.loads(expect(send, timeout=300))
        finally:
            finish(send)
    finally:
        finish(rec, interrupt=True)
        finish(other, interrupt=True)
    return result


def run_flood(url: str, n: int) -> float:
    key = f"bench-flood-{uuid.uuid4().hex[:8]}"
    receiving = spawn("sink", ["--redis", url, "--prefix", key, "--n", str(n)])
    try:
        assert expect(receiving) == "ready"
        sending = spawn("flood", ["--redis", url, "--prefix", key, "--n", str(n)])
        try:
            start = json.loads(expect(sending, timeout=120))["start"]
        finally:
            finish(sending)
        got = json.loads(expect(receiving, timeout=120))
    finally:
        finish(receiving)
    return float(n / (got["last"] - start))


def measure(args: argparse.Namespace, url: str) -> None:
    variants: list[tuple[str, str, str | None]] = [
        (f"bridge/{client}", client, None) for client in args.clients.split(",")
    ]
    if args.before:
        variants.insert(0, ("before", "default", os.path.abspath(args.before)))
    spy = Path(args.spy) if args.spy else None
    rounds: list[dict[str, dict[str, float]]] = []
    for i in range(args.runs):
        figures: dict[str, dict[str, float]] = {}
        if "throughput" in args.phases:
            figures["flood"] = {"throughput": run_flood(url, args.n)}
        order = variants[i % len(variants) :] + variants[: i % len(variants)]
        for label, client, path in order:
            result = run_bridge(url, client, args.n, args.seconds, args.phases, path, spy)
            if "calls_per_sec" in result:
                result["calls_to_ping_pong"] = result["calls_per_sec"] / result["ping_pong"]
            if "throughput" in result:
                flood = figures["flood"]["throughput"]
                result["throughput_to_flood"] = result["throughput"] / flood
            figures[label] = result
        rounds.append(figures)
        print(f"round {i + 1}: {json.dumps(figures)}", file=sys.stderr, flush=True)
    report(rounds, args)


def report(rounds: list[dict[str, dict[str, float]]], args: argparse.Namespace) -> None:
    labels = list(rounds[0])
    medians: dict[str, dict[str, float]] = {}
    for label in labels:
        keys = rounds[0][label]
        medians[label] = {k: statistics.median(r[label][k] for r in rounds) for k in keys}
    print(f"Redis bridge, 2 processes, median of {len(rounds)} round(s), n={args.n}:")
    if "flood" in medians:
        print(f"  plain hiredis flood          {medians['flood']['throughput']:>10,.0f} entries/s")
    for label in labels:
        if label == "flood":
            continue
        m = medians[label]
        print(f"  {label}:")
        if "throughput" in m:
            print(
                f"    broadcast throughput       {m['throughput']:>10,.0f} events/s"
                f"  ({m['throughput_to_flood']:.2f} x flood)"
            )
        if "p50_ms" in m:
            p50, p99 = m["p50_ms"], m["p99_ms"]
            print(f"    latency at 1000/s          p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        if "calls_per_sec" in m:
            print(
                f"    sequential remote calls    {m['calls_per_sec']:>10,.0f} calls/s"
                f"  ({m['calls_to_ping_pong']:.2f} x the ping-pong beside it)"
            )
            print(
                f"    plain hiredis ping-pong    {m['ping_pong']:>10,.0f} round trips/s"
                f"  ({m['ping_pong_cpu_us']:.0f} us CPU each, ping side)"
            )
            print(
                f"    CPU per call               caller {m['caller_cpu_us']:.0f} us,"
                f" callee {m['callee_cpu_us']:.0f} us"
            )
    print(
        json.dumps({label: {k: round(v, 3) for k, v in m.items()} for label, m in medians.items()})
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Redis bridge benchmark")
    parser.add_argument("--redis", help="a Redis URL (default: a throwaway redis-server)")
    parser.add_argument("--n", type=int, default=30_000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", default="hiredis,coredis")
    parser.add_argument("--before", metavar="PATH", help="also run PATH's trio_circuits")
    parser.add_argument("--phases", default="throughput,latency,calls")
    parser.add_argument("--spy", metavar="DIR", help="profile the bridges with py-spy")
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--pong", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "receiver":
        receiver(args.redis, args.prefix, args.client)
    elif args.role == "sender":
        trio.run(
            sender,
            args.redis,
            args.prefix,
            args.client,
            args.n,
            args.seconds,
            args.phases,
            args.pong,
        )
    elif args.role == "pong":
        trio.run(pong, args.redis, args.prefix)
    elif args.role == "sink":
        trio.run(sink, args.redis, args.prefix, args.n)
    elif args.role == "flood":
        trio.run(flood, args.redis, args.prefix, args.n)
    elif args.redis:
        measure(args, args.redis)
    else:
        from trio_circuits.testing import RedisServer

        with RedisServer() as server:
            measure(args, server.url)


if __name__ == "__main__":
    main()
