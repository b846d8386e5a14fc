"""Echo benchmarks: trio_circuits against raw Trio and asyncio, side by side.

Usage::

    python benchmarks/run.py [--runs 5] [--seconds 3] [--quick] [--only rr]
                             [--before PATH] [--dry-run]
                             [--save results.json] [--plot ratios.svg]
    python benchmarks/run.py --load results.json --plot ratios.svg
    python benchmarks/run.py --workers 4 [--runs 3] [--seconds 2] [--save FILE]

Builds ``benchmarks/loadgen.c`` (a single-threaded epoll load generator) with the
system C compiler into a temporary directory, then for every scenario starts each
server on core 1 and the generator on core 0 (``taskset``, when available) and
alternates the servers run by run.  Prints a table of medians: messages/s,
p50/p99 latency, MB/s, the server's peak RSS, the time a new connection waits for
its first echo while the others are busy, and the ratios to raw Trio
(``benchmarks/raw_trio_echo.py``) and to asyncio's Protocol server
(``benchmarks/asyncio_echo.py``) measured in the same run.

* It says up front what it will run and about how long that takes; ``--dry-run``
  stops there.  While it runs, standard error shows which scenario (mode and
  connection count), which server, which run, how far it is and the time left.
* ``--only TEXT`` keeps the scenarios whose label contains TEXT.
* ``--before PATH`` adds a "before" server: the same trio_circuits echo server
  importing the package from ``PATH`` (a checkout of an earlier version), for
  before/after figures from one run.
* ``--save FILE`` writes the medians as JSON; ``--load FILE`` reads them back
  instead of running anything.
* ``--workers N``: instead, request/response at 1,000 connections with 1, 2, 4...
  up to N worker processes, trio_circuits against raw Trio processes, with the CPU
  each message costs (see ``benchmarks/workers.py``).
* ``--plot FILE`` (``.svg``, ``.png`` or ``.pdf``) draws the ratios to raw Trio and
  to asyncio, per scenario.  It needs matplotlib: ``pip install
  'trio-circuits[bench]'``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SERVERS = {
    "raw trio": HERE / "raw_trio_echo.py",
    "asyncio": HERE / "asyncio_echo.py",
    "trio_circuits": HERE / "echo_server.py",
}
BASELINES = ("raw trio", "asyncio")
# (label, connections, mode, size)
SCENARIOS = [
    ("rr 64B x100", 100, "rr", 64),
    ("rr 64B x1000", 1000, "rr", 64),
    ("stream 64KiB x1", 1, "stream", 65536),
    ("stream 64KiB x100", 100, "stream", 65536),
    ("stream 64KiB x1000", 1000, "stream", 65536),
]
#: Seconds one run costs beyond its measurement: starting the server, connecting.
OVERHEAD = 0.5
FIELDS = ("msgs_per_sec", "p50_us", "p99_us", "mb_per_sec", "rss_mib", "probe_first_echo_ms")


def build_loadgen(workdir: Path) -> Path:
    """Compile the load generator; return the binary's path."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        sys.exit("benchmarks need a C compiler (cc or gcc) for the load generator")
    binary = workdir / "loadgen"
    subprocess.run([cc, "-O2", "-o", str(binary), str(HERE / "loadgen.c")], check=True)
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(core: int, argv: list[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(core), *argv]
    return argv


def wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start listening within 10 s")


def peak_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def one_run(
    loadgen: Path,
    server: Path,
    conns: int,
    mode: str,
    size: int,
    seconds: float,
    pythonpath: str | None = None,
) -> dict[str, float]:
    port = free_port()
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.Popen(
        pinned(1, [sys.executable, str(server), "--port", str(port)]),
        stdout=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_listening(port, proc)
        probe = "1" if mode == "rr" else "0"
        argv = [str(loadgen), "127.0.0.1", str(port), str(conns), str(seconds), mode]
        out = subprocess.run(
            pinned(0, [*argv, str(size), probe]),
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        ).stdout
        result: dict[str, float] = json.loads(out)
        result["rss_mib"] = peak_rss_kib(proc.pid) / 1024
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the plan and the progress --------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One run of one server in one scenario."""

    label: str
    conns: int
    mode: str
    size: int
    server: str
    run: int  # 1-based
    runs: int


def plan(
    scenarios: Iterable[tuple[str, int, str, int]], servers: Iterable[str], runs: int
) -> list[Step]:
    """Every run, in the order they are made: per scenario, the servers alternate."""
    names = list(servers)
    return [
        Step(label, conns, mode, size, name, run, runs)
        for label, conns, mode, size in scenarios
        for run in range(1, runs + 1)
        for name in names
    ]


def estimate(steps: int, seconds: float) -> float:
    """Seconds that ``steps`` runs of ``seconds`` each are expected to take."""
    return steps * (seconds + OVERHEAD)


def duration(seconds: float) -> str:
    """``75`` -> ``"1 min 15 s"``."""
    seconds = max(0, round(seconds))
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def progress(index: int, step: Step, total: int, elapsed: float, seconds: float) -> str:
    """The progress line shown while step ``index`` (0-based) of ``total`` runs."""
    done = index / total
    left = estimate(total - index, seconds) if index == 0 else elapsed / index * (total - index)
    what = "request/response" if step.mode == "rr" else "streaming"
    return (
        f"[{index + 1:>3}/{total}] {done:4.0%}  {step.label} ({what}, {step.conns} "
        f"connection{'s' if step.conns > 1 else ''}): {step.server}, run {step.run}/{step.runs}"
        f"  elapsed {duration(elapsed)}, about {duration(left)} left"
    )


class Reporter:
    """Progress on standard error: one line rewritten in place on a terminal, else one
    line per run."""

    def __init__(self, total: int, seconds: float) -> None:
        self.total = total
        self.seconds = seconds
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.width = 0

    def show(self, index: int, step: Step) -> None:
        line = progress(index, step, self.total, time.monotonic() - self.started, self.seconds)
        if self.tty:
            print(f"\r{line:<{self.width}}", end="", file=sys.stderr, flush=True)
            self.width = len(line)
        else:
            print(line, file=sys.stderr, flush=True)

    def clear(self) -> None:
        if self.tty and self.width:
            print(f"\r{'':<{self.width}}\r", end="", file=sys.stderr, flush=True)
            self.width = 0

    def finish(self) -> None:
        self.clear()
        elapsed = duration(time.monotonic() - self.started)
        print(f"done in {elapsed}", file=sys.stderr, flush=True)


# -- results ---------------------------------------------------------------------------


def medians(samples: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per server, the median of each field over its runs."""
    return {
        name: {f: statistics.median(r.get(f, 0.0) for r in results) for f in FIELDS}
        for name, results in samples.items()
    }


def key_of(mode: str) -> str:
    """The throughput figure that ratios compare."""
    return "msgs_per_sec" if mode == "rr" else "mb_per_sec"


def ratio(figures: dict[str, float], base: dict[str, float], key: str) -> float | None:
    """``figures[key] / base[key]``; None when the baseline measured nothing."""
    return figures[key] / base[key] if base[key] else None


def ratios(scenario: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per server that is not a baseline: its throughput over each baseline's."""
    key = key_of(scenario["mode"])
    table: dict[str, dict[str, float]] = scenario["medians"]
    return {
        name: {base: ratio(figures, table[base], key) for base in BASELINES}
        for name, figures in table.items()
        if name not in BASELINES
    }


HEADER = (
    f"{'scenario':<19}{'server':<15}{'msgs/s':>10}{'p50 us':>9}{'p99 us':>9}"
    f"{'MB/s':>9}{'RSS MiB':>9}{'1st echo ms':>12}{'/trio':>7}{'/asyncio':>9}"
)


def table_rows(scenario: dict[str, Any]) -> list[str]:
    key = key_of(scenario["mode"])
    table: dict[str, dict[str, float]] = scenario["medians"]
    rows = []
    for name, m in table.items():
        to_trio, to_asyncio = (
            "n/a" if r is None else f"{r:.2f}"
            for r in (ratio(m, table[base], key) for base in BASELINES)
        )
        rows.append(
            f"{scenario['label']:<19}{name:<15}{m['msgs_per_sec']:>10.0f}{m['p50_us']:>9.0f}"
            f"{m['p99_us']:>9.0f}{m['mb_per_sec']:>9.1f}{m['rss_mib']:>9.1f}"
            f"{m['probe_first_echo_ms']:>12.2f}{to_trio:>7}{to_asyncio:>9}"
        )
    return rows


def plot(results: dict[str, Any], path: Path) -> None:
    """Draw each scenario's ratios to raw Trio and to asyncio into ``path``."""
    try:
        import matplotlib
    except ImportError:
        sys.exit("--plot needs matplotlib: pip install 'trio-circuits[bench]'")
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "trio_circuits"  # the same SVG for the same data
    import matplotlib.pyplot as plt

    scenarios = results["scenarios"]
    labels = ["\n".join(s["label"].rsplit(" ", 1)) for s in scenarios]  # "rr 64B\nx100"
    series = [(name, base) for name in ratios(scenarios[0]) for base in BASELINES]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(8, 4.6))
    for n, (name, base) in enumerate(series):
        values = [ratios(s)[name][base] for s in scenarios]
        offsets = [i - 0.4 + width * (n + 0.5) for i in range(len(scenarios))]
        bars = ax.bar(offsets, [v or 0.0 for v in values], width, label=f"{name} / {base}")
        ax.bar_label(
            bars, ["n/a" if v is None else f"{v:.2f}" for v in values], fontsize=8, padding=2
        )
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(scenarios)), labels)
    ax.set_ylabel("throughput ratio (1.0: as fast)")
    machine = results.get("machine", {})
    ax.set_title(
        f"Echo server throughput, {results['runs']} run(s) of {results['seconds']:g} s "
        f"per server and scenario ({machine.get('cpus', '?')} cores)",
        fontsize=10,
    )
    ax.set_ylim(0, max(1.2, ax.get_ylim()[1] * 1.08))
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=len(series))
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None} if path.suffix == ".svg" else None)
    plt.close(fig)


# -- main -------------------------------------------------------------------------------


def measure(
    servers: dict[str, tuple[Path, str | None]],
    scenarios: list[tuple[str, int, str, int]],
    runs: int,
    seconds: float,
) -> list[dict[str, Any]]:
    """Run every step of the plan; print each scenario's rows as soon as it is done."""
    steps = plan(scenarios, servers, runs)
    reporter = Reporter(len(steps), seconds)
    done: list[dict[str, Any]] = []
    index = 0
    with tempfile.TemporaryDirectory() as tmp:
        loadgen = build_loadgen(Path(tmp))
        print(HEADER, flush=True)
        for (label, conns, mode, size), group in groupby(
            steps, key=lambda s: (s.label, s.conns, s.mode, s.size)
        ):
            samples: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
            for step in group:
                reporter.show(index, step)
                server, path = servers[step.server]
                samples[step.server].append(
                    one_run(loadgen, server, conns, mode, size, seconds, path)
                )
                index += 1
            scenario = {
                "label": label,
                "conns": conns,
                "mode": mode,
                "size": size,
                "medians": medians(samples),
            }
            done.append(scenario)
            reporter.clear()
            for row in table_rows(scenario):
                print(row, flush=True)
    reporter.finish()
    return done


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="trio_circuits vs raw Trio echo benchmark")
    parser.add_argument("--runs", type=int, default=5, help="runs per server and scenario")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one run")
    parser.add_argument("--quick", action="store_true", help="1 run of 1 s each")
    parser.add_argument("--only", help="run the scenarios whose label contains this")
    parser.add_argument("--before", metavar="PATH", help="also run PATH's trio_circuits")
    parser.add_argument("--dry-run", action="store_true", help="show the plan, run nothing")
    parser.add_argument("--save", metavar="FILE", type=Path, help="write the medians (JSON)")
    parser.add_argument("--load", metavar="FILE", type=Path, help="read medians, run nothing")
    parser.add_argument("--plot", metavar="FILE", type=Path, help="draw the ratios (SVG, PNG)")
    parser.add_argument("--workers", type=int, metavar="N", help="1, 2, 4... N worker processes")
    parser.add_argument(
        "--unpinned", action="store_true", help="with --workers: servers on any core"
    )
    args = parser.parse_args(argv)

    if args.workers:
        import workers

        runs, seconds = (1, 1.0) if args.quick else (args.runs, args.seconds)
        found = workers.main(
            args.workers,
            runs,
            seconds,
            only=args.only,
            pin=not args.unpinned,
            dry_run=args.dry_run,
        )
        if args.save and found:
            args.save.write_text(json.dumps({"runs": runs, "workers": found}, indent=2) + "\n")
        return

    if args.load:
        results = json.loads(args.load.read_text())
        print(HEADER)
        for scenario in results["scenarios"]:
            for row in table_rows(scenario):
                print(row)
    else:
        runs, seconds = (1, 1.0) if args.quick else (args.runs, args.seconds)
        servers: dict[str, tuple[Path, str | None]] = {
            name: (path, None) for name, path in SERVERS.items()
        }
        if args.before:
            servers["before"] = (SERVERS["trio_circuits"], os.path.abspath(args.before))
        scenarios = [s for s in SCENARIOS if not args.only or args.only in s[0]]
        if not scenarios:
            sys.exit(f"no scenario matches {args.only!r}")
        steps = len(plan(scenarios, servers, runs))
        print(
            f"{len(scenarios)} scenario(s) x {len(servers)} servers x {runs} run(s) of "
            f"{seconds:g} s = {steps} runs; medians shown; expected to take about "
            f"{duration(estimate(steps, seconds))}",
            flush=True,
        )
        if args.dry_run:
            for label, conns, mode, size in scenarios:
                print(f"  {label}: {mode}, {conns} connection(s), {size} B messages")
            return
        results = {
            "runs": runs,
            "seconds": seconds,
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(terse=True),
            },
            "scenarios": measure(servers, scenarios, runs, seconds),
        }
    if args.save:
        args.save.write_text(json.dumps(results, indent=2) + "\n")
    if args.plot:
        plot(results, args.plot)
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
