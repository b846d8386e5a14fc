"""Dispatch throughput, measured inside a running application (start-up excluded).

Usage::

    python benchmarks/dispatch.py --scenario {fire,chain,flags,call,async} --n N

Prints one JSON line: ``{"scenario", "n", "seconds", "events_per_sec"}``.

Scenarios:

* ``fire``  -- N events, each handled by one plain handler.
* ``chain`` -- a chain of N events, each handler firing the next.
* ``flags`` -- N events with ``success`` and ``complete``, timed until every
  ``_complete`` has been handled (N counts the user events).
* ``call``  -- N sequential ``await call(...)`` round trips.
* ``async`` -- N events, each handled by one ``async`` handler.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import trio

from trio_circuits import Component, Event, open_app


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


class Bench(Component):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.completes = 0
        self.target = 0
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

    async def apong(self) -> None:
        self.count += 1
        if self.count == self.target:
            self.finished.set()


async def measure(scenario: str, n: int) -> float:
    """Run one scenario in a fresh application; return the seconds it took."""
    app = Bench()
    app.target = n
    async with open_app(app):
        start = time.perf_counter()
        if scenario == "fire":
            for _ in range(n):
                app.fire(ping())
            await app.finished.wait()
        elif scenario == "chain":
            app.fire(link(n - 1))
            await app.finished.wait()
        elif scenario == "flags":
            for _ in range(n):
                app.fire(flagged())
            await app.finished.wait()
        elif scenario == "call":
            for _ in range(n):
                await app.call(ping())
        elif scenario == "async":
            for _ in range(n):
                app.fire(apong())
            await app.finished.wait()
        else:
            raise ValueError(f"unknown scenario {scenario!r}")
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scenario", choices=["fire", "chain", "flags", "call", "async"], default="fire"
    )
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    seconds = trio.run(measure, args.scenario, args.n)
    print(
        json.dumps(
            {
                "scenario": args.scenario,
                "n": args.n,
                "seconds": round(seconds, 6),
                "events_per_sec": round(args.n / seconds, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
