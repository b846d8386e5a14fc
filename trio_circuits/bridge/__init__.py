"""Events across processes and hosts, on Redis streams (``pip install trio-circuits[redis]``).

Theory of operation
-------------------
Each bridged channel is a Redis stream, ``<prefix>:channel:<name>``.  A plain
handler of the bridge, one per bridged channel, encodes every event fired on that
channel in this process and queues it in the :class:`~.outbox.Outbox`, whose flush
loop writes it to Redis, one pipeline per batch, so the events one dispatcher batch
fires travel together.  The :class:`~.reader.StreamReader` takes entries with
blocking ``XREADGROUP`` (one task and one connection per stream) and hands them to
the :class:`~.inlet.Inlet`, which fires them here on the same channel, remembering
them so they are not sent back.  An entry is acknowledged once the handlers of its
event, ``async`` ones included, have finished; the :class:`~.ledger.Ledger` keeps
what was taken and not yet acknowledged.

Consumer groups decide who gets what: by default every node has its own group on
every stream (broadcast); with ``group="NAME"`` the nodes sharing the name share
one group, so each event goes to one of them, and entries left pending by a node
that died are claimed (``XAUTOCLAIM``) after ``claim_after`` seconds.  Each node
also reads its inbox, ``<prefix>:node:<node>``, where :class:`remote` calls and
their replies travel (:class:`~.calls.RemoteCalls`).

The :class:`~.session.Session` owns the connection's life: when Redis goes away it
fires ``error(err)``, reconnects with backoff and resumes: the consumer groups
remember what was read, the outbox keeps what Redis had not confirmed yet, and
entries delivered but not acknowledged are read again.  Delivery is at least once:
what was written but not confirmed before a failure is written again.

Two clients: the lean one (:mod:`.hiredis_client`: Trio sockets, ``hiredis`` to
pack and parse) for one Redis node, and ``coredis`` for Redis Cluster and as a
fallback (``client="coredis"``).
"""

from __future__ import annotations

import importlib.util

# The optional extra 'redis' brings both clients.  find_spec, not import: coredis
# is slow to import and only the coredis client needs it.
for _name in ("hiredis", "coredis"):
    if importlib.util.find_spec(_name) is None:
        raise ImportError(
            f"trio_circuits.bridge needs {_name}, from the optional extra 'redis': "
            "pip install 'trio-circuits[redis]'",
            name=_name,
        )

from .calls import RemoteError, remote  # noqa: E402
from .codec import Codec, JSONCodec  # noqa: E402
from .component import RedisBridge  # noqa: E402

__all__ = ["Codec", "JSONCodec", "RedisBridge", "RemoteError", "remote"]
