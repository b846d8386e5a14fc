"""What the bridge needs from a Redis client, whichever client it is.

Two implementations: :mod:`.hiredis_client` (the lean path: a thin Trio connection
parsing with ``hiredis``, for one Redis node) and :mod:`.coredis_client`
(``coredis``, for Redis Cluster and as a fallback).  The bridge's parts talk to
these protocols only.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

__all__ = ["Ack", "Backend", "Entry", "Fields", "StreamClient", "StreamReading"]

#: An entry's fields.
Fields = dict[bytes, bytes]
#: An entry read from a stream: its id and its fields (``None``: deleted meanwhile).
Entry = tuple[bytes, "Fields | None"]
#: Acknowledgements for one stream: ``(key, group, ids)``.
Ack = tuple[str, str, Sequence[bytes]]


class StreamReading(Protocol):
    """A connection of one reader task (blocking reads never hold up other commands)."""

    async def read(
        self, key: str, group: str, consumer: str, cursor: bytes, count: int, block_ms: int | None
    ) -> list[Entry]:
        """``XREADGROUP``: up to ``count`` entries after ``cursor`` (``b">"``: new ones).

        ``block_ms`` (``None``: do not block) bounds the wait for new entries.
        Cancellation: the connection is closed; the entries Redis may have delivered
        stay pending and are read again after the reconnection.
        """
        ...

    async def claim(
        self, key: str, group: str, consumer: str, idle_ms: int, start: bytes, count: int
    ) -> tuple[bytes, list[Entry]]:
        """``XAUTOCLAIM``: take entries idle for ``idle_ms``; returns the next start."""
        ...


class StreamClient(Protocol):
    """One connection to Redis, for one session (a reconnection makes a new one)."""

    async def create_group(self, key: str, group: str, start: str) -> None:
        """Create a consumer group (and the stream); an existing group is kept."""
        ...

    async def write(
        self, entries: Sequence[tuple[str, Fields]], acks: Sequence[Ack], maxlen: int | None
    ) -> None:
        """``XADD`` each entry (trimmed to about ``maxlen``) and ``XACK`` ``acks``, in
        one pipeline.  Returns once Redis has them all.

        Cancellation: the write connection is closed (a reconnection follows); how
        much of the pipeline Redis received is unknown.
        """
        ...

    def reader(self) -> AbstractAsyncContextManager[StreamReading]:
        """A connection for one reader task, closed when the context exits."""
        ...


class Backend(Protocol):
    """Opens :class:`StreamClient`\\ s to one Redis deployment.

    Attributes:
        failures: the exceptions that mean "Redis went away": the bridge reports
            them and reconnects.
    """

    failures: tuple[type[BaseException], ...]

    def connect(self) -> AbstractAsyncContextManager[StreamClient]:
        """Connect (authenticated, database selected); close on exit."""
        ...
