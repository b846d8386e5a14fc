"""The coredis client: Redis Cluster (``coredis.RedisCluster``), and a fallback for one
node (``RedisBridge(client="coredis")``).

coredis runs on Trio through anyio and pools its connections; the bridge's readers
share its pool.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import coredis
import trio
from coredis.exceptions import RedisError, ResponseError, StreamDuplicateConsumerGroupError

from .client import GroupState

if TYPE_CHECKING:
    from .client import Entry, Write
    from .config import Config

__all__ = ["CoredisBackend", "CoredisClient"]

#: The most queued writes merged into one pipeline.
_MERGE = 64


class CoredisBackend:
    """Connects a coredis client (``Redis``, or ``RedisCluster`` with ``cluster``).

    Args:
        config: the URL, ``cluster``, the TLS context and the connect timeout.
    """

    # anyio's stream errors are OSError subclasses or come wrapped in RedisError.
    failures: tuple[type[BaseException], ...] = (RedisError, OSError, trio.BrokenResourceError)

    def __init__(self, config: Config) -> None:
        self._config = config

    def _client(self) -> Any:
        config = self._config
        options: dict[str, Any] = {
            "decode_responses": False,
            "connect_timeout": config.connect_timeout,
        }
        if config.ssl_context is not None:
            options["ssl_context"] = config.ssl_context
        if config.cluster:
            with warnings.catch_warnings():
                # coredis' own from_url goes through its deprecated startup-node form.
                warnings.filterwarnings("ignore", "Use coredis.connection", DeprecationWarning)
                return coredis.RedisCluster.from_url(config.url, **options)
        # coredis retries a failed command twice, 10 ms apart, before it raises: an
        # outage shorter than that is hidden from the bridge (no error event).
        # Without those retries coredis fails its own connections at stop (one
        # opened for a cancelled read), so they stay.
        return coredis.Redis.from_url(config.url, **options)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[CoredisClient]:
        """A coredis client and its writer task; closed on exit.

        Raises:
            coredis.exceptions.RedisError, OSError: Redis cannot be reached.

        Cancellation: the writer task is cancelled and the client closed.
        """
        client = self._client()
        async with client, trio.open_nursery() as nursery:
            wrapper = CoredisClient(client, self._config.maxlen)
            nursery.start_soon(wrapper.write_loop)
            yield wrapper
            nursery.cancel_scope.cancel()


class CoredisClient:
    """The bridge's commands through coredis (see :class:`.client.StreamClient`).

    :meth:`submit` queues; :meth:`write_loop` writes each queued write as one
    coredis pipeline, in order.
    """

    def __init__(self, client: Any, maxlen: int | None) -> None:
        self._client = client
        self._maxlen = maxlen
        self._queue: deque[Write] = deque()
        self._wake = trio.Event()

    async def create_group(self, key: str, group: str, start: str) -> None:
        """``XGROUP CREATE ... MKSTREAM``; an existing group is kept.

        Cancellation: the group may or may not have been created.
        """
        try:
            await self._client.xgroup_create(key, group, identifier=start, mkstream=True)
        except StreamDuplicateConsumerGroupError:
            pass

    def submit(self, write: Write) -> None:
        """Queue ``write`` for the writer task."""
        self._queue.append(write)
        self._wake.set()

    def confirm_soon(self) -> None:
        """Nothing to do: the writer task confirms each write as it completes."""

    async def write_loop(self) -> None:
        """Write the queued writes until cancelled: all that are queued, one pipeline.

        Raises:
            coredis.exceptions.RedisError, OSError: a write failed.

        Cancellation: what coredis sent is unknown; the session reconnects.
        """
        queue = self._queue
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            while queue:
                # Everything queued meanwhile travels together (coredis costs about
                # a millisecond per pipeline, whatever its size).
                writes = [queue.popleft() for _ in range(min(len(queue), _MERGE))]
                await self._write(writes)
                for write in writes:
                    write.done(write)

    async def _write(self, writes: list[Write]) -> None:
        maxlen = self._maxlen
        async with self._client.pipeline(transaction=False) as pipe:
            for write in writes:
                for key, fields in write.entries:
                    if maxlen is None:
                        pipe.xadd(key, fields)
                    else:
                        pipe.xadd(
                            key,
                            fields,
                            trim_strategy=coredis.PureToken.MAXLEN,
                            trim_operator=coredis.PureToken.APPROXIMATELY,
                            threshold=maxlen,
                        )
                for key, group, ids in write.acks:
                    pipe.xack(key, group, ids)
                for key, ids in write.deletes:
                    pipe.xdel(key, ids)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[CoredisClient]:
        """The same client (coredis takes a pooled connection per blocking read).

        Cancellation: nothing to undo.
        """
        await trio.lowlevel.checkpoint()
        yield self

    async def read(
        self, key: str, group: str, consumer: str, cursor: bytes, count: int, block_ms: int | None
    ) -> list[Entry]:
        """``XREADGROUP`` on one stream.

        Cancellation: what Redis delivered stays pending; it is read again later.
        """
        reply = await self._client.xreadgroup(
            group, consumer, {key: cursor}, count=count, block=block_ms
        )
        found = reply.get(key.encode(), ()) if reply else ()
        return [(entry.identifier, entry.field_values) for entry in found]

    async def claim(
        self, key: str, group: str, consumer: str, idle_ms: int, start: bytes, count: int
    ) -> tuple[bytes, list[Entry]]:
        """``XAUTOCLAIM`` on one stream: ``(next start, entries)``.

        Cancellation: claimed entries stay pending, claimed by this consumer.
        """
        reply = await self._client.xautoclaim(key, group, consumer, idle_ms, start, count=count)
        next_start = reply[0]
        if isinstance(next_start, str):
            next_start = next_start.encode()
        return next_start, [(entry.identifier, entry.field_values) for entry in reply[1]]

    async def groups(self, key: str) -> list[GroupState]:
        """``XINFO GROUPS``, then ``XPENDING`` and ``XINFO CONSUMERS`` per group.

        Cancellation: nothing to undo.
        """
        try:
            infos = await self._client.xinfo_groups(key)
        except ResponseError as exc:
            if "no such key" in str(exc):
                return []
            raise
        states = []
        for info in infos:
            name = bytes(info[b"name"]).decode()
            pending = await self._client.xpending(key, name)
            consumers = await self._client.xinfo_consumers(key, name)
            idle = [int(consumer[b"idle"]) for consumer in consumers]
            first = pending.minimum_identifier if pending.pending else None
            states.append(
                GroupState(
                    name=name,
                    last_delivered=bytes(info[b"last-delivered-id"]),
                    first_pending=bytes(first) if first is not None else None,
                    idle_ms=min(idle) if idle else None,
                )
            )
        return states

    async def trim(self, key: str, min_id: bytes) -> None:
        """``XTRIM key MINID ~ min_id``.

        Cancellation: the entries may or may not have been dropped.
        """
        # (coredis types the threshold as an int; a MINID threshold is an id.)
        threshold: Any = min_id
        await self._client.xtrim(
            key,
            coredis.PureToken.MINID,
            threshold,
            trim_operator=coredis.PureToken.APPROXIMATELY,
        )

    async def forget(self, keys: Sequence[str], group: str, inbox: str) -> None:
        """``XGROUP DESTROY`` on each key, ``DEL`` the inbox.

        Cancellation: some may have been removed.
        """
        for key in keys:
            await self._client.xgroup_destroy(key, group)
        await self._client.delete([inbox])
