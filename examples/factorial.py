"""Factorial in a worker process while a timer keeps ticking (circuits' example).

``--delay`` sets the deliberate pause per multiplication (default 1 s, as circuits'),
``--threads`` uses a thread worker instead of a process.
"""

from __future__ import annotations

import argparse
from time import sleep

import trio_circuits
from trio_circuits import Component, Debugger, Event, Timer, Worker, task


def factorial(n: int, delay: float = 1.0) -> int:
    """A deliberately slow factorial (runs in the worker)."""
    x = 1
    for i in range(1, n + 1):
        x = x * (i + 1)
        sleep(delay)  # deliberate!
    return x


class App(Component):
    def init(self, delay: float = 1.0, process: bool = True) -> None:
        self.delay = delay
        Worker(process=process).register(self)

    def foo(self) -> None:
        print("Foo!")

    async def started(self, component: object) -> None:
        Timer(self.delay, Event.create("foo"), persist=True).register(self)
        x = await self.call(task(factorial, 10, self.delay))
        print(f"{x.value:d}")
        self.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--threads", action="store_true", help="use a thread worker")
    parser.add_argument("--debug", action="store_true", help="log every event")
    args = parser.parse_args()
    app = App(delay=args.delay, process=not args.threads)
    if args.debug:
        Debugger().register(app)
    trio_circuits.run(app)
