"""Hello World: a component fires an event on start-up, handles it, and exits.

A port of circuits' ``examples/hello.py``: ``App().run()`` became
``trio_circuits.run(App())``.
"""

from __future__ import annotations

import trio_circuits
from trio_circuits import Component, Event


class hello(Event):
    """hello Event"""


class terminate(Event):
    """terminate Event"""


class App(Component):
    def hello(self) -> None:
        """Handle ``hello``."""
        print("Hello World!")

    def started(self, *args: object) -> None:
        """Fired once when the application starts."""
        self.fire(hello())
        self.fire(terminate())

    def terminate(self) -> None:
        """Stop with exit status 0 (``SystemExit`` works as in circuits)."""
        raise SystemExit(0)


if __name__ == "__main__":
    trio_circuits.run(App())
