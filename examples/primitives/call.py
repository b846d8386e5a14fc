"""The ``call`` primitive: fire an event and wait for its value.

A port of circuits' example: the generator handlers (``x = yield self.call(e)``)
became ``async def`` handlers (``x = await self.call(e)``).
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
        x = await self.call(foo())
        y = await self.call(bar())
        return int(x.value + y.value)

    async def started(self, component: object) -> None:
        x = await self.call(hello())
        print(f"{x.value:d}")
        self.stop()


if __name__ == "__main__":
    trio_circuits.run(App())
