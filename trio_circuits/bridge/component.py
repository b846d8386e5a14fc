"""The :class:`RedisBridge` component: configuration, handlers, and its parts composed."""

from __future__ import annotations

import ssl
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Any

from ..core.components import BaseComponent
from ..core.events import (
    Event,
    exception,
    prepare_unregister,
    registered,
    signal,
    started,
    stopped,
    unregistered,
)
from ..core.handlers import handler
from ..net.events import error, ready
from .calls import RemoteCalls, remote
from .codec import Codec, JSONCodec
from .config import Config
from .hiredis_client import HiredisBackend
from .inlet import Inlet
from .ledger import Ledger
from .outbox import Outbox
from .reader import StreamReader
from .session import Session
from .trimmer import Trimmer

if TYPE_CHECKING:
    from ..core.flow import IOStatus
    from .client import Backend

__all__ = ["RedisBridge"]

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

#: The publishers run before any ordinary handler of a bridged channel.
PUBLISH_PRIORITY = 1_000_000


class RedisBridge(BaseComponent):
    """Share the events of ``channels`` with every process connected to the same Redis.

    Args:
        url: a ``redis://``, ``rediss://`` or ``unix://`` URL (user, password and
            database included: ``redis://user:secret@host:6379/2``).
        channels: the bridged channels (strings).
        node: this process's name (default ``"<hostname>-<pid>"``); unique per node.
            In worker ``I`` of ``trio_circuits.run(..., workers=N)`` it gets the
            suffix ``-I``, so that each worker is a node of its own.
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
        cluster: Redis Cluster (through ``coredis.RedisCluster``).
        client: ``"hiredis"`` (the default for one node: a thin Trio connection
            parsing with hiredis) or ``"coredis"`` (the default, and the only choice,
            with ``cluster=True``; a fallback otherwise).
        ssl_context: the TLS context for a ``rediss://`` URL (else the URL's
            ``ssl_ca_certs=``/``ssl_cert_reqs=`` query parameters, else the defaults).
        connect_timeout: seconds a connection (and its TLS handshake and AUTH) may take.
        call_timeout: seconds a :class:`remote` call waits for its answer at most,
            whatever its caller's own ``timeout``; then its handler raises
            :exc:`trio.TooSlowError` and the call is forgotten (so calls to a node
            that is gone never pile up).
        trim_every: seconds between two trims of the bridged streams down to what
            some consumer group still needs (see :mod:`~trio_circuits.bridge.trimmer`).
        forget_after: seconds after which a node with a generated name whose
            readers fell silent (a killed process) is taken for dead: its groups
            and inbox are removed, so that they no longer hold the streams.

    Raises:
        ValueError: a setting is out of range, or settings contradict each other.

    Attributes:
        config: the validated settings and key names
            (:class:`~trio_circuits.bridge.config.Config`).
        codec: the codec in use.

    Stopping: reading stops, handlers of events already taken may finish and are
    acknowledged, and the outbox is flushed, all within the application's
    ``close_timeout``; cancellation beyond it leaves unacknowledged entries pending
    in Redis, delivered again later.
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
        client: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        connect_timeout: float = 5.0,
        call_timeout: float = 60.0,
        trim_every: float = 5.0,
        forget_after: float = 600.0,
    ) -> None:
        config = Config.create(
            url,
            channels=channels,
            node=node,
            group=group,
            prefix=prefix,
            own_channel=channel,
            claim_after=claim_after,
            buffer=buffer,
            batch=batch,
            maxlen=maxlen,
            cluster=cluster,
            client=client,
            ssl_context=ssl_context,
            connect_timeout=connect_timeout,
            call_timeout=call_timeout,
            trim_every=trim_every,
            forget_after=forget_after,
        )
        super().__init__(channel=channel)
        self.config = config
        self.codec: Codec = codec if codec is not None else JSONCodec()
        ledger = Ledger(config.all_streams)
        self._ledger = ledger
        self._outbox = outbox = Outbox(config, ledger)
        self._calls = RemoteCalls(config, self.codec, outbox.send, outbox.post)
        self._inlet = Inlet(
            config, self.codec, ledger, outbox, self._calls, self.fire, self._report
        )
        self._trimmer = Trimmer(config)
        self._session = Session(
            config,
            _backend(config),
            outbox,
            StreamReader(config, self._inlet.take),
            self._trimmer,
            lambda: self.fire(ready(self)),
            self._report,
        )
        for bridged in config.channels:
            self.addHandler(_publisher(bridged))

    # -- configuration, read back -----------------------------------------------------

    @property
    def url(self) -> str:
        """The Redis URL."""
        return self.config.url

    @property
    def channels(self) -> tuple[str, ...]:
        """The bridged channels."""
        return self.config.channels

    @property
    def node(self) -> str:
        """This node's name."""
        return self.config.node

    @property
    def group(self) -> str | None:
        """The work queue group this node is in, if any."""
        return self.config.group

    @property
    def prefix(self) -> str:
        """The prefix of the bridge's Redis keys."""
        return self.config.prefix

    def stream_key(self, channel: str | None, *, node: str | None = None) -> str:
        """The Redis key of ``channel``'s stream, or (``node=``) of a node's inbox."""
        if node is not None:
            return self.config.inbox_of(node)
        return self.config.stream_key(str(channel))

    @property
    def dead_key(self) -> str:
        """The stream where undecodable entries are copied."""
        return self.config.dead_key

    @property
    def connected(self) -> bool:
        """True while connected to Redis and reading."""
        return self._session.connected

    def statistics(self) -> dict[str, int]:
        """Counters of this bridge.

        Returns:
            ``sent`` (entries written to Redis) in ``batches`` (pipelines),
            entries ``received`` and ``acked``, entries sent to the ``dead``
            stream, events ``buffered`` (waiting for Redis) and entries
            ``in_flight`` (taken, not yet acknowledged), remote ``calls``
            waiting for their answer, ``trims`` (rounds of the trimmer) and
            ``forgotten`` (groups of dead generated-name nodes removed).
        """
        outbox = self._outbox
        return {
            "sent": outbox.sent,
            "batches": outbox.batches,
            "received": self._inlet.received,
            "acked": outbox.acked,
            "dead": self._inlet.dead,
            "buffered": len(outbox),
            "in_flight": self._ledger.in_flight,
            "calls": self._calls.waiting,
            "trims": self._trimmer.rounds,
            "forgotten": self._trimmer.forgotten,
        }

    # -- handlers ---------------------------------------------------------------------

    def _publish(self, event: Event, bridged: str) -> None:
        # Only events fired on the very channel (not on "*"), never one that came
        # from Redis, never a follow-up, a framework event or a remote call request.
        # An event fired on several bridged channels is encoded once, by the handler
        # of the first; an encoding error or a full buffer raises in the firer.
        if self._inlet.came_from_redis(event) or event.parent is not None:
            return
        if isinstance(event, _LOCAL):
            return
        keys = self.config.keys
        channels = event.channels
        if len(channels) == 1:  # the common case
            if channels[0] != bridged:
                return
            targets = [keys[bridged]]
        else:
            targets = [keys[c] for c in channels if c in keys]
            if not targets or targets[0] != keys[bridged]:
                return
        outbox = self._outbox
        outbox.reserve(len(targets))
        fields = {b"n": self.config.node_id, b"e": self.codec.encode(event)}
        for key in targets:
            outbox.queue(key, fields)

    @handler("remote", channel="*")
    async def _on_remote(self, target: Event, node: str, channel: str = "remote") -> Any:
        return await self._calls.call(target, node, channel)

    def _report(self, exc: BaseException) -> None:
        self.fire(error(exc))

    # -- I/O --------------------------------------------------------------------------

    async def run_io(self, *, task_status: IOStatus) -> None:
        """Connect, read and send until stopped; reconnect with backoff when Redis fails.

        Cancellation: whatever was not acknowledged stays pending in Redis and is
        delivered again (to this node when it restarts, or to its group).
        """
        try:
            await self._session.run(task_status)
        finally:
            if len(self._outbox):
                # The close timeout ran out with Redis away: say what was not sent.
                lost = len(self._outbox)
                self.fire(error(RuntimeError(f"{lost} entries were not sent to Redis")))

    def stop_io(self) -> None:
        """Stop reading, let the handlers of taken events finish, flush, then return."""
        self._session.stop()


def _publisher(bridged: str) -> Any:
    """The bridge's handler on channel ``bridged`` (one per bridged channel)."""

    def publish(self: RedisBridge, event: Event, *args: Any, **kwargs: Any) -> None:
        self._publish(event, bridged)

    publish.__name__ = publish.__qualname__ = f"_publish_{bridged}"
    return handler(channel=bridged, priority=PUBLISH_PRIORITY)(publish)


def _backend(config: Config) -> Backend:
    if config.client == "coredis":
        # Imported here: coredis takes a third of a second to import, and the
        # hiredis path never needs it.
        from .coredis_client import CoredisBackend

        return CoredisBackend(config)
    return HiredisBackend(config)
