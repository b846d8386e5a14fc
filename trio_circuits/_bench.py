"""Event-throughput measurements, shared by ``python -m trio_circuits bench`` and
``benchmarks/dispatch.py``.

Each scenario runs in a fresh application and is timed inside it (start-up and
shutdown excluded):

* ``fire``  -- N events, each handled by one plain handler.
* ``chain`` -- a chain of N events, each handler firing the next.
* ``flags`` -- N events with ``success`` and ``complete``, timed until every
  ``_complete`` has been handled (N counts the user events).
* ``call``  -- N sequential ``await call(...)`` round trips.
* ``busycall`` -- the same while an event that re-fires itself keeps the queue
  busy: how soon a task woken by a finished event runs (the dispatcher's fairness).
* ``async`` -- N events, each handled by one ``async`` handler.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any, TextIO

import trio

from .core.app import open_app
from .core.components import Component
from .core.events import Event

SCENARIOS = ("fire", "chain", "flags", "call", "busycall", "async")


class ping(Event):
    """The measured event."""


class link(Event):
    """One step of a chain."""


class flagged(Event):
    """An event asking for both follow-ups."""

    success = True
    complete = True


class apong(Event):
    """An event with an async handler."""


class busy(Event):
    """Re-fires itself for ever: keeps the queue busy."""


class _Bench(Component):
    def __init__(self, target: int) -> None:
        super().__init__()
        self.count = 0
        self.completes = 0
        self.target = target
        self.finished = trio.Event()

    def ping(self) -> None:
        self.count += 1
        if self.count == self.target:
            self.finished.set()

    def link(self, remaining: int) -> None:
        if remaining:
            self.fire(link(remaining - 1))
        else:
            self.finished.set()

    def flagged(self) -> int:
        return 1

    def flagged_success(self, evt: Event, value: Any) -> None:
        pass

    def flagged_complete(self, evt: Event, value: Any) -> None:
        self.completes += 1
        if self.completes == self.target:
            self.finished.set()

    def busy(self) -> None:
        self.fire(busy())

    async def apong(self) -> None:
        self.count += 1
        if self.count == self.target:
            self.finished.set()


async def measure(scenario: str, n: int, burst: int = 512) -> float:
    """Run ``scenario`` with ``n`` events in a fresh application; return the seconds.

    ``fire``, ``flags`` and ``async`` fire their events in bursts of ``burst``, each
    after the previous burst has been dispatched, as a producer driven by I/O does;
    ``burst=0`` fires all ``n`` at once (then a long queue of live events makes
    Python's cyclic garbage collector a large share of the time).
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose from {SCENARIOS}")
    if n < 1:
        raise ValueError("n must be >= 1")
    if burst < 0:
        raise ValueError("burst must be >= 0")
    app = _Bench(n)
    kind = {"fire": ping, "flags": flagged, "async": apong}.get(scenario)
    async with open_app(app):
        start = time.perf_counter()
        if scenario == "chain":
            app.fire(link(n - 1))
        elif scenario in ("call", "busycall"):
            if scenario == "busycall":
                app.fire(busy())
            for _ in range(n):
                await app.call(ping())
        else:
            assert kind is not None
            await _produce(app, kind, n, burst or n)
        await app.finished.wait()
        return time.perf_counter() - start


async def _produce(app: _Bench, kind: type[Event], n: int, burst: int) -> None:
    fire = app.fire
    sent = 0
    while sent < n:
        size = min(burst, n - sent)
        for _ in range(size - 1):
            fire(kind())
        last = fire(kind())
        sent += size
        if sent < n:
            await last.wait_done()


def run_table(
    n: int, repeat: int, out: TextIO, progress: TextIO, burst: int = 512
) -> dict[str, float]:
    """Measure every scenario ``repeat`` times; print a table; return medians (events/s)."""
    results: dict[str, float] = {}
    total = len(SCENARIOS) * repeat
    done = 0
    for scenario in SCENARIOS:
        rates = []
        for _ in range(repeat):
            done += 1
            progress.write(f"\r  measuring {scenario:<6} run {done:>2}/{total} ...")
            progress.flush()
            rates.append(n / trio.run(measure, scenario, n, burst))
        results[scenario] = statistics.median(rates)
    progress.write("\r" + " " * 40 + "\r")
    out.write(f"trio_circuits event throughput ({n} events, median of {repeat} runs)\n")
    out.write(f"{'scenario':<10}{'events/s':>14}\n")
    for scenario, rate in results.items():
        out.write(f"{scenario:<10}{rate:>14,.0f}\n")
    return results


def main(argv: list[str] | None = None) -> int:
    """``python -m trio_circuits bench [--n N] [--repeat R]``."""
    parser = argparse.ArgumentParser(
        prog="python -m trio_circuits bench",
        description="Measure trio_circuits' event throughput on this machine.",
    )
    parser.add_argument("--n", type=int, default=50_000, help="events per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario")
    parser.add_argument(
        "--burst", type=int, default=512, help="events fired per burst (0: all at once)"
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeat < 1 or args.burst < 0:
        parser.error("--n and --repeat must be >= 1, --burst >= 0")
    run_table(args.n, args.repeat, sys.stdout, sys.stderr, args.burst)
    return 0
