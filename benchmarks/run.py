"""Echo benchmarks: trio_circuits against raw Trio and asyncio, side by side.

Usage::

    python benchmarks/run.py [--runs 5] [--seconds 3] [--quick]
                             [--only rr] [--before PATH]

``--only`` keeps the scenarios whose label contains the text; ``--before PATH``
adds a "before" server: the same trio_circuits echo server importing the package
from ``PATH`` (a checkout of an earlier version), for before/after figures from
one run.

Builds ``benchmarks/loadgen.c`` (a single-threaded epoll load generator) with the
system C compiler into a temporary directory, then for every scenario starts each
server on core 1 and the generator on core 0 (``taskset``, when available) and
alternates the two servers run by run.  Prints a table of medians: messages/s,
p50/p99 latency, MB/s, the server's peak RSS, and the ratio to raw Trio; plus the
time a new connection waits for its first echo while the others are busy.
Ratios are to raw Trio and to asyncio's Protocol server measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVERS = {
    "raw trio": HERE / "raw_trio_echo.py",
    "asyncio": HERE / "asyncio_echo.py",
    "trio_circuits": HERE / "echo_server.py",
}
# (label, connections, mode, size)
SCENARIOS = [
    ("rr 64B x100", 100, "rr", 64),
    ("rr 64B x1000", 1000, "rr", 64),
    ("stream 64KiB x1", 1, "stream", 65536),
    ("stream 64KiB x100", 100, "stream", 65536),
    ("stream 64KiB x1000", 1000, "stream", 65536),
]


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


def main() -> None:
    parser = argparse.ArgumentParser(description="trio_circuits vs raw Trio echo benchmark")
    parser.add_argument("--runs", type=int, default=5, help="runs per server and scenario")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one run")
    parser.add_argument("--quick", action="store_true", help="1 run of 1 s each")
    parser.add_argument("--only", help="run the scenarios whose label contains this")
    parser.add_argument("--before", metavar="PATH", help="also run PATH's trio_circuits")
    args = parser.parse_args()
    runs, seconds = (1, 1.0) if args.quick else (args.runs, args.seconds)
    servers: dict[str, tuple[Path, str | None]] = {
        name: (path, None) for name, path in SERVERS.items()
    }
    if args.before:
        servers["before"] = (SERVERS["trio_circuits"], os.path.abspath(args.before))
    scenarios = [s for s in SCENARIOS if not args.only or args.only in s[0]]
    total = len(scenarios) * runs * len(servers) * (seconds + 1.5)
    with tempfile.TemporaryDirectory() as tmp:
        loadgen = build_loadgen(Path(tmp))
        print(
            f"{runs} run(s) of {seconds:g} s per server and scenario; medians shown; "
            f"about {total / 60:.0f} min",
            flush=True,
        )
        header = (
            f"{'scenario':<19}{'server':<15}{'msgs/s':>10}{'p50 us':>9}{'p99 us':>9}"
            f"{'MB/s':>9}{'RSS MiB':>9}{'1st echo ms':>12}{'/trio':>7}{'/asyncio':>9}"
        )
        print(header)
        for label, conns, mode, size in scenarios:
            samples: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
            for run in range(runs):
                for name, (server, path) in servers.items():
                    print(f"  {label}: {name}, run {run + 1}/{runs}", end="\r", file=sys.stderr)
                    samples[name].append(
                        one_run(loadgen, server, conns, mode, size, seconds, path)
                    )
            print(" " * 60, end="\r", file=sys.stderr)
            key = "msgs_per_sec" if mode == "rr" else "mb_per_sec"
            trio_base = statistics.median(r[key] for r in samples["raw trio"])
            asyncio_base = statistics.median(r[key] for r in samples["asyncio"])
            for name, results in samples.items():

                def med(field: str, results: list[dict[str, float]] = results) -> float:
                    return statistics.median(r[field] for r in results)

                to_trio = med(key) / trio_base if trio_base else 0.0
                to_asyncio = med(key) / asyncio_base if asyncio_base else 0.0
                print(
                    f"{label:<19}{name:<15}{med('msgs_per_sec'):>10.0f}{med('p50_us'):>9.0f}"
                    f"{med('p99_us'):>9.0f}{med('mb_per_sec'):>9.1f}{med('rss_mib'):>9.1f}"
                    f"{med('probe_first_echo_ms'):>12.2f}{to_trio:>7.2f}{to_asyncio:>9.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
