"""A bridged node in its own process: ``python node_main.py URL PREFIX NODE MODE CLIENT``.

MODE ``answer``: answers ``hello(name)`` on ``remote`` and reports ``job``s on
``jobs`` as ``done(n, node)`` on ``results``.  MODE ``hang``: takes ``job``s from the
``workers`` group and never finishes them (the test kills it).  Prints ``ready`` once
its bridge is reading, then each job it takes as ``took N``.
"""

from __future__ import annotations

import sys
from typing import Any

import trio

import trio_circuits
from trio_circuits import Component, Event, Manager
from trio_circuits.bridge import RedisBridge


class done(Event):
    """A job finished: ``(n, node)``."""


class Answerer(Component):
    channel = "remote"

    def hello(self, name: str) -> str:
        return f"hello {name} from {sys.argv[3]}"


class Jobs(Component):
    """Does each job at once (a plain handler: results leave in the order jobs came)."""

    channel = "jobs"

    def job(self, n: int) -> None:
        print(f"took {n}", flush=True)
        self.fire(done(n, sys.argv[3]), "results")


class Hang(Component):
    """Takes each job and never finishes it."""

    channel = "jobs"

    async def job(self, n: int) -> None:
        print(f"took {n}", flush=True)
        await trio.sleep_forever()


class Status(Component):
    channel = "bridge"

    def ready(self, *args: Any) -> None:
        print("ready", flush=True)


def main() -> None:
    url, prefix, name, mode, client = sys.argv[1:6]
    node = None if name == "-" else name  # "-": a generated name
    root = Manager()
    group = "workers" if mode == "hang" else None
    channels = ("jobs",) if mode == "hang" else ("remote", "jobs", "results")
    RedisBridge(
        url, node=node, prefix=prefix, group=group, channels=channels, client=client
    ).register(root)
    Answerer().register(root)
    (Hang() if mode == "hang" else Jobs()).register(root)
    Status().register(root)
    trio_circuits.run(root)


if __name__ == "__main__":
    main()
