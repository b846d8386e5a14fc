"""trio_circuits.io.File over real files, file objects and standard streams."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import trio

from trio_circuits import Component, Manager, handler, open_app
from trio_circuits.io import File, close, open, seek, write
from trio_circuits.io.events import eof, read
from trio_circuits.testing import Watcher


class Collector(Component):
    """Collects what a File on channel ``file`` reads."""

    channel = "file"

    def init(self) -> None:
        self.data = b""
        self.eofs = 0

    def read(self, data: bytes) -> None:
        assert isinstance(data, bytes)
        self.data += data

    def eof(self) -> None:
        self.eofs += 1


def app_with(*components: Any) -> tuple[Collector, Watcher]:
    root = Collector()
    for c in components:
        c.register(root)
    return root, Watcher(root)


async def test_read_a_file_to_its_end(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"line\n" * 5000)  # several reads of the default size
    f = File(str(path))
    root, watcher = app_with(f)
    async with open_app(root):
        opened = await watcher.wait("opened")
        assert opened.args == [str(path), "r"]
        await watcher.wait("eof")
        await watcher.wait("closed")
        assert root.data == path.read_bytes()
        assert f.closed


async def test_text_mode_file_object_reads_bytes(tmp_path: Path) -> None:
    path = tmp_path / "hello.txt"
    path.write_text("Hello World!")
    fileobj = path.open()
    root, watcher = app_with(File(fileobj))
    async with open_app(root):
        await watcher.wait("closed")
        assert root.data == b"Hello World!"
        assert fileobj.closed  # autoclose closes the object it was given


async def test_write_then_read_back(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    f = File(str(path), "w", encoding="utf-8")
    root, watcher = app_with(f)
    async with open_app(root):
        await watcher.wait("opened")
        root.fire(write(b"Hello "), "file")
        root.fire(write("Wörld!"), "file")  # str is encoded
        root.fire(close(), "file")
        await watcher.wait("closed")
        assert path.read_text(encoding="utf-8") == "Hello Wörld!"
        root.fire(open(str(path), "r"), "file")  # reopen for reading
        await watcher.wait("eof")
        assert root.data == "Hello Wörld!".encode()


async def test_writes_before_opening_and_on_stop_are_flushed(tmp_path: Path) -> None:
    path = tmp_path / "early.txt"
    f = File(str(path), "w")
    root, _watcher = app_with(f)
    f.fire(write(b"queued before start, "))
    async with open_app(root):
        root.fire(write(b"x" * 300_000), "file")
    assert path.read_bytes() == b"queued before start, " + b"x" * 300_000
    assert f.closed


async def test_seek_before_open_starts_at_the_end_and_follows(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_bytes(b"old line\n")
    f = File(str(path), autoclose=False)
    f.poll_interval = 0.02
    f.seek(0, 2)
    root, watcher = app_with(f)
    async with open_app(root):
        await watcher.wait("eof")
        assert root.data == b""
        with path.open("ab") as out:
            out.write(b"new line\n")
        with trio.fail_after(5):
            while root.data != b"new line\n":
                await watcher.wait("read")
        assert not f.closed  # autoclose=False: still following
        await trio.sleep(0.1)
        watcher.clear()
        root.fire(seek(0), "file")
        await watcher.wait("eof")
        assert root.data == b"new line\nold line\nnew line\n"


async def test_append_plus_mode_stays_open(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"abc")
    f = File(str(path), "a+")
    root, watcher = app_with(f)
    async with open_app(root):
        await watcher.wait("eof")
        root.fire(write(b"def"), "file")
        await watcher.wait("write")
        assert not f.closed
        root.fire(close(), "file")
        await watcher.wait("closed")
    assert path.read_bytes() == b"abcdef"


async def test_missing_file_fires_error(tmp_path: Path) -> None:
    f = File(str(tmp_path / "absent.txt"))
    root, watcher = app_with(f)
    async with open_app(root):
        event = await watcher.wait("error")
        assert isinstance(event.args[0], FileNotFoundError)
        assert f.closed


async def test_write_to_a_read_only_file_fires_error(tmp_path: Path) -> None:
    path = tmp_path / "ro.txt"
    path.write_bytes(b"")
    f = File(str(path), autoclose=False)
    root, watcher = app_with(f)
    async with open_app(root):
        await watcher.wait("opened")
        root.fire(write(b"nope"), "file")
        event = await watcher.wait("error")
        assert "not open for writing" in str(event.args[0])


async def test_unregistering_closes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "u.txt"
    path.write_bytes(b"")
    f = File(str(path), "r+")
    root, watcher = app_with(f)
    async with open_app(root):
        await watcher.wait("opened")
        f.fire(write(b"bye"))
        f.unregister()
        await watcher.wait("closed")
        await watcher.wait("unregistered")
        assert f.closed
    assert path.read_bytes() == b"bye"


async def test_a_slow_async_reader_paces_the_file(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(64 * 1024))
    seen: list[int] = []

    class Slow(Component):
        channel = "file"

        @handler("read")
        async def _slow(self, data: bytes) -> None:
            seen.append(len(root))  # events queued while a read is handled
            await trio.sleep(0.001)

    root, watcher = app_with(File(str(path), bufsize=4096), Slow())
    async with open_app(root):
        await watcher.wait("closed")
    assert root.data == path.read_bytes()
    assert max(seen) < 5  # one read at a time, not the whole file queued


def test_fired_from_another_thread_in_start_mode(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    root = Manager()
    f = File(str(path), "w").register(root)
    root.start()
    try:
        assert threading.current_thread() is threading.main_thread()
        f.fire(write(b"from the main thread"))
        f.fire(close())
        for _ in range(500):
            if path.exists() and path.read_bytes() and f.closed:
                break
            threading.Event().wait(0.01)
    finally:
        root.stop()
        root.join(10)
    assert path.read_bytes() == b"from the main thread"


def test_standard_streams_in_a_program(tmp_path: Path) -> None:
    program = tmp_path / "upper.py"
    program.write_text(
        "import trio_circuits\n"
        "from trio_circuits import Component\n"
        "from trio_circuits.io import stdin, stdout, write\n"
        "class Upper(Component):\n"
        "    channel = 'stdin'\n"
        "    def init(self):\n"
        "        stdin.register(self)\n"
        "        stdout.register(self)\n"
        "    def read(self, data):\n"
        "        self.fire(write(data.upper()), stdout)\n"
        "    def closed(self):\n"
        "        self.stop()\n"
        "trio_circuits.run(Upper())\n"
    )
    result = subprocess.run(
        [sys.executable, str(program)], input=b"abc\ndef\n", capture_output=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"ABC\nDEF\n"


def test_bad_bufsize() -> None:
    with pytest.raises(ValueError, match="bufsize"):
        File("x", bufsize=0)


def test_events_are_plain_events() -> None:
    assert read(b"x").args == [b"x"]
    assert eof().name == "eof"
