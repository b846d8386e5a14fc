"""A daemonized application for tests/app (run as a program: the test never forks).

    python daemon_main.py PIDFILE SIGNALFILE LOGFILE [--late]

It prints ``daemonized <pid>`` to LOGFILE (its redirected stdout) once detached, keeps
a Timer ticking, and on SIGTERM writes the signal number to SIGNALFILE and stops.
``--late`` registers the Daemon from a ``started`` handler, into the running
application.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import trio_circuits
from trio_circuits import Component, Event, Timer
from trio_circuits.app import Daemon


class tick(Event):
    pass


class App(Component):
    def init(self, pidfile: str, signalfile: str, logfile: str, late: bool) -> None:
        self.signalfile = signalfile
        self.ticks = 0
        self.daemon = Daemon(pidfile, stdout=logfile, stderr=logfile)
        if not late:
            self.daemon.register(self)
        self.late = late
        Timer(0.05, tick(), persist=True).register(self)

    def started(self, component: Any) -> None:
        if self.late and component is self:
            self.daemon.register(self)

    def daemonized(self, daemon: Any) -> None:
        print(f"daemonized {os.getpid()} sid={os.getsid(0)} cwd={os.getcwd()}", flush=True)

    def tick(self) -> None:
        self.ticks += 1
        if self.ticks == 5:
            print("ticking", flush=True)

    def signal(self, signo: int, stack: Any) -> None:
        with open(self.signalfile, "w") as out:
            out.write(str(signo))
        self.stop()


if __name__ == "__main__":
    pidfile, signalfile, logfile = (os.path.abspath(a) for a in sys.argv[1:4])
    trio_circuits.run(App(pidfile, signalfile, logfile, "--late" in sys.argv))
