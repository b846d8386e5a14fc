"""The Quick start's demo runs, exchanges data every way it shows, and exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


def test_demo() -> None:
    result = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "#    echoed: b'hello'" in out
    assert "#    echoed over TLS: b'secret'" in out
    assert "#    echoed after starttls: b'now encrypted'" in out
    assert "#    bob got: b'hi bob'" in out
    assert "<closed[chat] ( )>" in out  # the Debugger's trace
    assert out.rstrip().endswith("# demo finished cleanly")
