"""``trio_circuits.run`` with and without workers, in this process; factories by name."""

from __future__ import annotations

import functools
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import trio_circuits
from trio_circuits import Component, Manager
from trio_circuits.multicore import worker_count, worker_index
from trio_circuits.multicore._factory import build, load, reference
from trio_circuits.multicore._listeners import Listeners, hand_over
from trio_circuits.net.sockets import TCPServer, UDPServer

from . import apps
from .harness import descendants


class Stops(Component):
    """Stops itself once started."""

    def started(self, root: Any) -> None:
        self.stop()


def stops() -> Manager:
    return Stops()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answered(port: int) -> set[int]:
    """The workers that greet eight connections opened together (none: not up yet).

    Together, because with one shared accept queue a single client connecting again
    and again may be served by one worker only.
    """
    conns: list[socket.socket] = []
    try:
        for _ in range(8):
            conns.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        return {int(_line(conn).split()[1]) for conn in conns}
    except (OSError, ValueError, IndexError):
        return set()
    finally:
        for conn in conns:
            conn.close()


def _line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(100)
        if not chunk:
            raise ConnectionError("closed before the greeting")
        data += chunk
    return data


def test_run_with_workers_in_this_process_leaves_nothing_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = _free_port()
    monkeypatch.setenv("TEST_PORT", str(port))
    fds = set(os.listdir("/proc/self/fd"))
    before = descendants(os.getpid())  # e.g. a redis-server started by another test: not ours
    seen: set[int] = set()

    def stop_when_both_answered() -> None:
        deadline = time.monotonic() + 30
        while seen != {0, 1} and time.monotonic() < deadline:
            seen.update(_answered(port))
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)  # to the supervisor's signal receiver

    thread = threading.Thread(target=stop_when_both_answered)
    thread.start()
    try:
        trio_circuits.run(apps.echo, workers=2)
    finally:
        thread.join()
    assert seen == {0, 1}
    assert descendants(os.getpid()) <= before
    assert set(os.listdir("/proc/self/fd")) == fds


def test_one_worker_runs_the_factory_here() -> None:
    trio_circuits.run(stops)
    trio_circuits.run(f"{__name__}:stops", workers=1)
    trio_circuits.run(Stops)
    trio_circuits.run(Stops())


def test_bad_arguments_fail_at_once() -> None:
    with pytest.raises(ValueError, match="positive int"):
        trio_circuits.run(stops, workers=0)
    with pytest.raises(TypeError, match="needs a factory"):
        trio_circuits.run(Stops(), workers=2)
    with pytest.raises(TypeError, match="importable by name"):
        trio_circuits.run(lambda: Stops(), workers=2)
    with pytest.raises(TypeError, match="importable by name"):
        trio_circuits.run(functools.partial(Stops), workers=2)
    with pytest.raises(ValueError, match="module:factory"):
        trio_circuits.run("no_colon", workers=2)
    with pytest.raises(TypeError, match="not a component"):
        trio_circuits.run(f"{__name__}:_free_port", workers=2)


def test_a_listener_that_cannot_be_bound_stops_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        monkeypatch.setenv("TEST_PORT", str(busy.getsockname()[1]))
        with pytest.raises(SystemExit, match=r"could not start: .*in use"):
            trio_circuits.run(apps.echo, workers=2)


def test_references_name_modules_and_scripts(tmp_path: Path) -> None:
    assert reference(apps.echo) == {"module": "tests.multicore.apps", "qualname": "echo"}
    assert reference(apps.Done) == {"module": "tests.multicore.apps", "qualname": "Done"}
    assert reference("a.b:c.d") == {"module": "a.b", "qualname": "c.d"}
    assert load(reference(apps.echo)) is apps.echo
    script = tmp_path / "script.py"
    script.write_text(
        "from trio_circuits import Manager\n"
        "def make():\n    return Manager()\n"
        "if __name__ == '__main__':\n    raise SystemExit('the main block ran')\n"
    )
    factory = load({"path": str(script), "qualname": "make"})
    assert isinstance(build(factory), Manager)
    sys.modules.pop("__trio_circuits_main__")


def test_build_wants_a_root() -> None:
    with pytest.raises(TypeError, match="not a component"):
        build(lambda: 42)  # type: ignore[arg-type, return-value]
    root = Manager()
    child = Stops().register(root)
    with pytest.raises(ValueError, match="not the root"):
        build(lambda: child)


def test_a_worker_refuses_servers_other_than_the_supervisor_bound() -> None:
    root = Manager()
    TCPServer(("127.0.0.1", 0)).register(root)
    listeners = Listeners(root, 2)
    try:
        with pytest.raises(ValueError, match="same servers"):
            hand_over(Manager(), listeners.fds(0))
        other = Manager()
        UDPServer(("127.0.0.1", 0)).register(other)
        fd = os.dup(listeners.fds(0)[0])
        with pytest.raises(ValueError, match="does not match"):
            hand_over(other, [fd])
    finally:
        listeners.close()


def test_worker_index_is_none_outside_workers() -> None:
    assert worker_index() is None
    assert worker_count() is None
