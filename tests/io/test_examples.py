"""The io examples run as programs over real files, processes and inotify."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(name: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], capture_output=True, timeout=timeout
    )


def test_cat_copies_a_file_exactly(tmp_path: Path) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(300_000) + b"\nend\n")
    result = run("cat.py", str(source))
    assert result.returncode == 0, result.stderr
    assert result.stdout == source.read_bytes()


def test_cat_reports_a_missing_file(tmp_path: Path) -> None:
    result = run("cat.py", str(tmp_path / "absent"))
    assert result.returncode == 1
    assert b"No such file" in result.stderr


def test_99bottles_greps_lines(tmp_path: Path) -> None:
    source = tmp_path / "song.txt"
    verses = [f"{n} bottles of beer on the wall" for n in range(99, 0, -1)]
    source.write_text("\n".join(verses) + "\n")
    result = run("99bottles.py", str(source), "9 bottles")
    assert result.returncode == 0, result.stderr
    expected = [v for v in verses if "9 bottles" in v]
    assert result.stdout.decode().splitlines() == expected


def wait_for_output(proc: subprocess.Popen[bytes], wanted: bytes, timeout: float = 10) -> bytes:
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    got = b""
    deadline = time.monotonic() + timeout
    while wanted not in got:
        assert time.monotonic() < deadline, got
        chunk = proc.stdout.read()
        if chunk:
            got += chunk
        else:
            time.sleep(0.02)
    return got


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0


def test_tail_follows_appended_lines_only(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("old line\n")
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "tail.py"), str(log)], stdout=subprocess.PIPE
    )
    try:
        wait_for_output(proc, b"following")
        with log.open("a") as out:
            out.write("first new line\n")
            out.flush()
            got = wait_for_output(proc, b"first new line\n")
            out.write("second new line\n")
            out.flush()
            got += wait_for_output(proc, b"second new line\n")
        assert b"old line" not in got
    finally:
        stop(proc)


def test_dirwatch_prints_events(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "dirwatch.py"), str(tmp_path)], stdout=subprocess.PIPE
    )
    try:
        wait_for_output(proc, b"watching")
        (tmp_path / "hello.txt").write_text("hi")
        got = wait_for_output(proc, b"File hello.txt closed")
        assert b"File hello.txt created" in got
        assert b"File hello.txt opened" in got
        (tmp_path / "hello.txt").unlink()
        wait_for_output(proc, b"File hello.txt deleted")
    finally:
        stop(proc)


FAKE_PING = """#!{python}
import sys, time
count = int(sys.argv[sys.argv.index("-c") + 1])
host = sys.argv[-1]
for seq in range(count):
    print(f"64 bytes from {{host}}: icmp_seq={{seq + 1}}", flush=True)
    time.sleep(0.01)
sys.exit(0 if host == "127.0.0.1" else 1)
"""


def test_ping_wraps_a_process(tmp_path: Path) -> None:
    # A stand-in for /bin/ping (not installed everywhere, and needs privileges).
    fake = tmp_path / "ping"
    fake.write_text(FAKE_PING.format(python=sys.executable))
    fake.chmod(0o755)
    result = run("ping.py", "127.0.0.1", "--count", "3", "--command", str(fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == [
        f"64 bytes from 127.0.0.1: icmp_seq={n}" for n in (1, 2, 3)
    ]
    failing = run("ping.py", "10.255.255.1", "--count", "1", "--command", str(fake))
    assert failing.returncode == 1


def test_ping_with_a_missing_program(tmp_path: Path) -> None:
    result = run("ping.py", "127.0.0.1", "--command", str(tmp_path / "no-ping"))
    assert result.returncode == 2
    assert b"No such file" in result.stdout
