"""Events across processes and hosts, on Redis streams (``pip install trio-circuits[redis]``).

Theory of operation
-------------------
Each bridged channel is a Redis stream, ``<prefix>:channel:<name>``.  A plain
handler of the bridge, one per bridged channel, encodes every event fired on that
channel in this process and appends it to an outbox; a sender task empties the
outbox into Redis, one pipeline per batch, so the events one dispatcher batch fires
travel together.  Reader tasks, one per stream, take entries with blocking
``XREADGROUP`` and fire them here on the same channel, marked as remote so they are
not sent back.  An entry is acknowledged once the handlers of its event, ``async``
ones included, have finished.

Consumer groups decide who gets what: by default every node has its own group on
every stream (broadcast); with ``group="NAME"`` the nodes sharing the name share
one group, so each event goes to one of them, and entries left pending by a node
that died are claimed (``XAUTOCLAIM``) after ``claim_after`` seconds.  Each node
also reads its inbox, ``<prefix>:node:<node>``, where :class:`remote` calls and
their replies travel.

When Redis goes away the bridge fires ``error(err)``, reconnects with backoff and
resumes: its consumer groups remember what it had read, the outbox keeps what it
had not sent yet, and entries delivered but not acknowledged are read again.
Delivery is at least once: a pipeline cut by a failure may be sent twice.
"""

from __future__ import annotations

import os
import socket
import ssl
import sys
import uuid
import warnings
from collections import deque
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Any

import trio

try:
    import coredis
    from coredis.exceptions import RedisError, StreamDuplicateConsumerGroupError
except ImportError as _exc:  # pragma: no cover - exercised without the extra only
    raise ImportError(
        "trio_circuits.bridge needs coredis, the optional extra 'redis': "
        "pip install 'trio-circuits[redis]'"
    ) from _exc

from ._codec import Codec, JSONCodec
from ._remote import Call, Ledger, RemoteError, error_answer, remote, result_answer
from .core.components import BaseComponent
from .core.events import (
    Event,
    exception,
    prepare_unregister,
    registered,
    signal,
    started,
    stopped,
    unregistered,
)
from .core.handlers import handler
from .net.events import error, ready

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

if TYPE_CHECKING:
    from .core.values import Value

__all__ = ["Codec", "JSONCodec", "RedisBridge", "RemoteError", "remote"]

# What a lost or restarting Redis raises: the client's errors, and the transport's
# (anyio's stream errors are OSError subclasses or come wrapped in RedisError).
_GONE: tuple[type[BaseException], ...] = (RedisError, OSError, trio.BrokenResourceError)

_BLOCK_MS = 2_000  # one blocking read's longest wait: bounds an idle reader's loop
# Acks are not urgent: they wait this long for events to travel with (one pipeline
# instead of two), which keeps them off the path of a remote call's round trip.
_ACK_DELAY = 0.005
_BACKOFF_MIN = 0.05
_BACKOFF_MAX = 5.0


# The framework's own events concern one process (a component registered here, this
# application started): they are never bridged.
_LOCAL = (
    remote,
    started,
    stopped,
    registered,
    unregistered,
    prepare_unregister,
    exception,
    signal,
)


def _default_node() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class RedisBridge(BaseComponent):
    """Share the events of ``channels`` with every process connected to the same Redis.

    Args:
        url: a ``redis://`` or ``rediss://`` URL (passwords and databases included).
        channels: the bridged channels (strings).
        node: this process's name (default ``"<hostname>-<pid>"``); unique per node.
        group: nodes with the same group share each channel as a work queue.
        prefix: the prefix of every Redis key the bridge uses.
        codec: encodes events to bytes and back (default :class:`JSONCodec`).
        channel: the bridge's own channel, for ``ready``/``error`` (default
            ``"bridge"``).
        claim_after: seconds after which a group's entry left pending by another node
            is re-delivered here (work queues only).
        buffer: how many events may wait for Redis; firing more raises ``BufferError``.
        batch: the most entries sent in one pipeline or read in one ``XREADGROUP``.
        maxlen: trim each stream to about this many entries (default: never trim;
            trimming can drop entries a slow consumer has not read).
        cluster: connect with ``coredis.RedisCluster`` (Redis Cluster).
        ssl_context: the TLS context for a ``rediss://`` URL (else the URL's
            ``ssl_ca_certs=``/``ssl_cert_reqs=`` query parameters, else the defaults).

    Stopping: reading stops, handlers of events already taken may finish and are
    acknowledged, and the outbox is flushed, all within the application's
    ``close_timeout``.
    """

    channel: Hashable = "bridge"

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        channels: Iterable[str] = ("remote",),
        node: str | None = None,
        group: str | None = None,
        prefix: str = "trio_circuits",
        codec: Codec | None = None,
        channel: Hashable = "bridge",
        claim_after: float = 30.0,
        buffer: int = 100_000,
        batch: int = 512,
        maxlen: int | None = None,
        cluster: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        channels = tuple(channels)
        if not channels or not all(isinstance(c, str) and c for c in channels):
            raise ValueError(f"channels must be non-empty strings, got {channels!r}")
        if len(set(channels)) != len(channels):
            raise ValueError(f"channels repeat: {channels!r}")
        if channel in channels:
            raise ValueError(f"the bridge's own channel {channel!r} cannot be bridged")
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"not a Redis URL: {url!r}")
        for name, number in (("claim_after", claim_after), ("buffer", buffer), ("batch", batch)):
            if number <= 0:
                raise ValueError(f"{name} must be > 0, got {number!r}")
        if maxlen is not None and maxlen <= 0:
            raise ValueError(f"maxlen must be > 0, got {maxlen!r}")
        super().__init__(channel=channel)
        self.url = url
        self.channels = channels
        self.node = node if node is not None else _default_node()
        self.group = group
        self.prefix = prefix
        self.codec: Codec = codec if codec is not None else JSONCodec()
        self.claim_after = claim_after
        self.buffer = buffer
        self.batch = batch
        self.maxlen = maxlen
        self.cluster = cluster
        self.ssl_context = ssl_context
        self._node_id = self.node.encode()
        self._inbox = self.stream_key(None, node=self.node)
        self._streams: dict[str, str] = {self.stream_key(c): c for c in channels}
        # Outgoing entries (stream, fields); kept across reconnections.
        self._outbox: deque[tuple[str, dict[bytes, bytes]]] = deque()
        self._ledger = Ledger(self._all_streams())
        self._calls: dict[str, Call] = {}
        self._wake = trio.Event()
        self._stop = trio.Event()
        self._read_scope: trio.CancelScope | None = None
        self._connected = False
        self._counts = dict.fromkeys(("sent", "batches", "received", "acked", "dead"), 0)
        for bridged in channels:
            self.addHandler(self._publisher(bridged))

    # -- naming -----------------------------------------------------------------------

    def stream_key(self, channel: str | None, *, node: str | None = None) -> str:
        """The Redis key of ``channel``'s stream, or (``node=``) of a node's inbox."""
        if node is not None:
            return f"{self.prefix}:node:{node}"
        return f"{self.prefix}:channel:{channel}"

    @property
    def dead_key(self) -> str:
        """The stream where undecodable entries are copied."""
        return f"{self.prefix}:dead"

    @property
    def connected(self) -> bool:
        """True while connected to Redis and reading."""
        return self._connected

    def statistics(self) -> dict[str, int]:
        """Counters: entries ``sent`` to Redis in ``batches`` (pipelines), entries
        ``received`` and ``acked``, entries sent to the ``dead`` stream, events
        ``buffered`` (waiting for Redis) and entries ``in_flight`` (taken, not yet
        acknowledged)."""
        stats = dict(self._counts)
        stats["buffered"] = len(self._outbox)
        stats["in_flight"] = self._ledger.in_flight
        return stats

    def _all_streams(self) -> list[str]:
        return [*self._streams, self._inbox]

    def _group_of(self, key: str) -> str:
        if key == self._inbox:
            return "inbox"
        return self.group if self.group is not None else self.node

    # -- sending ----------------------------------------------------------------------

    def _publisher(self, bridged: str) -> Any:
        key = self.stream_key(bridged)
        node = self._node_id

        def publish(self: RedisBridge, event: Event, *args: Any, **kwargs: Any) -> None:
            # Only events fired on this very channel (not on "*"), never one that came
            # from Redis, never a follow-up, a framework event or a remote call request.
            if bridged not in event.channels or event.parent is not None:
                return
            if getattr(event, "_bridge_origin", None) is not None or isinstance(event, _LOCAL):
                return
            self._send(key, {b"n": node, b"e": self.codec.encode(event)})

        publish.__name__ = f"_publish_{bridged}"
        return handler(channel=bridged, priority=1_000_000)(publish)

    def _send(self, key: str, fields: dict[bytes, bytes]) -> None:
        if len(self._outbox) >= self.buffer:
            raise BufferError(
                f"{self.buffer} events are already waiting for Redis; not sending more"
            )
        self._post(key, fields)

    def _post(self, key: str, fields: dict[bytes, bytes]) -> None:
        self._outbox.append((key, fields))
        self._wake.set()

    async def _flush_loop(self, client: Any) -> None:
        """Send the outbox and the due acks, one pipeline per round, until stopped."""
        outbox = self._outbox
        ledger = self._ledger
        while True:
            if not outbox:
                if self._stopping and not self._busy():
                    return
                self._wake = trio.Event()
                if not ledger.has_due:
                    await self._wake.wait()
                    continue
                if not self._stopping:
                    with trio.move_on_after(_ACK_DELAY):
                        await self._wake.wait()
            batch = [outbox[i] for i in range(min(len(outbox), self.batch))]
            due = ledger.due()
            try:
                async with client.pipeline(transaction=False) as pipe:
                    for key, fields in batch:
                        self._xadd(pipe, key, fields)
                    for key, ids in due.items():
                        pipe.xack(key, self._group_of(key), ids)
            except BaseException:
                ledger.unsent(due)  # again after the reconnection
                raise
            # Only now: an entry leaves the outbox once Redis has it.
            for _ in batch:
                outbox.popleft()
            if batch:
                self._counts["sent"] += len(batch)
                self._counts["batches"] += 1
            self._counts["acked"] += ledger.confirmed(due)

    def _xadd(self, pipe: Any, key: str, fields: dict[bytes, bytes]) -> None:
        if self.maxlen is None:
            pipe.xadd(key, fields)
        else:
            pipe.xadd(
                key,
                fields,
                trim_strategy=coredis.PureToken.MAXLEN,
                trim_operator=coredis.PureToken.APPROXIMATELY,
                threshold=self.maxlen,
            )

    # -- receiving --------------------------------------------------------------------

    async def _read_loop(self, client: Any, key: str) -> None:
        group = self._group_of(key)
        # First what this consumer was given and never acknowledged (a restart, a
        # lost connection), then new entries.
        cursor: bytes | str = "0"
        while True:
            block = None if cursor != ">" else _BLOCK_MS
            reply = await client.xreadgroup(
                group, self.node, {key: cursor}, count=self.batch, block=block
            )
            entries = reply.get(key.encode(), ()) if reply else ()
            if cursor != ">":
                if not entries:
                    cursor = ">"
                    continue
                cursor = entries[-1].identifier
            for entry in entries:
                self._take(key, entry.identifier, entry.field_values)

    async def _claim_loop(self, client: Any) -> None:
        """Work queues: re-deliver here what dead group members left pending."""
        idle_ms = int(self.claim_after * 1000)
        while True:
            for key in self._streams:
                start: Any = "0-0"
                for _ in range(1_000):  # bounded: a pass over at most 1000 batches
                    reply = await client.xautoclaim(
                        key, self._group_of(key), self.node, idle_ms, start, count=self.batch
                    )
                    start, entries = reply[0], reply[1]
                    for entry in entries:
                        self._take(key, entry.identifier, entry.field_values)
                    if start in (b"0-0", "0-0"):
                        break
            await trio.sleep(self.claim_after / 4)

    def _take(self, key: str, entry_id: bytes, fields: Any) -> None:
        if not self._ledger.take(key, entry_id):
            return  # still being handled here, or its ack is on the way
        self._counts["received"] += 1
        if fields is None:  # deleted by trimming while pending
            self._ack(key, entry_id)
            return
        origin = fields.get(b"n")
        if origin == self._node_id and key != self._inbox:
            self._ack(key, entry_id)  # our own event: handled when it was fired
            return
        try:
            event = self.codec.decode(fields[b"e"])
            if key == self._inbox:
                self._take_inbox(key, entry_id, fields, event)
                return
        except Exception as exc:
            self._dead(key, entry_id, fields, exc)
            return
        event._bridge_origin = origin  # type: ignore[attr-defined]
        value = self.fire(event, self._streams[key])
        value.on_done(lambda _v: self._ack(key, entry_id))

    def _take_inbox(
        self, key: str, entry_id: bytes, fields: dict[bytes, bytes], event: Event
    ) -> None:
        kind = fields[b"k"]
        call_id = fields[b"id"].decode()
        if kind == b"reply":
            self._ack(key, entry_id)
            call = self._calls.get(call_id)
            if call is not None:  # else: the caller gave up, or this is a re-delivery
                call.answer(event)
            return
        if kind != b"call":
            raise ValueError(f"unknown inbox entry kind {kind!r}")
        channel = fields[b"c"].decode()
        reply_to = self.stream_key(None, node=fields[b"n"].decode())
        event._bridge_origin = fields[b"n"]  # type: ignore[attr-defined]
        value = self.fire(event, channel)

        def answer(value: Value) -> None:
            self._ack(key, entry_id)
            self._reply(reply_to, call_id, value)

        value.on_done(answer)

    def _reply(self, reply_to: str, call_id: str, value: Value) -> None:
        answer = error_answer(value.value) if value.errors else result_answer(value.value)
        try:
            data = self.codec.encode(answer)
        except Exception as exc:  # the result cannot travel: say so instead
            data = self.codec.encode(
                Event.create("remote_error", type(exc).__name__, str(exc), "")
            )
        fields = {b"n": self._node_id, b"k": b"reply", b"id": call_id.encode(), b"e": data}
        self._post(reply_to, fields)  # a reply is never refused

    def _dead(self, key: str, entry_id: bytes, fields: Any, exc: Exception) -> None:
        """An entry that cannot be decoded: report it, keep a copy, acknowledge it."""
        self._counts["dead"] += 1
        self.fire(error(exc))
        copy = {bytes(k): bytes(v) for k, v in dict(fields).items()}
        copy.update({b"stream": key.encode(), b"id": entry_id, b"error": repr(exc).encode()})
        self._post(self.dead_key, copy)
        self._ack(key, entry_id)

    # -- acknowledging ----------------------------------------------------------------

    def _ack(self, key: str, entry_id: bytes) -> None:
        # Only the first due ack wakes the flusher (which then waits _ACK_DELAY).
        if not self._ledger.has_due or self._stopping:
            self._wake.set()
        self._ledger.handled(key, entry_id)

    def _busy(self) -> bool:
        """Entries taken and not yet acknowledged (handlers running, acks unsent)."""
        return self._ledger.in_flight > 0

    # -- remote calls -----------------------------------------------------------------

    @handler("remote", channel="*")
    async def _on_remote(self, target: Event, node: str, channel: str = "remote") -> Any:
        call_id = uuid.uuid4().hex
        fields = {
            b"n": self._node_id,
            b"k": b"call",
            b"id": call_id.encode(),
            b"c": channel.encode(),
            b"e": self.codec.encode(target),
        }
        call = self._calls[call_id] = Call()
        try:
            self._send(self.stream_key(None, node=node), fields)
            await call.done.wait()
        finally:
            del self._calls[call_id]
        if call.error is not None:
            raise call.error
        return call.result

    # -- the connection's life --------------------------------------------------------

    def _client(self) -> Any:
        options: dict[str, Any] = {"decode_responses": False, "connect_timeout": 5}
        if self.ssl_context is not None:
            options["ssl_context"] = self.ssl_context
        if self.cluster:
            with warnings.catch_warnings():
                # coredis' own from_url goes through its deprecated startup-node form.
                warnings.filterwarnings("ignore", "Use coredis.connection", DeprecationWarning)
                return coredis.RedisCluster.from_url(self.url, **options)
        return coredis.Redis.from_url(self.url, **options)

    async def _prepare(self, client: Any, first: bool) -> None:
        """Create the consumer groups this node reads through (existing ones are kept)."""
        for key in self._all_streams():
            # A broadcast group starts at the end of the stream: a new node does not
            # replay history.  A work queue starts at its beginning, so jobs queued
            # before any worker existed are done.  After a reconnection, a group that
            # Redis lost starts at the beginning: nothing in the new stream is missed.
            shared = self.group is not None and key != self._inbox
            start = "$" if first and not shared else "0"
            try:
                await client.xgroup_create(
                    key, self._group_of(key), identifier=start, mkstream=True
                )
            except StreamDuplicateConsumerGroupError:
                pass

    async def _session(self, client: Any, first: bool, task_status: _Once) -> None:
        async with client:
            await self._prepare(client, first)
            async with trio.open_nursery() as nursery:
                with trio.CancelScope() as self._read_scope:
                    if self._stopping:
                        self._read_scope.cancel()
                    async with trio.open_nursery() as readers:
                        for key in self._all_streams():
                            readers.start_soon(self._read_loop, client, key)
                        if self.group is not None:
                            readers.start_soon(self._claim_loop, client)
                        nursery.start_soon(self._flush_loop, client)
                        self._connected = True
                        task_status.started(self.fire(ready(self)))
                # Stopping: nothing more is read; finish what was taken, then flush.
                self._wake.set()

    async def run_io(self, *, task_status: trio.TaskStatus[Any]) -> None:
        """Connect, read and send until stopped; reconnect with backoff when Redis fails.

        Cancellation: whatever was not acknowledged stays pending in Redis and is
        delivered again (to this node when it restarts, or to its group).
        """
        self._stop = trio.Event()
        try:
            await self._connect_loop(_Once(task_status))
        finally:
            if self._outbox:
                # The close timeout ran out with Redis away: say what was not sent.
                lost = len(self._outbox)
                self.fire(error(RuntimeError(f"{lost} entries were not sent to Redis")))

    async def _connect_loop(self, status: _Once) -> None:
        delay = _BACKOFF_MIN
        first = True
        while not self._stopping:
            try:
                await self._session(self._client(), first, status)
                return
            except BaseExceptionGroup as group:
                exc = _redis_failure(group)
            except _GONE as failure:
                exc = failure
            finally:
                self._connected = False
            first = False
            self.fire(error(exc))
            status.started()  # an unreachable Redis must not hold the application
            with trio.move_on_after(delay):
                await self._stop.wait()
            delay = min(delay * 2, _BACKOFF_MAX)

    @property
    def _stopping(self) -> bool:
        return self._stop.is_set()

    def stop_io(self) -> None:
        self._stop.set()
        if self._read_scope is not None:
            self._read_scope.cancel()
        self._wake.set()


class _Once:
    """A task status that may be reported more than once (only the first counts)."""

    def __init__(self, status: trio.TaskStatus[Any]) -> None:
        self._status: trio.TaskStatus[Any] | None = status

    def started(self, value: Any = None) -> None:
        if self._status is not None:
            status, self._status = self._status, None
            status.started(value)


def _redis_failure(group: BaseExceptionGroup[Any]) -> BaseException:
    """The Redis failure in ``group``, or ``group`` re-raised if it holds anything else."""
    gone, rest = group.split(_GONE)
    if rest is not None or gone is None:
        raise group
    leaf: BaseException = gone
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    return leaf
