"""examples/bridge_workers.py runs, with its own redis-server or a given one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from trio_circuits.testing import RedisServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bridge_workers.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args], capture_output=True, text=True, timeout=90
    )


def test_bridge_workers_with_an_embedded_redis() -> None:
    result = run("--workers", "2", "--jobs", "60")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("redis-server started on port ")
    assert "producer: 2 workers ready, queueing 60 jobs" in lines
    assert any(line.startswith("progress: 60/60 done") for line in lines)
    summary = next(line for line in lines if line.startswith("summary:"))
    assert summary.startswith("summary: 60 jobs by ")
    assert summary.endswith(", 0 duplicates")
    assert lines[-1] == "workers stopped: exit codes [0, 0]"


def test_bridge_workers_against_an_existing_redis(redis_server: RedisServer, client: str) -> None:
    result = run("--redis", redis_server.url, "--workers", "1", "--jobs", "20", "--client", client)
    assert result.returncode == 0, result.stderr
    assert "summary: 20 jobs by 1 workers (worker-1: 20)" in result.stdout
    assert "redis-server started" not in result.stdout
