"""A supervisor under test: ``python -m trio_circuits serve ...`` as a real process.

:func:`supervised` starts it, collects what it prints (its own ``trio_circuits:``
lines and the workers' prefixed ones) and, on the way out, makes sure that it and
every worker are gone.  Clients are plain Trio sockets.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]


class Supervised:
    """The supervisor process and the lines it has printed so far."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.out: list[str] = []
        self.err: list[str] = []
        self._open = 2  # streams still being read

    async def collect(self, stream: trio.abc.ReceiveStream, lines: list[str]) -> None:
        partial = b""
        async for chunk in stream:
            *complete, partial = (partial + chunk).split(b"\n")
            lines.extend(line.decode(errors="replace") for line in complete)
        if partial:
            lines.append(partial.decode(errors="replace"))
        self._open -= 1

    async def line(self, pattern: str, start: int = 0, seconds: float = 20) -> re.Match[str]:
        """The first stderr line from index ``start`` on that matches ``pattern``."""
        regex = re.compile(pattern)
        with trio.fail_after(seconds):
            while True:
                for text in self.err[start:]:
                    if found := regex.search(text):
                        return found
                if not self._open:
                    raise AssertionError(f"no line matches {pattern!r}:\n" + self.text)
                await trio.sleep(0.02)

    async def count(self, pattern: str, count: int, seconds: float = 20) -> None:
        """Wait until ``count`` stdout lines match ``pattern`` (the workers' output)."""
        regex = re.compile(pattern)
        with trio.fail_after(seconds):
            while sum(1 for text in self.out if regex.search(text)) < count:
                if not self._open:
                    raise AssertionError(f"not {count} lines match {pattern!r}:\n" + self.text)
                await trio.sleep(0.02)

    @property
    def text(self) -> str:
        """Everything printed on stderr."""
        return "\n".join(self.err)

    @property
    def port(self) -> int:
        """The port of the first TCP listener (from the ``listening:`` line)."""
        for text in self.err:
            if found := re.search(r"listening: \S+ tcp [\d.]+:(\d+)", text):
                return int(found.group(1))
        raise AssertionError("no TCP listener announced:\n" + self.text)

    def ready_pids(self, start: int = 0) -> dict[int, int]:
        """Worker index -> pid of the latest worker reported ready (from ``start`` on)."""
        pids: dict[int, int] = {}
        for text in self.err[start:]:
            if found := re.search(r"worker (\d+) \(pid (\d+)\) ready", text):
                pids[int(found.group(1))] = int(found.group(2))
        return pids

    async def wait(self, seconds: float = 15) -> int:
        """Wait for the supervisor to exit; its status."""
        with trio.fail_after(seconds):
            return await self.process.wait()

    async def stop(self, signo: int = signal.SIGTERM, seconds: float = 15) -> int:
        """Send ``signo`` and wait for the supervisor to exit; its status."""
        self.process.send_signal(signo)
        return await self.wait(seconds)


@asynccontextmanager
async def supervised(
    factory: str, *options: str, env: dict[str, str] | None = None
) -> AsyncIterator[Supervised]:
    """Run ``python -m trio_circuits serve FACTORY OPTIONS...`` for the block.

    On exit the supervisor is killed if it still runs, and every process it started
    must be gone within a few seconds (a worker notices its supervisor's end).
    """
    argv = [sys.executable, "-m", "trio_circuits", "serve", factory, *options]
    environment = {**os.environ, **(env or {})}
    process = await trio.lowlevel.open_process(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=str(ROOT),
        env=environment,
    )
    supervisor = Supervised(process)
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(supervisor.collect, process.stdout, supervisor.out)
            nursery.start_soon(supervisor.collect, process.stderr, supervisor.err)
            try:
                yield supervisor
            finally:
                workers = descendants(process.pid)
                with trio.CancelScope(shield=True):
                    if process.returncode is None:
                        process.kill()
                    await process.wait()
                    await gone(workers, seconds=15)
                    nursery.cancel_scope.deadline = trio.current_time() + 5
    finally:
        for stream in (process.stdout, process.stderr):
            await trio.aclose_forcefully(stream)


def descendants(pid: int) -> set[int]:
    """Every living process under ``pid`` (from ``/proc``)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found and alive(child):
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """True if ``pid`` runs (not gone, not a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


async def gone(pids: set[int], seconds: float = 10) -> None:
    """Wait until none of ``pids`` runs any more."""
    with trio.fail_after(seconds):
        while any(alive(p) for p in pids):  # noqa: ASYNC110 - polling /proc
            await trio.sleep(0.02)


async def exchange(port: int, payload: bytes) -> tuple[int, int]:
    """Connect, read the greeting, have ``payload`` echoed; the (worker index, pid)."""
    with trio.fail_after(20):
        stream = await trio.open_tcp_stream(HOST, port)
        async with stream:
            greeting = await receive_line(stream)
            await stream.send_all(payload)
            echoed = b""
            while len(echoed) < len(payload):
                chunk = await stream.receive_some(65536)
                if not chunk:
                    raise ConnectionError("closed before the echo")
                echoed += chunk
            assert echoed == payload
    _, index, pid = greeting.split()
    return int(index), int(pid)


async def _greeted(port: int, opened: list[tuple[trio.SocketStream, bytes]]) -> None:
    stream = await trio.open_tcp_stream(HOST, port)
    opened.append((stream, b""))  # closed by the caller, even if no greeting comes
    at = len(opened) - 1
    opened[at] = (stream, await receive_line(stream))


async def one_stream_per_worker(
    port: int, workers: int, rounds: int = 50
) -> dict[int, tuple[trio.SocketStream, bytes]]:
    """Worker index -> an open connection it serves, and its greeting.

    Connections are opened eight at a time: with one shared accept queue, whichever
    worker wakes first takes a connection, so one client connecting again and again
    may well be served by one worker only; several at once spread.  The connections
    not kept are closed; the caller closes the kept ones.
    """
    kept: dict[int, tuple[trio.SocketStream, bytes]] = {}
    opened: list[tuple[trio.SocketStream, bytes]] = []
    try:
        with trio.fail_after(20):
            for _ in range(rounds):
                async with trio.open_nursery() as nursery:
                    for _ in range(8):
                        nursery.start_soon(_greeted, port, opened)
                while opened:
                    stream, greeting = opened.pop()
                    index = int(greeting.split()[1])
                    if index in kept:
                        await stream.aclose()
                    else:
                        kept[index] = (stream, greeting)
                if len(kept) == workers:
                    return kept
        raise AssertionError(f"only workers {sorted(kept)} answered")
    except BaseException:
        for stream, _ in [*kept.values(), *opened]:
            await trio.aclose_forcefully(stream)
        raise


async def receive_line(stream: trio.abc.ReceiveStream) -> bytes:
    """One ``\\n``-terminated line (the greeting), without its end."""
    line = b""
    while not line.endswith(b"\n"):
        chunk = await stream.receive_some(1)
        if not chunk:
            raise ConnectionError("closed before the greeting")
        line += chunk
    return line[:-1]
