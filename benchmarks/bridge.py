"""The Redis bridge between two processes over a local redis-server.

Usage::

    python benchmarks/bridge.py [--redis URL] [--n 50000] [--seconds 3]

Starts a throwaway redis-server (unless ``--redis``) and a receiver process, then
measures from this process:

* broadcast throughput: ``n`` events fired as fast as the outbox takes them, until
  the receiver has handled the last one (end to end, events/s);
* latency at 1,000 events/s for ``seconds`` (p50/p99, fire to handler, ms);
* sequential ``remote`` call round trips (calls/s);
* the same throughput with plain coredis (pipelined XADD here, XREADGROUP+XACK in
  the receiver process), as the baseline, and the ratio.

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import coredis
import trio

import trio_circuits
from trio_circuits import Component, Event, Manager
from trio_circuits.bridge import RedisBridge, remote

PAYLOAD = "x" * 64


class tick(Event):
    """``(i, sent_at)``: one measured event."""


class report(Event):
    """Ask the receiver for what it measured since the last report."""


class ping(Event):
    """A remote call that does nothing."""


# -- the receiver process --------------------------------------------------------------


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
        self.latencies.append(now - sent_at)


class Answers(Component):
    channel = "remote"

    def init(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def ping(self) -> str:
        return "pong"

    def report(self) -> dict[str, Any]:
        r = self.receiver
        result = {"count": r.count, "first": r.first, "last": r.last}
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


def receiver(url: str, prefix: str) -> None:
    root = Manager()
    RedisBridge(url, node="receiver", prefix=prefix, channels=("bench", "remote")).register(root)
    rec = Receiver().register(root)
    Answers(receiver=rec).register(root)
    Announce().register(root)
    trio_circuits.run(root)


async def raw_receiver(url: str, key: str, n: int) -> None:
    async with coredis.Redis.from_url(url) as client:
        await client.xgroup_create(key, "raw", identifier="$", mkstream=True)
        print("ready", flush=True)
        count, first = 0, 0.0
        while count < n:
            reply = await client.xreadgroup("raw", "r", {key: ">"}, count=512, block=5000)
            entries = reply[key.encode()] if reply else ()
            if entries and not count:
                first = time.monotonic()
            count += len(entries)
            if entries:
                await client.xack(key, "raw", [e.identifier for e in entries])
        print(json.dumps({"count": count, "first": first, "last": time.monotonic()}), flush=True)


# -- the measuring process -------------------------------------------------------------


def spawn(*args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", line
    return proc


async def bridged(url: str, n: int, seconds: float) -> dict[str, float]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    proc = await trio.to_thread.run_sync(
        spawn, "--role", "receiver", "--redis", url, "--prefix", prefix
    )
    root = Manager()
    bridge = RedisBridge(url, node="sender", prefix=prefix, channels=("bench", "remote"))
    bridge.register(root)
    results: dict[str, float] = {}
    try:
        async with trio_circuits.open_app(root):

            async def collect() -> dict[str, Any]:
                value = await root.call(remote(report(), "receiver"), timeout=30)
                result: dict[str, Any] = value.value
                return result

            # Throughput: keep at most a few batches waiting, as a real producer would.
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

            # Latency at a steady 1,000 events/s.
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

            # Sequential remote calls.
            calls = 0
            deadline = time.monotonic() + seconds
            begin = time.monotonic()
            while time.monotonic() < deadline:
                await root.call(remote(ping(), "receiver"), timeout=10)
                calls += 1
            results["calls_per_sec"] = calls / (time.monotonic() - begin)
    finally:
        proc.send_signal(2)
        await trio.to_thread.run_sync(proc.wait)
    return results


async def raw(url: str, n: int) -> float:
    key = f"bench-raw-{uuid.uuid4().hex[:8]}"
    proc = await trio.to_thread.run_sync(
        spawn, "--role", "raw", "--redis", url, "--prefix", key, "--n", str(n)
    )
    body = json.dumps({"name": "tick", "args": [0, 0.0, PAYLOAD], "channels": ["bench"]})
    fields = {b"n": b"sender", b"e": body.encode()}
    async with coredis.Redis.from_url(url) as client:
        start = time.monotonic()
        for first in range(0, n, 512):
            async with client.pipeline(transaction=False) as pipe:
                for _ in range(first, min(n, first + 512)):
                    pipe.xadd(key, fields)
    assert proc.stdout is not None
    line = await trio.to_thread.run_sync(proc.stdout.readline)
    await trio.to_thread.run_sync(proc.wait)
    got = json.loads(line)
    return float(n / (got["last"] - start))


def measure(url: str, n: int, seconds: float) -> dict[str, float]:
    results = trio.run(bridged, url, n, seconds)
    results["raw_throughput"] = trio.run(raw, url, n)
    results["ratio"] = results["throughput"] / results["raw_throughput"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="Redis bridge benchmark")
    parser.add_argument("--redis", help="a Redis URL (default: a throwaway redis-server)")
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "receiver":
        receiver(args.redis, args.prefix)
        return
    if args.role == "raw":
        trio.run(raw_receiver, args.redis, args.prefix, args.n)
        return
    runs = []
    if args.redis:
        runs = [measure(args.redis, args.n, args.seconds) for _ in range(args.runs)]
    else:
        from trio_circuits.testing import RedisServer

        with RedisServer() as server:
            runs = [measure(server.url, args.n, args.seconds) for _ in range(args.runs)]
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"bridge, 2 processes, median of {len(runs)} run(s), n={args.n}:")
    print(f"  broadcast throughput   {median['throughput']:>10,.0f} events/s")
    print(f"  plain coredis          {median['raw_throughput']:>10,.0f} entries/s")
    print(f"  ratio                  {median['ratio']:>10.2f}")
    print(f"  latency at 1000/s      p50 {median['p50_ms']:.2f} ms, p99 {median['p99_ms']:.2f} ms")
    print(f"  remote call round trip {median['calls_per_sec']:>10,.0f} calls/s")
    print(json.dumps({k: round(v, 3) for k, v in median.items()}))


if __name__ == "__main__":
    main()
