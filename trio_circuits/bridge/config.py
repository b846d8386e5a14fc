"""The bridge's configuration: validated settings and the names of its Redis keys."""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Hashable, Iterable

import attrs

from ..multicore import worker_index

__all__ = ["CLIENTS", "EPHEMERAL", "Config"]

#: The Redis clients the bridge can use.
CLIENTS = ("hiredis", "coredis")
#: The prefix of the broadcast groups of nodes whose name was generated (a given
#: node name cannot start with it).
EPHEMERAL = "~"


def _default_node() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _node_name(node: str | None) -> str:
    """``node`` (default ``"<hostname>-<pid>"``), in a worker suffixed ``-<index>``.

    Each worker of ``trio_circuits.run(..., workers=N)`` is a node of its own.  A given
    name stays durable: worker ``I``'s replacement (after a crash, or on SIGHUP) is
    the same node ``NAME-I`` and resumes its consumer groups.  A generated name keeps
    the worker's own pid, so it stays ephemeral: a replacement is a new node, and the
    groups of the one it replaces can be removed at its stop without harm.
    """
    name = node if node is not None else _default_node()
    index = worker_index()
    return name if index is None else f"{name}-{index}"


@attrs.frozen
class Config:
    """What a bridge is configured with (see :class:`~trio_circuits.bridge.RedisBridge`).

    Build it with :meth:`create`, which checks every value.  The key names derive
    from ``prefix``: ``<prefix>:channel:<name>`` per bridged channel,
    ``<prefix>:node:<node>`` per node (its inbox) and ``<prefix>:dead``.
    """

    url: str
    channels: tuple[str, ...]
    node: str
    group: str | None
    prefix: str
    claim_after: float
    buffer: int
    batch: int
    maxlen: int | None
    cluster: bool
    client: str
    ssl_context: ssl.SSLContext | None
    connect_timeout: float
    call_timeout: float
    trim_every: float
    forget_after: float
    #: True if ``node`` was generated (``"<hostname>-<pid>"``): it never comes back.
    ephemeral: bool
    #: ``node`` as bytes (it is written into every entry).
    node_id: bytes = attrs.field(init=False)
    #: This node's inbox (remote calls and their replies).
    inbox: str = attrs.field(init=False)
    #: The bridged channels' stream keys, to the channel names.
    streams: dict[str, str] = attrs.field(init=False)
    #: The bridged channels' names, to their stream keys.
    keys: dict[str, str] = attrs.field(init=False)
    #: This node's group on the bridged streams when it is not in a work queue.
    broadcast_group: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        keys = {channel: f"{self.prefix}:channel:{channel}" for channel in self.channels}
        object.__setattr__(self, "node_id", self.node.encode())
        object.__setattr__(self, "inbox", self.inbox_of(self.node))
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "streams", {key: c for c, key in keys.items()})
        broadcast = EPHEMERAL + self.node if self.ephemeral else self.node
        object.__setattr__(self, "broadcast_group", broadcast)

    @classmethod
    def create(
        cls,
        url: str,
        *,
        channels: Iterable[str],
        node: str | None,
        group: str | None,
        prefix: str,
        own_channel: Hashable,
        claim_after: float,
        buffer: int,
        batch: int,
        maxlen: int | None,
        cluster: bool,
        client: str | None,
        ssl_context: ssl.SSLContext | None,
        connect_timeout: float,
        call_timeout: float = 60.0,
        trim_every: float = 5.0,
        forget_after: float = 600.0,
    ) -> Config:
        """Check the settings and build the configuration.

        Raises:
            ValueError: a setting is out of range, or settings contradict each other.
        """
        channels = tuple(channels)
        if not channels or not all(isinstance(c, str) and c for c in channels):
            raise ValueError(f"channels must be non-empty strings, got {channels!r}")
        if len(set(channels)) != len(channels):
            raise ValueError(f"channels repeat: {channels!r}")
        if own_channel in channels:
            raise ValueError(f"the bridge's own channel {own_channel!r} cannot be bridged")
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"not a Redis URL: {url!r}")
        numbers = (
            ("claim_after", claim_after),
            ("buffer", buffer),
            ("batch", batch),
            ("connect_timeout", connect_timeout),
            ("call_timeout", call_timeout),
            ("trim_every", trim_every),
            ("forget_after", forget_after),
        )
        for name, number in numbers:
            if not number > 0:  # NaN included
                raise ValueError(f"{name} must be > 0, got {number!r}")
        if maxlen is not None and maxlen <= 0:
            raise ValueError(f"maxlen must be > 0, got {maxlen!r}")
        if node is not None and (not node or node.startswith(EPHEMERAL)):
            raise ValueError(f"node must be a non-empty name not starting {EPHEMERAL!r}")
        if client is None:
            client = "coredis" if cluster else "hiredis"
        if client not in CLIENTS:
            raise ValueError(f"client must be one of {CLIENTS}, got {client!r}")
        if cluster and client != "coredis":
            raise ValueError(
                "cluster=True needs client='coredis' (the hiredis client is for one node)"
            )
        return cls(
            url=url,
            channels=channels,
            node=_node_name(node),
            ephemeral=node is None,
            group=group,
            prefix=prefix,
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

    def stream_key(self, channel: str) -> str:
        """The key of a channel's stream (bridged or not)."""
        return self.keys.get(channel) or f"{self.prefix}:channel:{channel}"

    def inbox_of(self, node: str) -> str:
        """The key of a node's inbox."""
        return f"{self.prefix}:node:{node}"

    @property
    def dead_key(self) -> str:
        """The stream where undecodable entries are copied."""
        return f"{self.prefix}:dead"

    @property
    def all_streams(self) -> list[str]:
        """Every stream this node reads: the bridged channels' and its inbox."""
        return [*self.streams, self.inbox]

    def group_of(self, key: str) -> str:
        """The consumer group this node reads ``key`` through."""
        if key == self.inbox:
            return "inbox"
        return self.group if self.group is not None else self.broadcast_group
