"""Testing a trio_circuits application with pytest, pytest-trio and the plugin's fixtures.

    python -m pytest examples/testing/pytest

``app(root)`` runs a tree for the duration of a test; ``watcher(root)`` records the
events it dispatches.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from hello import App, hello

from trio_circuits import Manager
from trio_circuits.testing import Watcher


async def test_hello_answers(
    app: Callable[[Manager], Awaitable[Manager]], watcher: Callable[[Manager], Watcher]
) -> None:
    root = Manager()
    seen = watcher(root)
    App().register(root)
    await app(root)
    value = root.fire(hello())
    await seen.wait("hello")
    assert value.value == "Hello World!"


async def test_call_returns_the_value(app: Callable[[Manager], Awaitable[Manager]]) -> None:
    root = await app(Manager() + App())
    assert (await root.call(hello())).value == "Hello World!"


def test_the_program_prints_and_exits() -> None:
    program = Path(__file__).with_name("hello.py")
    result = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello World!\n"
