"""The ``wait`` primitive: fire an event, then wait for it to be handled.

A port of circuits' example: ``yield self.wait("foo")`` became
``await self.wait("foo")``.
"""

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
    def foo(self) -> int:
        return 1

    def bar(self) -> int:
        return 2

    async def hello(self) -> int:
        x = self.fire(foo())
        await self.wait("foo")
        y = self.fire(bar())
        await self.wait("bar")
        return int(x.value + y.value)

    async def started(self, component: object) -> None:
        x = self.fire(hello())
        await self.wait("hello")
        print(f"{x.value:d}")
        self.stop()


if __name__ == "__main__":
    trio_circuits.run(App())
