"""Debugger: one line per event, ignore lists, switches, error reports."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from trio_circuits import Component, Debugger, Event, Manager, open_app


class test(Event):
    """test Event"""


class App(Component):
    def test(self, *args: object, **kwargs: object) -> None:
        pass

    def broken(self) -> None:
        raise ValueError("broken")


async def _exercise(root: Manager) -> None:
    async with open_app(root):
        await root.call(test(1, k=2))


async def test_writes_one_line_per_event_to_a_stream() -> None:
    out = io.StringIO()
    app = App()
    Debugger(file=out).register(app)
    await _exercise(app)
    lines = out.getvalue().splitlines()
    assert "<test[*] (1 k=2)>" in lines
    assert any(line.startswith("<started[*]") for line in lines)
    assert any(line.startswith("<stopped[*]") for line in lines)
    assert lines.count("<test[*] (1 k=2)>") == 1


async def test_writes_to_a_path(tmp_path: Path) -> None:
    path = tmp_path / "debug.log"
    app = App()
    debugger = Debugger(file=str(path)).register(app)
    await _exercise(app)
    debugger.close()
    assert "<test[*] (1 k=2)>" in path.read_text().splitlines()


async def test_ignore_lists_are_per_instance() -> None:
    out = io.StringIO()
    app = App()
    Debugger(file=out, IgnoreEvents=["test"], IgnoreChannels=["quiet"]).register(app)
    assert "test" not in Debugger.IgnoreEvents
    async with open_app(app):
        await app.call(test())
        await app.call(Event.create("hushed"), "quiet")
        await app.call(Event.create("loud"), "noisy")
    text = out.getvalue()
    assert "<test[" not in text
    assert "<hushed[" not in text
    assert "<loud[noisy] ( )>" in text
    plain = io.StringIO()
    other = App()
    Debugger(file=plain).register(other)
    await _exercise(other)
    assert "<test[*] (1 k=2)>" in plain.getvalue()


async def test_switches_and_error_report() -> None:
    out = io.StringIO()
    app = App()
    debugger = Debugger(file=out).register(app)
    debugger._events = False
    async with open_app(app):
        await app.call(test())
        app.fire(Event.create("broken"))
        await app.wait("exception", timeout=5)
        debugger._errors = False
        app.fire(Event.create("broken"))
        await app.wait("exception", timeout=5)
    text = out.getvalue()
    assert "<test[" not in text
    assert text.count("ERROR <handler[*][broken] (App.broken)> (<broken[*] ( )>)") == 1
    assert "ValueError: broken" in text


async def test_logger_gets_debug_lines_and_error_reports(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("tests.debugger")
    caplog.set_level(logging.DEBUG, logger="tests.debugger")
    app = App()
    Debugger(logger=logger).register(app)
    async with open_app(app):
        await app.call(test())
        app.fire(Event.create("broken"))
        await app.wait("exception", timeout=5)
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "<test[*] ( )>" in debug
    assert any(m.startswith("ERROR <handler[*][broken] (App.broken)> (") for m in errors)
