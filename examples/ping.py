"""Wrap the system's ``ping`` in a Process and copy its output to stdout.

    python examples/ping.py HOST [--count N] [--debug]

Exits with ping's status once it has finished.
"""

from __future__ import annotations

import argparse
import shutil
from typing import Any

import trio_circuits
from trio_circuits import Component, Debugger
from trio_circuits.io import Process, stdout, write


class Ping(Component):
    stdout = stdout

    def init(self, host: str, count: int, command: str = "ping") -> None:
        self.p = Process([shutil.which(command) or command, "-c", str(count), host]).register(self)
        self.p.start()

    def read(self, data: bytes) -> None:
        self.fire(write(data), self.stdout)

    def error(self, exc: Exception) -> None:
        print(f"ping: {exc}", flush=True)
        self.stop(2)

    def terminated(self, process: Any) -> None:
        self.stop(process.status)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("host")
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--command", default="ping", help="the ping program to run")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()
    app = Ping(args.host, args.count, args.command)
    if args.debug:
        Debugger().register(app)
    trio_circuits.run(app)
