"""Failures name what failed (SPEC 5.2): a host that does not resolve, a port that is
taken, a certificate that is not PEM -- each tried through the public API, and the
one a script would meet through a real process and its stderr."""

from __future__ import annotations

import os
import re
import selectors
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import trio

from trio_circuits import Component, handler, open_app
from trio_circuits.net.events import connect
from trio_circuits.net.sockets import TCPClient, TCPServer

ROOT = Path(__file__).resolve().parents[2]

UNRESOLVED = textwrap.dedent(
    """
    import sys
    import trio_circuits
    from trio_circuits import Component, Timer, Event, handler
    from trio_circuits.net.events import connect
    from trio_circuits.net.sockets import TCPClient

    class App(Component):
        @handler("started")
        def _started(self, *args):
            self.fire(connect("nosuch.invalid", 4242))
            print("connecting", flush=True)
            Timer(5, Event.create("stop")).register(self)

    trio_circuits.run(App() + TCPClient())
    """
)


def _line(fd: int, timeout: float) -> bytes:
    """The next line from the pipe ``fd`` (unbuffered reads), within ``timeout``."""
    deadline = time.monotonic() + timeout
    data = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise TimeoutError(f"no line within {timeout} s (so far {data!r})")
            chunk = os.read(fd, 1)
            if not chunk:
                raise EOFError(f"the process closed the pipe (so far {data!r})")
            data += chunk
    return data


def test_an_unhandled_unresolvable_host_is_one_line_on_stderr(tmp_path: Path) -> None:
    script = tmp_path / "unresolved.py"
    script.write_text(UNRESOLVED)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        assert proc.stdout is not None
        assert proc.stderr is not None
        assert _line(proc.stdout.fileno(), 30) == b"connecting\n"
        started = time.monotonic()
        line = _line(proc.stderr.fileno(), 10).decode()  # the report, once written
        elapsed = time.monotonic() - started
    finally:
        proc.kill()
        _, rest = proc.communicate(timeout=10)
    assert "cannot resolve 'nosuch.invalid' (port 4242)" in line, line
    assert line.startswith("ERROR <error[client]> "), line
    assert b"Traceback" not in rest, rest  # one line, not a traceback
    assert elapsed < 1.0, elapsed


class Unreachable(Component):
    def init(self) -> None:
        self.failures: list[BaseException] = []

    @handler("unreachable")
    def _unreachable(self, host: str, port: int, reason: BaseException) -> None:
        self.failures.append(reason)


async def test_a_refused_connect_names_the_host_and_port() -> None:
    with socket.socket() as closed:  # a port that nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    watcher = Unreachable()
    async with open_app(watcher + TCPClient()) as app:
        app.fire(connect("127.0.0.1", port))
        with trio.fail_after(10):
            while not watcher.failures:  # noqa: ASYNC110 (a bounded poll)
                await trio.sleep(0.01)
    (reason,) = watcher.failures
    assert isinstance(reason, ConnectionRefusedError)
    assert f"cannot connect to 127.0.0.1:{port}" in str(reason), reason


async def test_a_server_whose_host_does_not_resolve_names_it() -> None:
    with pytest.raises(socket.gaierror, match=r"cannot resolve 'nosuch\.invalid' \(port 0\)"):
        async with open_app(TCPServer(("nosuch.invalid", 0))):
            pass  # pragma: no cover - the start fails


async def test_a_port_already_taken_names_the_address() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            OSError, match=rf"cannot bind \('127\.0\.0\.1', {port}\): Address already in use"
        ):
            async with open_app(TCPServer(("127.0.0.1", port))):
                pass  # pragma: no cover - the start fails


def test_a_certificate_that_is_not_pem_names_the_file(tmp_path: Path) -> None:
    bogus = tmp_path / "server.pem"
    bogus.write_text("this is not a certificate\n")
    with pytest.raises(
        ssl.SSLError, match=rf"cannot load certificate '{re.escape(str(bogus))}'.*not PEM"
    ):
        TCPServer(0, secure=True, certfile=str(bogus))


def test_a_missing_certificate_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    with pytest.raises(FileNotFoundError, match=r"missing\.pem"):
        TCPServer(0, secure=True, certfile=str(missing))
