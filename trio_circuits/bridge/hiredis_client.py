"""The lean client: :class:`~.connection.RedisConnection`\\ s to one Redis node.

One connection for writes (a pipeline per write) and one per reader task (a
blocking ``XREADGROUP`` never holds up anything else).  Commands are packed with
``hiredis.pack_command`` and replies parsed by ``hiredis.Reader``.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import hiredis
import trio

from .connection import RedisConnection
from .resp import (
    ConnectionLost,
    RedisError,
    RedisURL,
    ReplyError,
    entries,
    read_reply,
    xack,
    xadd,
    xautoclaim,
    xgroup_create,
    xreadgroup,
)

if TYPE_CHECKING:
    from .client import Ack, Entry, Fields
    from .config import Config

__all__ = ["HiredisBackend", "HiredisClient", "HiredisReading"]

#: A blocking read may take this much longer than its ``BLOCK`` before the
#: connection is taken for dead.
READ_GRACE = 10.0


class HiredisBackend:
    """Connects :class:`HiredisClient`\\ s to the Redis server of ``config.url``.

    Args:
        config: the URL, the TLS context and the connect timeout.

    Raises:
        ValueError: the URL or its TLS parameters are malformed.
        OSError: a certificate file named in the URL cannot be read.
    """

    failures: tuple[type[BaseException], ...] = (
        RedisError,
        OSError,
        trio.BrokenResourceError,
        trio.ClosedResourceError,
    )

    def __init__(self, config: Config) -> None:
        self.url = RedisURL.parse(config.url)
        self._timeout = config.connect_timeout
        self._ssl_context: ssl.SSLContext | None = None
        if self.url.tls:
            given = config.ssl_context
            self._ssl_context = given if given is not None else self.url.ssl_context()

    async def open_connection(self) -> RedisConnection:
        """A new connection (see :meth:`RedisConnection.open`), within the connect timeout.

        Raises:
            ConnectionLost: the timeout passed (or TLS failed).
            OSError, ReplyError: as :meth:`RedisConnection.open`.
        """
        with trio.move_on_after(self._timeout) as scope:
            return await RedisConnection.open(self.url, ssl_context=self._ssl_context)
        assert scope.cancelled_caught
        raise ConnectionLost(f"no connection to Redis at {self.url.where} in {self._timeout} s")

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[HiredisClient]:
        """Open the write connection; close it (and the readers') on exit.

        Raises:
            OSError, RedisError: the connection, its TLS or its ``AUTH`` failed.
        """
        connection = await self.open_connection()
        try:
            yield HiredisClient(self, connection)
        finally:
            await connection.aclose()


class HiredisClient:
    """The bridge's commands over hiredis connections (see :class:`.client.StreamClient`)."""

    def __init__(self, backend: HiredisBackend, connection: RedisConnection) -> None:
        self._backend = backend
        self._connection = connection

    async def create_group(self, key: str, group: str, start: str) -> None:
        """``XGROUP CREATE ... MKSTREAM``; a ``BUSYGROUP`` refusal (it exists) is fine."""
        (reply,) = await self._connection.execute([xgroup_create(key, group, start)])
        if isinstance(reply, ReplyError) and not str(reply).startswith("BUSYGROUP"):
            raise reply

    async def write(
        self, entries: Sequence[tuple[str, Fields]], acks: Sequence[Ack], maxlen: int | None
    ) -> None:
        """One pipeline: an ``XADD`` per entry, an ``XACK`` per stream with acks.

        Raises:
            ReplyError: Redis refused one of them (the first refusal is raised).
            ConnectionLost: the connection failed.

        Cancellation: the connection is closed; the session reconnects.
        """
        pack = hiredis.pack_command
        packed = [pack(tuple(xadd(key, fields, maxlen))) for key, fields in entries]
        packed += [pack(tuple(xack(key, group, ids))) for key, group, ids in acks]
        replies = await self._connection.execute_packed(b"".join(packed), len(packed))
        for reply in replies:
            if isinstance(reply, ReplyError):
                raise reply

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[HiredisReading]:
        """A connection of its own for one reader task, closed on exit."""
        connection = await self._backend.open_connection()
        try:
            yield HiredisReading(connection)
        finally:
            await connection.aclose()


class HiredisReading:
    """One reader task's connection (see :class:`.client.StreamReading`)."""

    def __init__(self, connection: RedisConnection) -> None:
        self._connection = connection

    async def read(
        self, key: str, group: str, consumer: str, cursor: bytes, count: int, block_ms: int | None
    ) -> list[Entry]:
        """``XREADGROUP`` on one stream.

        Raises:
            ReplyError: Redis refused it (``NOGROUP`` after a restart without data).
            ConnectionLost: the connection failed, or Redis did not answer within
                ``block_ms`` plus :data:`READ_GRACE` seconds.

        Cancellation: the connection is closed.
        """
        command = xreadgroup(key, group, consumer, cursor, count, block_ms)
        limit = READ_GRACE + (block_ms or 0) / 1000
        with trio.move_on_after(limit) as scope:
            (reply,) = await self._connection.execute([command])
        if scope.cancelled_caught:
            raise ConnectionLost(f"Redis did not answer XREADGROUP in {limit} s")
        if isinstance(reply, ReplyError):
            raise reply
        return read_reply(reply)

    async def claim(
        self, key: str, group: str, consumer: str, idle_ms: int, start: bytes, count: int
    ) -> tuple[bytes, list[Entry]]:
        """``XAUTOCLAIM`` on one stream: ``(next start, entries)``.

        Raises:
            ReplyError: Redis refused it.
            ConnectionLost: the connection failed.

        Cancellation: the connection is closed.
        """
        (reply,) = await self._connection.execute(
            [xautoclaim(key, group, consumer, idle_ms, start, count)]
        )
        if isinstance(reply, ReplyError):
            raise reply
        next_start: Any = reply[0]
        return bytes(next_start), entries(reply[1])
