"""trio_circuits.app.Daemon and DropPrivileges, in programs of their own."""

from __future__ import annotations

import grp
import os
import pwd
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trio_circuits.app import Daemon

HERE = Path(__file__).resolve().parent


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("late", [False, True])
def test_daemon_detaches_writes_pidfile_and_handles_sigterm(tmp_path: Path, late: bool) -> None:
    pidfile, signalfile, logfile = tmp_path / "app.pid", tmp_path / "signal", tmp_path / "log"
    args = [
        sys.executable,
        str(HERE / "daemon_main.py"),
        str(pidfile),
        str(signalfile),
        str(logfile),
    ]
    start = time.monotonic()
    launcher = subprocess.run(
        [*args, *(["--late"] if late else [])], timeout=20, capture_output=True
    )
    assert launcher.returncode == 0, launcher.stderr
    assert wait_for(pidfile.exists, 1.0 - (time.monotonic() - start) + 0.5)
    pid = int(pidfile.read_text())
    try:
        assert pid != os.getpid()
        assert alive(pid)
        # Still running its Trio loop: the Timer keeps ticking after the forks.
        assert wait_for(
            lambda: "ticking" in logfile.read_text() if logfile.exists() else False, 10
        )
        first = logfile.read_text().splitlines()[0]
        assert first.startswith(f"daemonized {pid} ")
        assert f"sid={pid}" not in first  # not a session leader: cannot regain a tty
        assert first.endswith("cwd=/")
        os.kill(pid, signal.SIGTERM)
        assert wait_for(lambda: not alive(pid), 10)
        assert signalfile.read_text() == str(int(signal.SIGTERM))
        assert pidfile.exists()  # left for the operator, as circuits does
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_daemon_wants_an_absolute_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="absolute"):
        Daemon(str(tmp_path / "x.pid"), path="relative/dir")
    daemon = Daemon("x.pid", stdout="relative.log")
    assert os.path.isabs(daemon.pidfile)
    assert daemon.stdout == os.devnull


def test_writepid_and_deletepid(tmp_path: Path) -> None:
    daemon = Daemon(str(tmp_path / "me.pid"))
    daemon.writepid()
    assert (tmp_path / "me.pid").read_text().strip() == str(os.getpid())
    daemon.deletepid()
    daemon.deletepid()  # twice is fine
    assert not (tmp_path / "me.pid").exists()


DROP = """
import os, sys
import trio_circuits
from trio_circuits import Component
from trio_circuits.app import DropPrivileges
from trio_circuits.net.sockets import TCPServer

class App(Component):
    channel = "server"
    def init(self, user, group):
        TCPServer(("127.0.0.1", 0)).register(self)
        DropPrivileges(user, group, umask=0o027).register(self)
    def unregistered(self, component, manager):
        # DropPrivileges is done (it unregisters itself after switching)
        umask = os.umask(0)
        print(os.getuid(), os.getgid(), oct(umask), len(self.components), flush=True)
        self.stop()

trio_circuits.run(App(sys.argv[1], sys.argv[2]))
"""


def test_drop_privileges(tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    group = grp.getgrgid(nobody.pw_gid).gr_name
    script = tmp_path / "drop.py"
    script.write_text(DROP)
    result = subprocess.run(
        [sys.executable, str(script), "nobody", group],
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert result.returncode == 0, result.stderr
    uid, gid, umask, children = result.stdout.split()
    if os.getuid() == 0:
        assert (int(uid), int(gid), umask) == (nobody.pw_uid, nobody.pw_gid, "0o27")
    else:  # not root: nothing to drop
        assert int(uid) == os.getuid()
    assert children == "1"  # DropPrivileges unregistered itself


def test_drop_privileges_to_an_unknown_user_stops_with_status_1(tmp_path: Path) -> None:
    script = tmp_path / "drop.py"
    script.write_text(DROP)
    result = subprocess.run(
        [sys.executable, str(script), "tc-no-such-user", "tc-no-such-group"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    if os.getuid() == 0:
        assert result.returncode == 1
        assert "could not drop privileges" in result.stderr
    else:
        assert result.returncode == 0
