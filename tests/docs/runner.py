"""Running the documentation's programs: scripts, servers, and the clients that drive them."""

from __future__ import annotations

import doctest
import os
import queue
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from .blocks import Block

#: Seconds any one program of the documentation may run.
TIMEOUT = 60


def environment() -> dict[str, str]:
    """The reader's environment: ``python`` is this interpreter; output unbuffered."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_port(text: str, old: str, new: int) -> str:
    """``text`` with the port number ``old`` replaced by ``new``."""
    return re.sub(rf"\b{re.escape(old)}\b", str(new), text)


def difference(want: str, got: str) -> str | None:
    """None if ``got`` is what ``want`` shows (``...`` matching anything), else a diff."""
    checker = doctest.OutputChecker()
    flags = doctest.ELLIPSIS
    if checker.check_output(want, got, flags):
        return None
    return checker.output_difference(doctest.Example("", want), got, flags)


def run_python(
    cwd: Path, *argv: str, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment(),
    )


def run_commands(block: Block, cwd: Path) -> None:
    """Run the ``$ `` lines of a console block in ``cwd``, each of which must succeed."""
    commands = [line[2:] for line in block.text.splitlines() if line.startswith("$ ")]
    assert commands, f"{block.where}: no '$ ' command in the block"
    for command in commands:
        result = subprocess.run(
            command,
            shell=True,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=environment(),
        )
        assert result.returncode == 0, f"{block.where}: {command!r} failed:\n{result.stderr}"


def check_run(
    block: Block, result: subprocess.CompletedProcess[str], port: tuple[str, int] | None = None
) -> None:
    """The program of ``block`` exited with its status and printed what its outputs show.

    Standard error must be empty unless an output block shows it.  ``port``
    (written, actual) is replaced in the outputs as it was in the program.
    """
    status = int(block.options.get("status", "0"))
    assert result.returncode == status, (
        f"{block.where}: {block.name} exited with {result.returncode}, not {status}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    streams = {"stdout": result.stdout, "stderr": result.stderr}
    shown = set()
    for output in block.outputs:
        stream = output.options.get("stream", "stdout")
        want = output.text if port is None else with_port(output.text, *port)
        diff = difference(want, streams[stream])
        assert diff is None, f"{output.where}: {block.name}'s {stream} is not as shown:\n{diff}"
        shown.add(stream)
    if "stderr" not in shown:
        assert result.stderr == "", f"{block.where}: {block.name} wrote:\n{result.stderr}"


class Server:
    """A program of the documentation that serves until it is stopped."""

    def __init__(self, cwd: Path, name: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, name],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(),
        )
        self.stdout: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._pumps = [
            threading.Thread(target=self._pump_stdout, daemon=True),
            threading.Thread(target=self._pump_stderr, daemon=True),
        ]
        for pump in self._pumps:
            pump.start()

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        self._stderr.extend(self.proc.stderr)

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def expect(self, text: str, timeout: float = 10) -> str:
        """The next line of standard output that contains ``text`` (lines before it are
        kept in :attr:`stdout`)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                raise AssertionError(
                    f"{self.name} printed no line with {text!r} within {timeout} s; "
                    f"stdout: {self.stdout}, stderr: {self.stderr!r}"
                ) from None
            if line is None:
                self._lines.put(None)
                raise AssertionError(
                    f"{self.name} exited ({self.proc.wait()}) before printing {text!r}; "
                    f"stdout: {self.stdout}, stderr: {self.stderr!r}"
                )
            self.stdout.append(line)
            if text in line:
                return line

    def probe(self, port: int, timeout: float = 10) -> None:
        """Wait until the server accepts connections on ``port``."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"{self.name} exited: {self.stderr}"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self, signo: int | None = signal.SIGINT, timeout: float = 15) -> int:
        """Send ``signo`` (if still running; None: just wait) and return the exit status."""
        if signo is not None and self.proc.poll() is None:
            self.proc.send_signal(signo)
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.name} did not stop within {timeout} s") from None
        for pump in self._pumps:
            pump.join(5)
        while (line := self._lines.get_nowait()) is not None:
            self.stdout.append(line)
        self._lines.put(None)
        return status

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Peer:
    """A blocking client socket reading lines, as ``nc`` would."""

    def __init__(
        self, port: int, context: ssl.SSLContext | None = None, timeout: float = 10
    ) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if context is not None:
            sock = context.wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.pending = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def say(self, text: str) -> None:
        self.send(text.encode() + b"\n")

    def half_close(self) -> None:
        self.sock.shutdown(socket.SHUT_WR)

    def receive(self, size: int) -> bytes:
        """Exactly ``size`` bytes."""
        while len(self.pending) < size:
            data = self.sock.recv(65536)
            assert data, f"closed after {self.pending!r}"
            self.pending += data
        data, self.pending = self.pending[:size], self.pending[size:]
        return data

    def line(self) -> str:
        while b"\n" not in self.pending:
            data = self.sock.recv(65536)
            assert data, f"closed after {self.pending!r}"
            self.pending += data
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode()

    def lines(self, count: int) -> list[str]:
        return [self.line() for _ in range(count)]

    def rest(self) -> bytes:
        """Everything until the server closes the connection."""
        data, self.pending = self.pending, b""
        while chunk := self.sock.recv(65536):
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Peer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass
class Context:
    """What a server's driver gets: the running server and the reader's directory."""

    block: Block
    server: Server
    port: int
    cwd: Path
    clients: dict[str, Block]
    ran: set[str] = field(default_factory=set)

    def peer(self, context: ssl.SSLContext | None = None) -> Peer:
        return Peer(self.port, context)

    def run_client(self, name: str) -> subprocess.CompletedProcess[str]:
        """Run the client block ``name`` against this server; check what it printed."""
        block = self.clients[name]
        port = (self.block.options["port"], self.port)
        (self.cwd / name).write_text(with_port(block.text, *port))
        result = run_python(self.cwd, name)
        check_run(block, result, port)
        self.ran.add(name)
        return result
