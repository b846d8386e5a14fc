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

from .client import GroupState
from .connection import PipelinedConnection, RedisConnection
from .resp import (
    ConnectionLost,
    RedisError,
    RedisURL,
    ReplyError,
    entries,
    pack,
    read_reply,
    xack,
    xadd,
    xautoclaim,
    xdel,
    xgroup_create,
    xreadgroup,
)

if TYPE_CHECKING:
    from .client import Entry, Write
    from .config import Config

__all__ = ["HiredisBackend", "HiredisClient", "HiredisReading"]

#: A blocking read may take this much longer than its ``BLOCK`` before the
#: connection is taken for dead (and up to twice as long: the deadline is pushed
#: ahead in steps of this size).
READ_GRACE = 5.0


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
        self.maxlen = config.maxlen
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

        Cancellation: nothing is left open.
        """
        with trio.move_on_after(self._timeout) as scope:
            return await RedisConnection.open(self.url, ssl_context=self._ssl_context)
        assert scope.cancelled_caught
        raise ConnectionLost(f"no connection to Redis at {self.url.where} in {self._timeout} s")

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[HiredisClient]:
        """Open the write connection and run its tasks; close it on exit.

        Raises:
            OSError, RedisError: the connection, its TLS or its ``AUTH`` failed.

        Cancellation: the connection's tasks are cancelled and it is closed.
        """
        connection = (await self.open_connection()).pipelined()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(connection.drain)
                nursery.start_soon(connection.confirm)
                yield HiredisClient(self, connection)
                nursery.cancel_scope.cancel()
        finally:
            await connection.aclose()


class HiredisClient:
    """The bridge's commands over hiredis connections (see :class:`.client.StreamClient`).

    Writes are pipelined on one connection: :meth:`submit` sends at once (first
    taking the confirmations that arrived meanwhile), and the connection's confirm
    task reads the rest when :meth:`confirm_soon` asks.
    """

    def __init__(self, backend: HiredisBackend, connection: PipelinedConnection) -> None:
        self._backend = backend
        self._connection = connection
        self._maxlen = backend.maxlen

    async def create_group(self, key: str, group: str, start: str) -> None:
        """``XGROUP CREATE ... MKSTREAM``; a ``BUSYGROUP`` refusal (it exists) is fine.

        Raises:
            ReplyError: Redis refused it for another reason.

        Cancellation: the reply, when it comes, is read and dropped.
        """
        answered = trio.Event()
        got: list[Any] = []

        def replies(values: list[Any]) -> None:
            got.extend(values)
            answered.set()

        packed, count = pack([xgroup_create(key, group, start)])
        self._connection.send_nowait(packed, count, replies)
        self._connection.watch()
        await answered.wait()
        (reply,) = got
        if isinstance(reply, ReplyError) and not str(reply).startswith("BUSYGROUP"):
            raise reply

    def submit(self, write: Write) -> None:
        """Send one pipeline now: an ``XADD`` per entry, an ``XACK`` (and ``XDEL``) per stream.

        A refusal (a :class:`~.resp.ReplyError` reply) fails the connection.
        """
        pack_command = hiredis.pack_command
        maxlen = self._maxlen
        packed = [pack_command(tuple(xadd(key, fields, maxlen))) for key, fields in write.entries]
        packed += [pack_command(tuple(xack(key, group, ids))) for key, group, ids in write.acks]
        packed += [pack_command(tuple(xdel(key, ids))) for key, ids in write.deletes]

        def replies(values: list[Any]) -> None:
            for value in values:
                if isinstance(value, ReplyError):
                    raise value
            write.done(write)

        connection = self._connection
        connection.receive_nowait()  # the confirmations that came meanwhile
        connection.send_nowait(b"".join(packed), len(packed), replies)

    def confirm_soon(self) -> None:
        """Have the connection's confirm task read the confirmations as they come."""
        self._connection.watch()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[HiredisReading]:
        """A connection of its own for one reader task, closed on exit.

        Raises:
            ConnectionLost: a blocking read got no reply within its ``BLOCK`` plus
                :data:`READ_GRACE` seconds.

        Cancellation: the connection is closed.
        """
        connection = await self._backend.open_connection()
        try:
            # One scope for the connection's life, its deadline pushed ahead by each
            # read (a scope per read would cost more than the read's own work).
            with trio.CancelScope() as watchdog:
                yield HiredisReading(connection, watchdog)
            if watchdog.cancelled_caught:
                raise ConnectionLost(f"Redis did not answer a read within {READ_GRACE} s")
        finally:
            await connection.aclose()


class HiredisReading:
    """One reader task's connection (see :class:`.client.StreamReading`).

    Args:
        connection: the reader's own connection.
        watchdog: the scope that gives up on a read Redis does not answer.
    """

    def __init__(self, connection: RedisConnection, watchdog: trio.CancelScope) -> None:
        self._connection = connection
        self._watchdog = watchdog
        self._packed: dict[tuple[Any, ...], bytes] = {}

    async def read(
        self, key: str, group: str, consumer: str, cursor: bytes, count: int, block_ms: int | None
    ) -> list[Entry]:
        """``XREADGROUP`` on one stream.

        Raises:
            ReplyError: Redis refused it (``NOGROUP`` after a restart without data).
            ConnectionLost: the connection failed.

        Cancellation: the connection is closed.
        """
        args = (key, group, consumer, cursor, count, block_ms)
        packed = self._packed.get(args)
        if packed is None:
            packed, _ = pack([xreadgroup(*args)])
            if cursor == b">":  # the same command every time: packed once
                self._packed[args] = packed
        limit = trio.current_time() + (block_ms or 0) / 1000 + READ_GRACE
        if self._watchdog.deadline < limit:
            self._watchdog.deadline = limit + READ_GRACE
        (reply,) = await self._connection.execute_packed(packed, 1)
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

    async def groups(self, key: str) -> list[GroupState]:
        """``XINFO GROUPS``, then ``XPENDING`` and ``XINFO CONSUMERS`` per group.

        Raises:
            ReplyError: Redis refused it (a missing stream is no error: no groups).
            ConnectionLost: the connection failed.

        Cancellation: the connection is closed.
        """
        (reply,) = await self._connection.execute([["XINFO", "GROUPS", key]])
        if isinstance(reply, ReplyError):
            if "no such key" in str(reply):
                return []
            raise reply
        infos = [_as_dict(info) for info in reply]
        names = [bytes(info[b"name"]).decode() for info in infos]
        commands: list[list[Any]] = []
        for name in names:
            commands += [["XPENDING", key, name], ["XINFO", "CONSUMERS", key, name]]
        replies = await self._connection.execute(commands) if commands else []
        for failed in replies:
            if isinstance(failed, ReplyError):
                raise failed
        states = []
        for i, (name, info) in enumerate(zip(names, infos, strict=True)):
            pending, consumers = replies[2 * i], replies[2 * i + 1]
            idle = [int(_as_dict(c)[b"idle"]) for c in consumers]
            states.append(
                GroupState(
                    name=name,
                    last_delivered=bytes(info[b"last-delivered-id"]),
                    first_pending=bytes(pending[1]) if pending[0] else None,
                    idle_ms=min(idle) if idle else None,
                )
            )
        return states

    async def trim(self, key: str, min_id: bytes) -> None:
        """``XTRIM key MINID ~ min_id``.

        Cancellation: the connection is closed.
        """
        await self._checked([["XTRIM", key, "MINID", "~", min_id]])

    async def forget(self, keys: Sequence[str], group: str, inbox: str) -> None:
        """``XGROUP DESTROY`` on each key, ``DEL`` the inbox.

        Cancellation: the connection is closed.
        """
        await self._checked([*(["XGROUP", "DESTROY", key, group] for key in keys), ["DEL", inbox]])

    async def _checked(self, commands: list[list[Any]]) -> None:
        for reply in await self._connection.execute(commands):
            if isinstance(reply, ReplyError):
                raise reply


def _as_dict(flat: Any) -> dict[bytes, Any]:
    """A RESP2 list of alternating field names and values, as a dictionary."""
    return {bytes(flat[i]): flat[i + 1] for i in range(0, len(flat), 2)}
