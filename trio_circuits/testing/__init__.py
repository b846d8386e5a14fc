"""Testing helpers: :class:`Watcher`, and a throwaway ``redis-server``.

* :class:`Watcher` records the events a tree dispatches so a test can wait for them.
* :class:`RedisServer` and :func:`create_cluster` run throwaway ``redis-server``
  processes (for the Redis bridge's tests, demos and benchmarks).

This package imports no pytest.  The pytest plugin (fixtures ``app`` and
``watcher``) is :mod:`trio_circuits.testing.plugin`, loaded through the
``pytest11`` entry point ``trio_circuits``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import trio

from ..core.components import BaseComponent
from ..core.events import Event
from ..core.handlers import handler
from ..core.manager import Manager
from .redis_server import RedisServer, create_cluster, find_redis_server

__all__ = ["RedisServer", "Watcher", "create_cluster", "find_redis_server"]


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

        Raises :exc:`trio.TooSlowError` after ``timeout`` seconds.  A handler's
        exception is not raised here (it is reported as an ``exception`` event).

        Cancellation: cancelling the wait consumes nothing; the event stays recorded.
        """
        with trio.fail_after(timeout):
            while True:
                event = self._take(name, channel)
                if event is not None:
                    try:
                        await self._handled(event)
                    except BaseException:
                        self._seen.insert(0, event)
                        raise
                    return event
                self._arrived = trio.Event()
                await self._arrived.wait()

    @staticmethod
    async def _handled(event: Event) -> None:
        value = event.value
        if value is None:
            await trio.lowlevel.checkpoint()
            return
        # A handler's error is reported by its ``exception`` event, not here.
        await value.wait_done()
