"""The ``fire`` primitive: queue events and carry on (a port of circuits' example)."""

from __future__ import annotations

import trio_circuits
from trio_circuits import Component, Event


class hello(Event):
    """hello Event"""


class foo(Event):
    """foo Event"""


class bar(Event):
    """bar Event"""


class App(Component):
    def foo(self) -> None:
        print("Foo!")

    def bar(self) -> None:
        print("Bar!")

    def hello(self) -> None:
        self.fire(foo())
        self.fire(bar())
        print("Hello World!")

    def started(self, component: object) -> None:
        self.fire(hello())
        self.stop()


if __name__ == "__main__":
    trio_circuits.run(App())
