"""Dispatch throughput, measured inside a running application (start-up excluded).

Usage::

    python benchmarks/dispatch.py --scenario {fire,chain,flags,call,async} --n N [--burst B]

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
    parser.add_argument(
        "--burst", type=int, default=512, help="events fired per burst (0: all at once)"
    )
    args = parser.parse_args()
    seconds = trio.run(measure, args.scenario, args.n, args.burst)
    print(
        json.dumps(
            {
                "scenario": args.scenario,
                "n": args.n,
                "seconds": round(seconds, 6),
                "events_per_sec": round(args.n / seconds, 1),
                "burst": args.burst,
            }
        )
    )


if __name__ == "__main__":
    main()
