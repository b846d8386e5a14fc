"""What the bridge needs from a Redis client, whichever client it is.

Two implementations: :mod:`.hiredis_client` (the lean path: a thin Trio connection
parsing with ``hiredis``, for one Redis node) and :mod:`.coredis_client`
(``coredis``, for Redis Cluster and as a fallback).  The bridge's parts talk to
these protocols only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import attrs

__all__ = [
    "Ack",
    "Backend",
    "Entry",
    "Fields",
    "GroupState",
    "StreamClient",
    "StreamReading",
    "Write",
]

#: An entry's fields.
Fields = dict[bytes, bytes]
#: An entry read from a stream: its id and its fields (``None``: deleted meanwhile).
Entry = tuple[bytes, "Fields | None"]
#: Acknowledgements for one stream: ``(key, group, ids)``.
Ack = tuple[str, str, Sequence[bytes]]


@attrs.define(eq=False)
class Write:
    """One pipeline for Redis: ``XADD`` each entry, ``XACK`` the acks, ``XDEL`` the deletes.

    Attributes:
        entries: ``(stream key, fields)`` pairs.
        acks: ``(stream key, group, ids)`` triples.
        deletes: ``(stream key, ids)`` pairs: acknowledged entries nobody else reads
            (a node's inbox), deleted with their ack.
        due: the acks as the ledger keeps them (``{key: ids}``).
        done: called with the write once Redis has all of it.
        abandoned: set when the write is given up (its connection failed); a
            late confirmation is then ignored.
    """

    entries: list[tuple[str, Fields]]
    acks: list[Ack]
    due: dict[str, list[bytes]]
    done: Callable[[Write], None]
    deletes: list[tuple[str, Sequence[bytes]]] = attrs.Factory(list)
    abandoned: bool = False


@attrs.frozen
class GroupState:
    """Where one consumer group of a stream is (``XINFO GROUPS``, ``XPENDING``,
    ``XINFO CONSUMERS``).

    Attributes:
        name: the group's name.
        last_delivered: the id of the last entry delivered to the group.
        first_pending: the lowest id delivered and not acknowledged (``None``: none).
        idle_ms: how long since any of its consumers last read (``None``: it has
            no consumer yet).
    """

    name: str
    last_delivered: bytes
    first_pending: bytes | None
    idle_ms: int | None


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
        """``XAUTOCLAIM``: take entries idle for ``idle_ms``; returns the next start.

        Cancellation: as :meth:`read`; claimed entries stay pending, claimed by
        this consumer.
        """
        ...

    async def groups(self, key: str) -> list[GroupState]:
        """The consumer groups of stream ``key`` (none if it does not exist).

        Cancellation: nothing to undo.
        """
        ...

    async def trim(self, key: str, min_id: bytes) -> None:
        """``XTRIM key MINID ~ min_id``: drop entries below ``min_id`` (about).

        Cancellation: the entries may or may not have been dropped.
        """
        ...

    async def forget(self, keys: Sequence[str], group: str, inbox: str) -> None:
        """Destroy ``group`` on each of ``keys``, and delete the stream ``inbox``.

        Cancellation: some may have been removed (removing them again is harmless).
        """
        ...


class StreamClient(Protocol):
    """One connection to Redis, for one session (a reconnection makes a new one)."""

    async def create_group(self, key: str, group: str, start: str) -> None:
        """Create a consumer group (and the stream); an existing group is kept.

        Cancellation: the group may or may not have been created (creating it again
        is harmless).
        """
        ...

    def submit(self, write: Write) -> None:
        """Write ``write`` as soon as possible, without waiting; call ``write.done``
        once Redis confirmed it (see :meth:`confirm_soon`).  Writes reach Redis in
        the order submitted.

        Never raises for a Redis failure: the client's connection fails instead, and
        the session (which runs inside :meth:`Backend.connect`) sees it.
        """
        ...

    def confirm_soon(self) -> None:
        """Have Redis's confirmations of what was submitted read without delay.

        A client may otherwise read them lazily (when it next writes, say): a
        process waiting for nothing else then is not woken up for them.
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
        """Connect (authenticated, database selected); close on exit.

        The client's own tasks run inside the context: a failure of the connection
        cancels its body and is raised (in an exception group) when it exits.
        """
        ...
