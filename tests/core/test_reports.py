"""Reports stay small: long arguments are abbreviated in errors and Debugger lines."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
import trio

from trio_circuits import Component, Debugger, Event, Manager, handler, open_app
from trio_circuits.core._repr import short_repr
from trio_circuits.net.sockets import Connection, TCPServer


def test_short_values_look_like_repr() -> None:
    for value in (b"hello", "text", 42, [1, 2], {"a": b"b"}, None, (1,)):
        assert short_repr(value) == repr(value)
    assert repr(Event.create("test")) == "<test[] ( )>"


def test_long_values_show_their_start_and_length() -> None:
    data = os.urandom(65536)
    shown = short_repr(data)
    assert shown.startswith(repr(data[:64]))
    assert shown.endswith("(65536 bytes)")
    assert len(short_repr("x" * 100_000)) < 200
    assert len(short_repr([data] * 1000)) < 20_000
    assert len(repr(Event.create("read", "sock", data))) < 1000


class Broken(TCPServer):
    @handler("read")
    def _explode(self, sock: Connection, data: bytes) -> None:
        raise ValueError(data)  # the message itself is the whole 60 KB


async def test_a_raising_handler_on_binary_data_writes_a_small_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = Broken(("127.0.0.1", 0))
    async with open_app(server):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        payload = os.urandom(60_000)
        await stream.send_all(payload)
        with trio.fail_after(10):
            while not caplog.records:  # noqa: ASYNC110 (a bounded poll)
                await trio.sleep(0.02)
        await stream.aclose()
    reports = [r.getMessage() for r in caplog.records if r.name == "trio_circuits"]
    assert reports
    # The handler raised with up to 60 KB of binary data; each report stays small.
    assert all(len(r) < 20_000 for r in reports), [len(r) for r in reports]
    assert "bytes)" in reports[0]


async def test_debugger_lines_are_bounded() -> None:
    out = io.StringIO()
    root = Manager()
    Debugger(file=out).register(root)

    class Sink(Component):
        def big(self, data: bytes) -> None:
            pass

    Sink().register(root)
    async with open_app(root):
        await root.call(Event.create("big", b"z" * 65536))
    lines = [line for line in out.getvalue().splitlines() if "<big" in line]
    assert lines
    assert all(len(line) < 1000 for line in lines)
    assert "(65536 bytes)" in lines[0]


SCRIPT = """
import os
import trio_circuits
from trio_circuits import Component, Event


class App(Component):
    def started(self, root):
        self.fire(Event.create("big", os.urandom(65536)))

    def big(self, data):
        raise ValueError(data)


class Stopper(Component):
    def big(self, data):
        self.stop()


app = App()
Stopper().register(app)
trio_circuits.run(app)
"""


def test_the_stderr_report_of_a_64k_argument_is_small() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ValueError" in result.stderr
    assert len(result.stderr) < 20_000, len(result.stderr)
