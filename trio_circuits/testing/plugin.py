"""The pytest plugin of trio_circuits (``pytest11`` entry point ``trio_circuits``).

Fixtures, usable under pytest-trio:

* ``app`` -- a factory: ``await app(root)`` runs ``root`` for the rest of the test;
* ``watcher`` -- a factory: ``watcher(root)`` attaches a
  :class:`~trio_circuits.testing.Watcher` to ``root``'s tree.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest
import trio

from ..core.manager import Manager
from . import Watcher

__all__ = ["app", "watcher"]

M = TypeVar("M", bound=Manager)


@pytest.fixture
async def app() -> AsyncIterator[Callable[[M], Awaitable[M]]]:
    """A factory: ``await app(root)`` runs ``root`` until the test ends.

    Returns the root once started (servers bound, ``ready`` fired).  After the test
    each root is stopped cleanly and the fixture waits for it to shut down.

    Cancellation: a test cancelled mid-way still stops its roots on teardown.
    """
    roots: list[Manager] = []
    async with trio.open_nursery() as nursery:

        async def start(root: M) -> M:
            """Run ``root`` in the fixture's nursery; return it once started.

            Cancellation: cancelling the start cancels the root's run.
            """
            await nursery.start(root.run)
            roots.append(root)
            return root

        try:
            yield start
        finally:
            for root in roots:
                root.stop()


@pytest.fixture
def watcher() -> Callable[[Manager], Watcher]:
    """A factory: ``watcher(root)`` attaches a :class:`Watcher` to ``root``'s tree."""

    def attach(root: Manager) -> Watcher:
        return Watcher(root)

    return attach
