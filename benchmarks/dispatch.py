"""Dispatch throughput, measured inside a running application (start-up excluded).

Usage::

    python benchmarks/dispatch.py --scenario {fire,chain,flags,call,async} --n N

Prints one JSON line: ``{"scenario", "n", "seconds", "events_per_sec"}``.  The
scenarios are described in :mod:`trio_circuits._bench`.
"""

from __future__ import annotations

import argparse
import json

import trio

from trio_circuits._bench import SCENARIOS, measure


def main() -> None:
    """Parse the arguments, run one measurement, print it as JSON."""
    parser = argparse.ArgumentParser(description="trio_circuits dispatch throughput")
    parser.add_argument("--scenario", choices=SCENARIOS, default="fire")
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
