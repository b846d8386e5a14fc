"""``Daemon``: detach the running application into the background (double fork).

The fork happens inside the running application, in the dispatcher: the grandchild
carries on with the same Trio run, its tasks, sockets and timers, so no descriptor of
Trio's (its epoll and wake-up descriptors, sockets already open) is closed -- only
the standard streams are pointed elsewhere.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Hashable
from typing import Any

from ..core.components import Component
from ..core.events import Event
from ..core.handlers import handler

__all__ = ["Daemon", "daemonize", "daemonized", "deletepid", "writepid"]


class daemonize(Event):
    """Request: detach now: ``daemonize()``."""


class daemonized(Event):
    """Fired in the detached process once it runs: ``daemonized(daemon)``."""


class deletepid(Event):
    """Request: remove the pid file: ``deletepid()``."""


class writepid(Event):
    """Request: write the current pid to the pid file: ``writepid()``."""


class Daemon(Component):
    """Run the application as a daemon.

    Args:
        pidfile: where the daemon's pid is written (a path).
        path: the working directory of the daemon (absolute; default ``/``).
        stdin, stdout, stderr: absolute paths the standard streams are redirected
            to (``stdout``/``stderr`` are appended to); default ``/dev/null``.
        channel: default ``"daemon"``.

    When the application starts (or when the Daemon is registered into a running
    application) it forks twice: the original process exits with status 0, the
    intermediate one starts a new session and exits, and the grandchild -- no longer
    attached to a terminal, with the umask ``0o022`` -- writes ``pidfile`` and fires
    ``daemonized(self)``.  ``trio_circuits.run``'s signal handling carries on in it:
    its ``signal`` handlers see SIGTERM.  The pid file is left in place when the
    daemon stops (fire ``deletepid()`` to remove it).

    Fork the application before it starts threads of its own: a fork keeps only the
    thread that forks (Trio's idle worker threads are forgotten safely).
    """

    channel: Hashable = "daemon"

    def init(
        self,
        pidfile: str,
        path: str = "/",
        stdin: str | None = None,
        stdout: str | None = None,
        stderr: str | None = None,
        channel: Hashable = "daemon",
    ) -> None:
        if not os.path.isabs(path):
            raise ValueError(f"path must be absolute, not {path!r}")
        self.pidfile = os.path.abspath(pidfile)
        self.path = path
        self.stdin = stdin if stdin is not None and os.path.isabs(stdin) else os.devnull
        self.stdout = stdout if stdout is not None and os.path.isabs(stdout) else os.devnull
        self.stderr = stderr if stderr is not None and os.path.isabs(stderr) else os.devnull
        self._detached = False

    def deletepid(self) -> None:
        """Remove the pid file (if it is there)."""
        try:
            os.remove(self.pidfile)
        except FileNotFoundError:
            pass

    def writepid(self) -> None:
        """Write this process's pid to the pid file."""
        tmp = f"{self.pidfile}.{os.getpid()}.tmp"
        with open(tmp, "w") as out:
            out.write(f"{os.getpid()}\n")
        os.replace(tmp, self.pidfile)  # a reader never sees a half-written file

    def daemonize(self) -> None:
        """Fork twice and carry on in the grandchild (see the class docstring)."""
        if self._detached:
            return
        self._detached = True
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        if os.fork() > 0:
            os._exit(0)  # the original process: done, without running any cleanup
        os.chdir(self.path)
        os.setsid()
        os.umask(0o022)
        if os.fork() > 0:
            os._exit(0)
        self._redirect()
        self.fire(writepid())
        self.fire(daemonized(self))

    def _redirect(self) -> None:
        for fd, path, flags in (
            (0, self.stdin, os.O_RDONLY),
            (1, self.stdout, os.O_WRONLY | os.O_APPEND | os.O_CREAT),
            (2, self.stderr, os.O_WRONLY | os.O_APPEND | os.O_CREAT),
        ):
            target = os.open(path, flags, 0o644)
            os.dup2(target, fd)
            os.close(target)

    def registered(self, component: Any, manager: Any) -> None:
        if component is self and self.running:
            self.fire(daemonize())

    @handler("started", channel="*", priority=100.0)
    def _on_started(self, component: Any) -> None:
        # Only the application's start: io's ``started(process)`` shares the name.
        if component is self.root and component is not self:
            self.fire(daemonize())
