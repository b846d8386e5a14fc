"""The trimmer: streams keep only what some consumer group still needs.

Redis keeps a stream's entries until they are trimmed, whether or not every group
has read them.  Every ``trim_every`` seconds each node trims the streams of its
bridged channels below the lowest entry any group may still be given: the first
entry a group has pending, else the one after the last delivered to it.  Nothing a
group still needs is dropped, so a node that stops and comes back under the same
name still gets everything it missed.

A node whose name was generated (``"<hostname>-<pid>"``) can never come back
under it, so its groups would hold the streams for ever once it is gone.  Such
groups are told apart by their name (:data:`EPHEMERAL`), removed by the node itself
when it stops, and by any other node once their readers have been silent for
``forget_after`` seconds (a process that was killed).

The decisions are pure functions (:func:`floor`, :func:`trim_point`,
:func:`is_forgotten`), tested without Redis; :class:`Trimmer` does the I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import trio

from .config import EPHEMERAL

if TYPE_CHECKING:
    from .client import GroupState, StreamClient, StreamReading
    from .config import Config

__all__ = ["Trimmer", "floor", "is_forgotten", "next_id", "trim_point"]


def _parse(entry_id: bytes) -> tuple[int, int]:
    ms, _, seq = entry_id.partition(b"-")
    return int(ms), int(seq or 0)


def next_id(entry_id: bytes) -> bytes:
    """The lowest stream id above ``entry_id`` (``b"5-3"`` -> ``b"5-4"``)."""
    ms, seq = _parse(entry_id)
    return f"{ms}-{seq + 1}".encode()


def floor(group: GroupState) -> bytes:
    """The lowest entry id ``group`` may still be given."""
    if group.first_pending is not None:
        return group.first_pending
    return next_id(group.last_delivered)


def is_forgotten(group: GroupState, forget_after_ms: int, own: str) -> bool:
    """True if ``group`` belongs to a generated-name node taken for dead.

    Only such groups are ever forgotten (a named node may come back), never this
    node's own, and only when they have a consumer to judge by.
    """
    return (
        group.name.startswith(EPHEMERAL)
        and group.name != own
        and group.idle_ms is not None
        and group.idle_ms > forget_after_ms
    )


def trim_point(groups: Iterable[GroupState]) -> bytes | None:
    """Where to trim a stream read by ``groups`` (``None``: no group, do not trim)."""
    floors = [_parse(floor(group)) for group in groups]
    if not floors:
        return None
    ms, seq = min(floors)
    return f"{ms}-{seq}".encode()


class Trimmer:
    """Trims this node's bridged streams, and forgets the groups of dead nodes.

    Args:
        config: the streams, this node's groups, ``trim_every`` and ``forget_after``.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        #: Rounds done (every stream looked at once).
        self.rounds = 0
        #: Groups of dead generated-name nodes removed.
        self.forgotten = 0

    async def run(
        self,
        client: StreamClient,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Every ``trim_every`` seconds, trim each bridged stream, until cancelled.

        Cancellation: a trim in progress may or may not have happened; trimming
        again is harmless.
        """
        async with client.reader() as reading:
            task_status.started()
            while True:
                for key in self._config.streams:
                    await self._trim(reading, key)
                self.rounds += 1
                await trio.sleep(self._config.trim_every)

    async def _trim(self, reading: StreamReading, key: str) -> None:
        config = self._config
        forget_after_ms = int(config.forget_after * 1000)
        own = config.group_of(key)
        kept = []
        for group in await reading.groups(key):
            if is_forgotten(group, forget_after_ms, own):
                node = group.name[len(EPHEMERAL) :]
                await reading.forget([key], group.name, config.inbox_of(node))
                self.forgotten += 1
            else:
                kept.append(group)
        point = trim_point(kept)
        if point is not None:
            await reading.trim(key, point)

    async def forget_self(self, client: StreamClient) -> None:
        """A generated-name node stops for good: remove its groups and its inbox.

        Cancellation: what was not removed yet is removed by another node later,
        after ``forget_after``.
        """
        config = self._config
        if not config.ephemeral:
            return
        # A work queue's group is shared: it stays.  Only the broadcast groups go.
        keys = list(config.streams) if config.group is None else []
        async with client.reader() as reading:
            await reading.forget(keys, config.broadcast_group, config.inbox)
