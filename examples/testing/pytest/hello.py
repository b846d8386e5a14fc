"""The application under test: answers ``hello`` and, run as a program, prints it.

python examples/testing/pytest/hello.py
"""

from __future__ import annotations

from typing import Any

import trio_circuits
from trio_circuits import Component, Event


class hello(Event):
    """Asks for a greeting."""


class App(Component):
    def hello(self) -> str:
        return "Hello World!"

    async def started(self, component: Any) -> None:
        if component is not self:
            return  # part of a bigger application (a test): just answer hello
        value = await self.call(hello())
        print(value.value)
        self.stop()


if __name__ == "__main__":
    trio_circuits.run(App())
