"""The circuits example ports run and print what circuits' versions print."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(name: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hello.py", ["Hello World!"]),
        ("primitives/fire.py", ["Hello World!", "Foo!", "Bar!"]),
        ("primitives/call.py", ["3"]),
        ("primitives/wait.py", ["3"]),
    ],
)
def test_simple_examples(name: str, expected: list[str]) -> None:
    result = run(name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected


def test_timers_example() -> None:
    result = run("timers.py", "--scale", "0.05", "--duration", "6")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines.count("Hello World") == 1
    assert 5 <= lines.count("Foo") <= 7
    assert 1 <= lines.count("Bar") <= 3


@pytest.mark.parametrize("mode", [[], ["--threads"]])
def test_factorial_example(mode: list[str]) -> None:
    result = run("factorial.py", "--delay", "0.02", *mode, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "39916800"
    assert "Foo!" in lines[:-1]


@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGTERM])
def test_signals_example(signo: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "signals.py"), "--delay", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "Hello World!"
    proc.send_signal(signo)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out.splitlines() == ["Terminating in 0.2 seconds..."]
