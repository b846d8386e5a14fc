"""The stream reader: one read loop per stream, and the claim loop of a work queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from .client import Fields, StreamClient
    from .config import Config

__all__ = ["BLOCK_MS", "StreamReader"]

#: One blocking read's longest wait: bounds an idle reader's loop.
BLOCK_MS = 2_000
#: Passes of the claim loop over a stream: at most this many batches each.
_CLAIM_PASSES = 1_000


class StreamReader:
    """Takes entries from Redis and hands each to ``take(key, entry_id, fields)``.

    Args:
        config: the node, its groups, ``batch`` and ``claim_after``.
        take: what to do with each entry (the inlet's ``take``).
    """

    def __init__(self, config: Config, take: Callable[[str, bytes, Fields | None], None]) -> None:
        self._config = config
        self._take = take

    async def read(
        self,
        client: StreamClient,
        key: str,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Read ``key`` through this node's group until cancelled.

        First what this consumer was given and never acknowledged (a restart, a lost
        connection), then new entries.  Reports started once its connection is open.

        Cancellation: entries Redis delivered and nobody took stay pending in the
        group; the next session reads them first.
        """
        config = self._config
        group = config.group_of(key)
        take = self._take
        async with client.reader() as reading:
            task_status.started()
            cursor = b"0"
            while True:
                block = None if cursor != b">" else BLOCK_MS
                entries = await reading.read(key, group, config.node, cursor, config.batch, block)
                if cursor != b">":
                    if not entries:
                        cursor = b">"
                        continue
                    cursor = entries[-1][0]
                for entry_id, fields in entries:
                    take(key, entry_id, fields)

    async def claim(
        self,
        client: StreamClient,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Work queues: take here what dead group members left pending, until cancelled.

        Every ``claim_after / 4`` seconds, each stream's entries idle for longer than
        ``claim_after`` are claimed (``XAUTOCLAIM``) and taken.

        Cancellation: claimed entries not yet taken stay pending, claimed by this node.
        """
        config = self._config
        idle_ms = int(config.claim_after * 1000)
        async with client.reader() as reading:
            task_status.started()
            while True:
                for key in config.streams:
                    start = b"0-0"
                    for _ in range(_CLAIM_PASSES):
                        start, entries = await reading.claim(
                            key, config.group_of(key), config.node, idle_ms, start, config.batch
                        )
                        for entry_id, fields in entries:
                            self._take(key, entry_id, fields)
                        if start == b"0-0":
                            break
                await trio.sleep(config.claim_after / 4)
