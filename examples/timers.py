"""Timers: one one-shot and two persistent timers (a port of circuits' example).

Runs for ``--duration`` seconds (default 6); ``--scale`` multiplies every interval.
"""

from __future__ import annotations

import argparse

import trio_circuits
from trio_circuits import Component, Event, Timer


class App(Component):
    def __init__(self, scale: float = 1.0, duration: float = 6.0) -> None:
        super().__init__()
        self.scale = scale
        self.duration = duration

    def hello(self) -> None:
        """Fired once, after 5 seconds."""
        print("Hello World")

    def foo(self) -> None:
        """Fired every second."""
        print("Foo")

    def bar(self) -> None:
        """Fired every 3 seconds."""
        print("Bar")

    def finish(self) -> None:
        """Stop after ``duration`` seconds."""
        self.stop()

    def started(self, component: object) -> None:
        """Set up the timers at 5, 1 and 3 seconds (the last two persistent)."""
        s = self.scale
        Timer(5 * s, Event.create("hello")).register(self)
        Timer(1 * s, Event.create("foo"), persist=True).register(self)
        Timer(3 * s, Event.create("bar"), persist=True).register(self)
        Timer(self.duration * s, Event.create("finish")).register(self)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every interval")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds to run (scaled)")
    args = parser.parse_args()
    trio_circuits.run(App(args.scale, args.duration + 0.5))
