"""A work queue across processes: one producer, N worker processes, Redis in between.

    python examples/bridge_workers.py                     # starts its own redis-server
    python examples/bridge_workers.py --redis redis://127.0.0.1:6379/0 --workers 4

The producer fires ``job(n)`` on the ``jobs`` channel; every worker's bridge is in
the group ``workers``, so each job goes to exactly one of them; a worker fires
``done(n, digits, node)`` on ``results``, which the producer receives.  Progress and
a summary are printed; the workers are stopped with SIGINT and the script exits 0
when every job came back.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time
import uuid
from collections import Counter
from typing import Any

import trio

import trio_circuits
from trio_circuits import Component, Event, Manager, handler
from trio_circuits.bridge import RedisBridge


class job(Event):
    """Compute ``n!`` and report how many digits it has."""


class done(Event):
    """A job's result: ``(n, digits, node)``."""


class joined(Event):
    """A worker is connected and reading: ``(node)``."""


# -- a worker process ------------------------------------------------------------------


class Work(Component):
    channel = "jobs"

    def init(self, node: str) -> None:
        self.node = node

    def job(self, n: int) -> None:
        digits = len(str(math.factorial(n)))
        self.fire(done(n, digits, self.node), "results")

    @handler("ready", channel="bridge")
    def _joined(self, bridge: RedisBridge) -> None:
        self.fire(joined(self.node), "results")


def worker(url: str, prefix: str, node: str, client: str) -> None:
    """Run one worker until SIGINT."""
    root = Manager()
    RedisBridge(
        url,
        node=node,
        prefix=prefix,
        group="workers",
        channels=("jobs", "results"),
        batch=8,  # take few jobs at a time, so that the group shares them out
        client=client,
    ).register(root)
    Work(node=node).register(root)
    trio_circuits.run(root)


# -- the producer ----------------------------------------------------------------------


class Results(Component):
    channel = "results"

    def init(self, total: int) -> None:
        self.total = total
        self.by_node: Counter[str] = Counter()
        self.seen: set[int] = set()
        self.duplicates = 0
        self.finished = trio.Event()
        self.workers: set[str] = set()
        self.joined = trio.Event()
        self.expected = 0

    def joined(self, node: str) -> None:
        self.workers.add(node)
        if len(self.workers) >= self.expected:
            self.joined.set()

    def done(self, n: int, digits: int, node: str) -> None:
        if n in self.seen:
            self.duplicates += 1  # at-least-once: a re-delivery after a failure
            return
        self.seen.add(n)
        self.by_node[node] += 1
        count = len(self.seen)
        if count % max(1, self.total // 4) == 0 or count == self.total:
            shares = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_node.items()))
            print(f"progress: {count}/{self.total} done ({shares})", flush=True)
        if count == self.total:
            self.finished.set()


async def produce(url: str, workers: int, jobs: int, client: str) -> int:
    prefix = f"bridge-workers-{uuid.uuid4().hex[:8]}"
    root = Manager()
    RedisBridge(
        url, node="producer", prefix=prefix, channels=("jobs", "results"), client=client
    ).register(root)
    results = Results(total=jobs).register(root)
    async with trio_circuits.open_app(root), trio.open_nursery() as nursery:
        procs = []
        for i in range(workers):
            command = [sys.executable, __file__, "--redis", url, "--prefix", prefix]
            command += ["--worker", f"worker-{i + 1}", "--client", client]
            procs.append(await nursery.start(_run_process, command))
        results.expected = workers
        with trio.fail_after(30):
            await results.joined.wait()
        print(f"producer: {workers} workers ready, queueing {jobs} jobs", flush=True)
        started = time.perf_counter()
        for n in range(jobs):
            root.fire(job(1000 + n % 1000), "jobs")
        with trio.move_on_after(60) as scope:
            await results.finished.wait()
        elapsed = time.perf_counter() - started
        for proc in procs:
            proc.send_signal(signal.SIGINT)
    if scope.cancelled_caught:
        print(f"summary: only {len(results.seen)}/{jobs} jobs came back in 60 s")
        return 1
    shares = ", ".join(f"{k}: {v}" for k, v in sorted(results.by_node.items()))
    print(
        f"summary: {jobs} jobs by {len(results.by_node)} workers ({shares}) in "
        f"{elapsed:.2f} s, {jobs / elapsed:.0f} jobs/s, {results.duplicates} duplicates",
        flush=True,
    )
    codes = [proc.returncode for proc in procs]
    print(f"workers stopped: exit codes {codes}", flush=True)
    return 0 if all(code == 0 for code in codes) else 1


async def _run_process(command: list[str], *, task_status: Any) -> None:
    process = await trio.lowlevel.open_process(command)
    task_status.started(process)
    try:
        await process.wait()
    finally:
        if process.returncode is None:  # cancelled: leave no worker behind
            process.kill()
            await process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", help="a Redis URL (default: start a local redis-server)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument(
        "--client", default="hiredis", choices=("hiredis", "coredis"), help="the Redis client"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.redis, args.prefix, args.worker, args.client)
        return 0
    if args.redis:
        return trio.run(produce, args.redis, args.workers, args.jobs, args.client)
    from trio_circuits.testing import RedisServer  # the embedded server: a test helper

    with RedisServer() as server:
        print(f"redis-server started on port {server.port} (pid {os.getpid()} owns it)")
        return trio.run(produce, server.url, args.workers, args.jobs, args.client)


if __name__ == "__main__":
    sys.exit(main())
