"""Many workers: echo with 1, 2, 4... worker processes sharing one port.

Run through ``python benchmarks/run.py --workers N [--runs R] [--seconds S]
[--only TEXT] [--unpinned]``: for each worker count 1, 2, 4... up to N, the
trio_circuits echo server under ``trio_circuits.run(make_app, workers=K)`` (one
shared listening socket, and ``--reuse-port``: one ``SO_REUSEPORT`` listener per
worker) and the anchor, raw Trio processes (``benchmarks/raw_trio_workers.py``, both
ways too), against the same load generator, in two scenarios:

* ``rr 64B x1000``: request/response, 64-byte messages, 1,000 connections;
* ``connect x100``: 100 clients that each connect, have 64 bytes echoed, close and
  connect again -- the accept path, where a shared accept queue and
  ``SO_REUSEPORT`` differ.

Every server process (the supervisor and its workers) runs on core 1, the load
generator on core 0, as in the other echo benchmarks: on a 2-core machine more
workers cannot add throughput, so the figure that scales is the CPU each message
costs the server's processes (``/proc``, user + system, summed over the process
tree during the run).  ``spread`` is the busiest worker's CPU over the mean: 1.0 when
the kernel shares the connections evenly.  With ``--unpinned`` the servers may run
on any core (sharing the load generator's).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from run import build_loadgen, free_port, peak_rss_kib, pinned, wait_listening

HERE = Path(__file__).resolve().parent
SIZE = 64
#: (label, loadgen mode, connections)
SCENARIOS = [("rr 64B x1000", "rr", 1000), ("connect x100", "connect", 100)]
TICK = os.sysconf("SC_CLK_TCK")


def servers(workers: int) -> dict[str, list[str]]:
    """The command line of each server with ``workers`` processes (``--port`` follows)."""
    python = sys.executable
    circuits = [python, str(HERE / "echo_server.py"), "--workers", str(workers)]
    raw = [python, str(HERE / "raw_trio_workers.py"), "--workers", str(workers)]
    return {
        "trio_circuits shared": circuits,
        "trio_circuits reuseport": [*circuits, "--reuse-port"],
        "raw trio shared": [*raw, "--listen", "shared"],
        "raw trio reuseport": [*raw, "--listen", "reuseport"],
    }


def tree(pid: int) -> list[int]:
    """``pid`` and every process below it (from ``/proc``)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [pid], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def settle(pid: int, seconds: float = 30) -> list[int]:
    """Wait until the tree under ``pid`` is idle: every worker started and ready.

    The supervisor listens before its workers have imported anything, so a listening
    port does not mean that they are up; their start-up must not be measured.
    """
    deadline = time.monotonic() + seconds
    pids = tree(pid)
    used = sum(cpu_seconds(p) for p in pids)
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now_pids = tree(pid)
        now_used = sum(cpu_seconds(p) for p in now_pids)
        if set(now_pids) == set(pids) and now_used - used < 0.02:
            return pids
        pids, used = now_pids, now_used
    raise RuntimeError(f"the server's processes were still busy after {seconds:g} s")


def one_run(
    loadgen: Path, argv: list[str], mode: str, conns: int, seconds: float, pin: bool
) -> dict[str, float]:
    """Start a server (on core 1 if ``pin``), load it for ``seconds``; its figures."""
    port = free_port()
    command = [*argv, "--port", str(port)]
    proc = subprocess.Popen(
        pinned(1, command) if pin else command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, proc)
        pids = settle(proc.pid)
        before = {pid: cpu_seconds(pid) for pid in pids}
        load = [str(loadgen), "127.0.0.1", str(port), str(conns), str(seconds), mode]
        out = subprocess.run(
            pinned(0, [*load, str(SIZE), "0"]),
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        ).stdout
        used = {pid: cpu_seconds(pid) - before[pid] for pid in pids}
        result: dict[str, float] = json.loads(out)
        messages = result["msgs_per_sec"] * result["seconds"]
        result["cpu_us_per_msg"] = sum(used.values()) / messages * 1e6 if messages else 0.0
        busy = [used[pid] for pid in pids[1:]] or [used[proc.pid]]  # the workers
        mean = statistics.mean(busy)
        result["spread"] = max(busy) / mean if mean else 0.0
        result["rss_mib"] = sum(peak_rss_kib(pid) for pid in pids) / 1024
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def counts(most: int) -> list[int]:
    """1, 2, 4... up to ``most`` (``most`` included)."""
    found = [1]
    while found[-1] * 2 <= most:
        found.append(found[-1] * 2)
    return found if found[-1] == most else [*found, most]


HEADER = (
    f"{'scenario':<14}{'workers':>7}  {'server':<24}{'msgs/s':>9}{'p99 us':>9}{'CPU us/msg':>11}"
    f"{'spread':>8}{'RSS MiB':>9}{'vs 1':>6}{'/raw':>6}"
)


def rows(results: list[dict[str, Any]]) -> list[str]:
    """The table: per scenario, worker count and server, medians and ratios."""
    first = {
        (e["scenario"], name): m["msgs_per_sec"]
        for e in results
        if e["workers"] == 1
        for name, m in e["medians"].items()
    }
    lines = []
    for entry in results:
        table = entry["medians"]
        for name, m in table.items():
            raw = table[name.replace("trio_circuits", "raw trio")]["msgs_per_sec"]
            one = first[entry["scenario"], name]
            lines.append(
                f"{entry['scenario']:<14}{entry['workers']:>7}  {name:<24}"
                f"{m['msgs_per_sec']:>9.0f}{m['p99_us']:>9.0f}"
                f"{m['cpu_us_per_msg']:>11.1f}{m['spread']:>8.2f}{m['rss_mib']:>9.1f}"
                f"{m['msgs_per_sec'] / one:>6.2f}{m['msgs_per_sec'] / raw:>6.2f}"
            )
    return lines


FIELDS = ("msgs_per_sec", "p99_us", "cpu_us_per_msg", "spread", "rss_mib")


def main(
    most: int,
    runs: int,
    seconds: float,
    *,
    only: str | None = None,
    pin: bool = True,
    dry_run: bool = False,
) -> list[dict[str, Any]]:
    """Measure (the servers alternate run by run); print the table; the medians."""
    plan = counts(most)
    scenarios = [s for s in SCENARIOS if not only or only in s[0]]
    total = len(scenarios) * len(plan) * 4 * runs
    print(
        f"{', '.join(s[0] for s in scenarios)}: workers {plan} x 4 servers x {runs} run(s) "
        f"of {seconds:g} s = {total} runs; about {round(total * (seconds + 1.5))} s",
        flush=True,
    )
    if dry_run:
        return []
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        loadgen = build_loadgen(Path(tmp))
        for label, mode, conns in scenarios:
            for workers in plan:
                commands = servers(workers)
                samples: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
                for run in range(runs):
                    for name, argv in commands.items():
                        print(
                            f"  {label}, {workers} worker(s), {name}, run {run + 1}",
                            file=sys.stderr,
                        )
                        samples[name].append(one_run(loadgen, argv, mode, conns, seconds, pin))
                medians = {
                    name: {f: statistics.median(r[f] for r in got) for f in FIELDS}
                    for name, got in samples.items()
                }
                entry = {"scenario": label, "workers": workers, "pinned": pin, "medians": medians}
                results.append(entry)
    print(HEADER)
    for line in rows(results):
        print(line)
    return results
