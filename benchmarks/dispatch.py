"""Dispatch throughput, inside a running application, beside the raw-Trio floor.

Usage::

    python benchmarks/dispatch.py [--n N] [--runs R] [--burst B] [--scenario S ...]

For each scenario (see :mod:`trio_circuits._bench`) it measures trio_circuits and
the same job done with no framework at all (``benchmarks/floor.py``: a memory
channel and a dict of handlers), alternating them run by run, and prints the
medians and the ratio.  ``--burst 0`` fires the events all at once instead of in
bursts of 512.  ``--json`` prints one JSON line per scenario instead of a table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor

from trio_circuits._bench import SCENARIOS, measure


def main() -> None:
    """Parse the arguments, run the measurements, print them."""
    parser = argparse.ArgumentParser(description="trio_circuits dispatch throughput")
    parser.add_argument("--scenario", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--burst", type=int, default=512, help="per burst (0: all at once)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.json:
        print(f"{args.n} events per run, medians of {args.runs}, burst {args.burst}")
        print(f"{'scenario':<10}{'trio_circuits':>15}{'raw Trio':>12}{'ratio':>8}")
    for scenario in args.scenario:
        ours: list[float] = []
        base: list[float] = []
        for _ in range(args.runs):
            ours.append(args.n / trio.run(measure, scenario, args.n, args.burst))
            if scenario in floor.SCENARIOS:
                base.append(args.n / trio.run(floor.measure, scenario, args.n, args.burst))
        rate = statistics.median(ours)
        floor_rate = statistics.median(base) if base else None
        ratio = rate / floor_rate if floor_rate else None
        if args.json:
            print(
                json.dumps(
                    {
                        "scenario": scenario,
                        "events_per_sec": round(rate, 1),
                        "floor_per_sec": floor_rate and round(floor_rate, 1),
                        "ratio": ratio and round(ratio, 3),
                        "burst": args.burst,
                    }
                )
            )
        else:
            shown_floor = f"{floor_rate:>12,.0f}" if floor_rate else f"{'-':>12}"
            shown_ratio = f"{ratio:>8.2f}" if ratio else f"{'-':>8}"
            print(f"{scenario:<10}{rate:>15,.0f}{shown_floor}{shown_ratio}", flush=True)


if __name__ == "__main__":
    main()
