"""Testing helpers and the pytest plugin (entry point ``trio_circuits``).

* :class:`Watcher` records the events a tree dispatches so a test can wait for them.
* Fixtures, usable under pytest-trio: ``app`` (a factory running trees for the
  duration of a test) and ``watcher`` (a factory of :class:`Watcher`).
* :class:`RedisServer` runs a throwaway ``redis-server`` (for the Redis bridge).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import Any, TypeVar

import pytest
import trio

from ._redis_server import RedisServer
from .core.components import BaseComponent
from .core.events import Event
from .core.handlers import handler
from .core.manager import Manager

__all__ = ["RedisServer", "Watcher", "app", "watcher"]

M = TypeVar("M", bound=Manager)


class Watcher(BaseComponent):
    """Record every event dispatched in ``root``'s tree (registers itself there).

    :meth:`wait` returns the next matching event, including events seen since the
    watcher was attached and not yet returned by an earlier :meth:`wait`.
    """

    channel: Hashable = "*"

    def __init__(self, root: Manager | None = None) -> None:
        super().__init__()
        self._seen: list[Event] = []
        self._arrived = trio.Event()
        if root is not None:
            self.register(root)

    @handler(channel="*", priority=10_000)
    def _record(self, event: Event, *args: Any, **kwargs: Any) -> None:
        self._seen.append(event)
        self._arrived.set()

    @property
    def seen(self) -> list[Event]:
        """The events seen and not yet consumed by :meth:`wait`, oldest first."""
        return list(self._seen)

    def clear(self) -> None:
        """Forget every event seen so far."""
        self._seen.clear()

    def _take(self, name: str, channel: Hashable | None) -> Event | None:
        for i, event in enumerate(self._seen):
            if event.name != name:
                continue
            if channel is not None and channel not in event.channels:
                continue
            del self._seen[i]
            return event
        return None

    async def wait(  # type: ignore[override]
        self,
        name: str,
        channel: Hashable | None = None,
        timeout: float = 5,  # noqa: ASYNC109 (SPEC §7's signature)
    ) -> Event:
        """Return the next event called ``name`` (on ``channel``, if given), once handled.

        Raises :exc:`trio.TooSlowError` after ``timeout`` seconds.
        """
        with trio.fail_after(timeout):
            while True:
                event = self._take(name, channel)
                if event is not None:
                    if event.value is not None:
                        await event.value.wait_done()
                    return event
                self._arrived = trio.Event()
                await self._arrived.wait()


@pytest.fixture
async def app() -> AsyncIterator[Callable[[M], Awaitable[M]]]:
    """A factory: ``await app(root)`` runs ``root`` until the test ends.

    Returns the root once started (servers bound, ``ready`` fired).  After the test
    each root is stopped cleanly and the fixture waits for it to shut down.
    """
    roots: list[Manager] = []
    async with trio.open_nursery() as nursery:

        async def start(root: M) -> M:
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
