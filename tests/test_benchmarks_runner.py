"""benchmarks/run.py tells its plan before running, and reads saved medians back.

Nothing is measured here (figures come from benchmarks, never from timed tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "benchmarks" / "run.py"
SAVED = ROOT / "docs" / "benchmark-ratios.json"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUN), *args], capture_output=True, text=True, timeout=60
    )


def test_the_plan_and_its_duration_up_front() -> None:
    result = run("--dry-run", "--runs", "2", "--seconds", "1.5", "--only", "rr")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # 2 scenarios x 3 servers x 2 runs of (1.5 s + 0.5 s of start-up)
    assert lines[0] == (
        "2 scenario(s) x 3 servers x 2 run(s) of 1.5 s = 12 runs; medians shown; "
        "expected to take about 24 s"
    )
    assert lines[1:] == [
        "  rr 64B x100: rr, 100 connection(s), 64 B messages",
        "  rr 64B x1000: rr, 1000 connection(s), 64 B messages",
    ]


def test_saved_medians_are_read_back_as_a_table() -> None:
    saved = json.loads(SAVED.read_text())
    result = run("--load", str(SAVED))
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split()[-2:] == ["/trio", "/asyncio"]
    assert len(rows) == sum(len(s["medians"]) for s in saved["scenarios"])
    for scenario in saved["scenarios"]:
        key = "msgs_per_sec" if scenario["mode"] == "rr" else "mb_per_sec"
        m = scenario["medians"]
        row = next(r for r in rows if r.startswith(f"{scenario['label']:<19}trio_circuits"))
        to_trio, to_asyncio = row.split()[-2:]
        assert float(to_trio) == round(m["trio_circuits"][key] / m["raw trio"][key], 2)
        assert float(to_asyncio) == round(m["trio_circuits"][key] / m["asyncio"][key], 2)


def test_no_scenario_matches() -> None:
    result = run("--dry-run", "--only", "nothing like it")
    assert result.returncode != 0
    assert "no scenario matches" in result.stderr
