"""The raw-Trio floor for the dispatch benchmarks: no framework at all.

One task reads a memory channel and calls the handlers of each item from a dict
(checking in with Trio every 64 items); ``fire`` is ``send_nowait``.  The same
scenarios as :mod:`trio_circuits._bench` (``fire``, ``flags``, ``call``,
``busycall``, ``async``), so that ``benchmarks/dispatch.py`` can report how close
the framework comes to the cost of Trio itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import trio

SCENARIOS = ("fire", "flags", "call", "busycall", "async")


class Floor:
    """A bare dispatcher: a channel and a dict of handlers."""

    def __init__(self) -> None:
        self.send, self.receive = trio.open_memory_channel[tuple[str, tuple[Any, ...]]](math.inf)
        self.handlers: dict[str, list[Callable[..., Any]]] = {}
        self.nursery: trio.Nursery | None = None

    def fire(self, name: str, *args: Any) -> None:
        self.send.send_nowait((name, args))

    async def run(self) -> None:
        receive = self.receive
        count = 0
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            while True:
                try:
                    name, args = receive.receive_nowait()
                except trio.WouldBlock:
                    name, args = await receive.receive()
                for h in self.handlers.get(name, ()):
                    h(*args)
                count += 1
                if count % 64 == 0:
                    await trio.lowlevel.checkpoint()


async def measure(scenario: str, n: int, burst: int = 512) -> float:
    """Run ``scenario`` with ``n`` events on the floor; return the seconds."""
    floor = Floor()
    finished = trio.Event()
    state = {"count": 0}

    def count(*_: Any) -> None:
        state["count"] += 1
        if state["count"] == n:
            finished.set()

    def flagged() -> None:
        floor.fire("flagged_success")
        floor.fire("flagged_complete")

    def answer(done: trio.Event) -> None:
        done.set()

    def busy() -> None:
        floor.fire("busy")

    async def apong() -> None:
        count()

    floor.handlers = {
        "ping": [count],
        "flagged": [flagged],
        "flagged_success": [],
        "flagged_complete": [count],
        "answer": [answer],
        "busy": [busy],
        "apong": [lambda: floor.nursery.start_soon(apong)],  # type: ignore[union-attr]
    }
    async with trio.open_nursery() as nursery:
        nursery.start_soon(floor.run)
        await trio.lowlevel.checkpoint()
        if scenario == "busycall":
            floor.fire("busy")
        start = time.perf_counter()
        if scenario in ("call", "busycall"):
            for _ in range(n):
                done = trio.Event()
                floor.fire("answer", done)
                await done.wait()
        else:
            name = {"fire": "ping", "flags": "flagged", "async": "apong"}[scenario]
            sent = 0
            step = burst or n
            while sent < n:
                size = min(step, n - sent)
                for _ in range(size):
                    floor.fire(name)
                sent += size
                if sent < n:
                    # As the framework's producer: the next burst once this one is handled.
                    while state["count"] < sent and not finished.is_set():
                        await trio.lowlevel.checkpoint()
            await finished.wait()
        seconds = time.perf_counter() - start
        nursery.cancel_scope.cancel()
    return seconds
