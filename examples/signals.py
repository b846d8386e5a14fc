"""Signal handling: SIGINT/SIGTERM fire ``signal``; its handler delays the exit.

A port of circuits' example.  ``trio_circuits.run`` stops the application once the
``signal`` event has been handled, so the delay is an ``async`` handler that sleeps
(circuits registered a Timer that fired ``terminate``).
"""

from __future__ import annotations

import argparse

import trio

import trio_circuits
from trio_circuits import Component, Debugger, Event


class hello(Event):
    """hello Event"""


class App(Component):
    def __init__(self, delay: float = 3.0) -> None:
        super().__init__()
        self.delay = delay

    def hello(self) -> None:
        print("Hello World!", flush=True)

    async def signal(self, event: Event, signo: int, stack: object) -> None:
        print(f"Terminating in {self.delay:g} seconds...", flush=True)
        await trio.sleep(self.delay)

    def started(self, component: object) -> None:
        self.fire(hello())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delay", type=float, default=3.0)
    parser.add_argument("--debug", action="store_true", help="log every event")
    args = parser.parse_args()
    app = App(args.delay)
    if args.debug:
        app += Debugger()
    trio_circuits.run(app)
