"""trio_circuits.io.Process with real child processes."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import trio

from trio_circuits import Component, Manager, handler, open_app
from trio_circuits.io import Process, close, write
from trio_circuits.testing import Watcher

PY = sys.executable


def python(code: str) -> list[str]:
    return [PY, "-c", code]


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def is_zombie_or_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def children() -> set[int]:
    me = os.getpid()
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == me:
                found.add(int(entry))
    return found


async def test_output_status_and_terminated() -> None:
    root = Manager()
    watcher = Watcher(root)
    p = Process(python("import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"))
    p.register(root)
    async with open_app(root):
        p.start()
        started = await watcher.wait("started", "process")
        assert started.args == [p]
        done = await watcher.wait("terminated", "process", timeout=20)
        assert done.args == [p]
        assert p.stdout.getvalue() == b"out\n"
        assert p.stderr.getvalue() == b"err\n"
        assert p.status == 3
        assert p._terminated
        assert p._stdout_closed
        assert p._stderr_closed


async def test_read_events_on_pid_channels_and_stdin() -> None:
    root = Manager()
    watcher = Watcher(root)
    p = Process(python("import sys; sys.stdout.write(sys.stdin.read().upper())")).register(root)
    async with open_app(root):
        p.start()
        await watcher.wait("started", "process")
        assert p.p is not None
        assert p._stdin is not None
        p.write("hello, ")  # str is encoded
        p.fire(write(b"child"), p._stdin)  # the stdin File as a channel
        p.fire(close(), p._stdin)
        event = await watcher.wait("read", f"{p.p.pid}.stdout", timeout=20)
        await watcher.wait("terminated", timeout=20)
        assert event.args[0] in b"HELLO, CHILD"
        assert p.stdout.getvalue() == b"HELLO, CHILD"


async def test_ten_megabytes_interleaved_arrive_whole_and_in_order() -> None:
    code = (
        "import sys\n"
        "for i in range(160):\n"
        "    block = bytes([i % 251]) * 65536\n"
        "    sys.stdout.buffer.write(block); sys.stdout.flush()\n"
        "    sys.stderr.buffer.write(block[::-1]); sys.stderr.flush()\n"
    )
    root = Manager()
    watcher = Watcher(root)
    p = Process(python(code)).register(root)
    async with open_app(root):
        p.start()
        watcher.clear()
        with trio.fail_after(60):
            while True:
                event = await watcher.wait("terminated", timeout=60)
                if event.args[0] is p:
                    break
    expected = b"".join(bytes([i % 251]) * 65536 for i in range(160))
    assert p.stdout.getvalue() == expected
    assert p.stderr.getvalue() == expected


async def test_two_processes_on_one_channel_never_mix() -> None:
    root = Manager()
    watcher = Watcher(root)
    quick = Process(python("print('quick')")).register(root)
    slow = Process(python("import time; print('slow', flush=True); time.sleep(1)"))
    slow.register(root)
    async with open_app(root):
        quick.start()
        slow.start()
        first = await watcher.wait("terminated", "process", timeout=20)
        assert first.args == [quick]
        assert quick._terminated
        assert not slow._terminated
        second = await watcher.wait("terminated", "process", timeout=20)
        assert second.args == [slow]
    assert quick.stdout.getvalue() == b"quick\n"
    assert slow.stdout.getvalue() == b"slow\n"


async def test_shell_with_a_list(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    root = Manager()
    watcher = Watcher(root)
    p = Process([f"cat - > {target}"], shell=True).register(root)
    async with open_app(root):
        p.start()
        await watcher.wait("started", "process")
        p.write(b"via the shell")
        assert p._stdin is not None
        p.fire(close(), p._stdin)
        await watcher.wait("terminated", timeout=20)
    assert target.read_text() == "via the shell"


async def test_stop_leaves_no_zombie_and_no_descriptor() -> None:
    before = open_fds()
    root = Manager()
    watcher = Watcher(root)
    p = Process(python("import time; print('up', flush=True); time.sleep(60)")).register(root)
    async with open_app(root):
        p.start()
        await watcher.wait("read", timeout=20)
        assert p.p is not None
        pid = p.p.pid
        p.stop()
        await watcher.wait("terminated", timeout=20)
        assert p.status is not None
        assert p.status < 0
        assert is_zombie_or_gone(pid)
        assert pid not in children()
    assert open_fds() <= before


async def test_stopping_the_application_reaps_the_child() -> None:
    root = Manager()
    watcher = Watcher(root)
    p = Process(python("import time; print('up', flush=True); time.sleep(60)")).register(root)
    async with open_app(root):
        p.start()
        await watcher.wait("read", timeout=20)
        assert p.p is not None
        pid = p.p.pid
    assert pid not in children()
    assert p.status is not None


async def test_kill_and_signal() -> None:
    root = Manager()
    watcher = Watcher(root)
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGUSR1, lambda *a: (print('usr1', flush=True)))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    p = Process(python(code)).register(root)
    async with open_app(root):
        p.start()
        await watcher.wait("read", timeout=20)
        import signal

        p.signal(signal.SIGUSR1)
        with trio.fail_after(20):
            while b"usr1" not in p.stdout.getvalue():
                await watcher.wait("read")
        p.kill()
        await watcher.wait("terminated", timeout=20)
        assert p.status == -signal.SIGKILL


async def test_missing_executable_fires_error() -> None:
    root = Manager()
    watcher = Watcher(root)
    p = Process(["/nonexistent/program"]).register(root)
    async with open_app(root):
        p.start()
        event = await watcher.wait("error", "process")
        assert isinstance(event.args[0], FileNotFoundError)
        assert p.p is None
        assert p.status is None
        p.stop()  # nothing to stop: no error


async def test_restart_after_exit() -> None:
    root = Manager()
    watcher = Watcher(root)
    p = Process(python("print('run')")).register(root)
    async with open_app(root):
        for _ in range(2):
            p.start()
            await watcher.wait("terminated", timeout=20)
            assert p.stdout.getvalue() == b"run\n"
        assert len(p.components) == 3  # the pipes of the last run only


def test_start_and_stop_from_another_thread() -> None:
    class Recorder(Component):
        channel = "process"

        def init(self) -> None:
            self.done = threading.Event()

        @handler("terminated")
        def _done(self, process: Process) -> None:
            self.done.set()

    root = Recorder()
    p = Process(python("import time; time.sleep(60)")).register(root)
    root.start()
    try:
        p.start()
        for _ in range(500):
            if p.p is not None:
                break
            threading.Event().wait(0.01)
        p.stop()
        assert root.done.wait(20)
        assert p.status is not None
        assert p.status < 0
    finally:
        root.stop()
        root.join(10)


async def test_write_right_after_start_feeds_that_child() -> None:
    root = Manager()
    watcher = Watcher(root)
    p = Process(python("import sys; print(sys.stdin.readline().strip()[::-1])")).register(root)
    async with open_app(root):
        p.write(b"too early\n")  # no child yet: an error, nothing written
        error = await watcher.wait("error", "process")
        assert "not running" in str(error.args[0])
        p.start()
        p.write("stressed\n")  # queued behind the start
        await watcher.wait("terminated", timeout=20)
    assert p.stdout.getvalue() == b"desserts\n"
