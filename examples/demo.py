"""A self-terminating tour of trio_circuits' core: events, handlers, call/wait,
follow-up events, async handlers and timers.  Run: ``python examples/demo.py``."""

from __future__ import annotations

import sys

import trio

import trio_circuits
from trio_circuits import Component, Debugger, Event, Timer


class greet(Event):
    """Say hello to someone."""

    success = True


class compute(Event):
    """Square a number (slowly, in an async handler)."""

    complete = True


class tick(Event):
    """A timer tick."""


class done(Event):
    """Time to stop."""


class App(Component):
    ticks = 0

    def started(self, root: object) -> None:
        print("app started")
        self.fire(greet("world"))
        Timer(0.05, tick(), persist=True).register(self)
        Timer(0.3, done()).register(self)

    def greet(self, name: str) -> str:
        return f"Hello, {name}!"

    def greet_success(self, evt: greet, value: str) -> None:
        print(f"greet succeeded: {value}")
        self.fire(compute(7))

    async def compute(self, n: int) -> int:
        await trio.sleep(0.01)
        result = await self.call(Event.create("double", n * n))
        return int(result.value)

    def double(self, n: int) -> int:
        return 2 * n

    def compute_complete(self, evt: compute, value: int) -> None:
        print(f"compute cascade complete: {value}")

    def tick(self) -> None:
        self.ticks += 1

    def done(self) -> None:
        print(f"timer ticked {self.ticks} times; stopping")
        self.stop()


def main() -> None:
    app = App()
    Debugger(file=sys.stdout, IgnoreEvents=["tick"]).register(app)
    trio_circuits.run(app)
    print("demo finished cleanly")


if __name__ == "__main__":
    main()
