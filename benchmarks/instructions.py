"""Instructions per dispatched event, counted by valgrind: a figure noise cannot move.

Usage::

    python benchmarks/instructions.py [--scenario S ...] [--small N] [--large N]

Wall-clock rates on a shared or throttled machine vary by a factor of two from one
minute to the next; the number of machine instructions a run executes does not.
For each scenario this runs trio_circuits (:mod:`trio_circuits._bench`) and the
raw-Trio floor (``benchmarks/floor.py``) under ``valgrind --tool=callgrind`` with a
small and a large event count, and reports the difference per event -- start-up
cancels out -- and the floor's count over ours (the same ratio as
``benchmarks/dispatch.py`` reports from time, if every instruction cost the same).
Needs ``valgrind``; about 10 s per run.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

_RUN = """
import sys, trio
sys.path.insert(0, {here!r})
if {floor!r}:
    import floor as bench
else:
    import trio_circuits._bench as bench
trio.run(bench.measure, {scenario!r}, {n}, 512)
"""


def instructions(scenario: str, n: int, floor: bool) -> int:
    """The instructions (callgrind's ``Ir``) of one run of ``n`` events."""
    code = _RUN.format(here=str(HERE), floor=floor, scenario=scenario, n=n)
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    done = subprocess.run(
        [*argv, sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    match = re.search(r"refs:\s+([\d,]+)", done.stderr)
    if match is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{done.stderr}")
    return int(match.group(1).replace(",", ""))


def per_event(scenario: str, small: int, large: int, floor: bool) -> float:
    """Instructions per event: the difference between a large and a small run."""
    return (instructions(scenario, large, floor) - instructions(scenario, small, floor)) / (
        large - small
    )


def main() -> None:
    """Parse the arguments, count, print a table."""
    parser = argparse.ArgumentParser(description="instructions per dispatched event")
    parser.add_argument("--scenario", nargs="+", default=["fire", "flags", "call", "async"])
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=12000)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("this benchmark needs valgrind")
    print(f"{'scenario':<10}{'trio_circuits':>15}{'raw Trio':>12}{'ratio':>8}")
    for scenario in args.scenario:
        ours = per_event(scenario, args.small, args.large, floor=False)
        base = per_event(scenario, args.small, args.large, floor=True)
        print(f"{scenario:<10}{ours:>15,.0f}{base:>12,.0f}{base / ours:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
