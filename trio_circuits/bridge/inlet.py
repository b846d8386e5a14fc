"""The inlet: what becomes of each entry taken from Redis."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.events import Event
    from ..core.values import Value
    from .calls import RemoteCalls
    from .client import Fields
    from .codec import Codec
    from .config import Config
    from .ledger import Ledger
    from .outbox import Outbox

__all__ = ["Inlet"]


class Inlet:
    """Turns entries taken from Redis into events fired here, and acks them once handled.

    * An entry already taken (a re-read) is skipped; one this node wrote itself is
      acknowledged at once (it was handled when it was fired).
    * A channel entry is decoded and fired on its channel; an inbox entry is a
      remote call (fired, then answered) or a reply (settles a call).
    * An entry that cannot be decoded is reported, copied to the dead stream and
      acknowledged.

    The events fired from Redis are remembered until their handlers finished, so
    that the bridge never sends them back (:meth:`came_from_redis`): a mapping from
    ``id(event)`` to the event and its entry, whose item goes in the done-callback
    that acknowledges the entry.  The event is not marked in any way.

    Args:
        config: key names and this node's name.
        codec: decodes the entries.
        ledger: the entries taken.
        outbox: where acks, replies and dead letters go.
        calls: the remote calls (settled and answered here).
        fire: fires an event on a channel in this application.
        report: reports an undecodable entry (``error`` on the bridge's channel).
    """

    def __init__(
        self,
        config: Config,
        codec: Codec,
        ledger: Ledger,
        outbox: Outbox,
        calls: RemoteCalls,
        fire: Callable[[Event, Hashable], Value],
        report: Callable[[Exception], None],
    ) -> None:
        self._config = config
        self._codec = codec
        self._ledger = ledger
        self._outbox = outbox
        self._calls = calls
        self._fire = fire
        self._report = report
        # Held (not weakly): an id cannot be reused while its entry is here, and the
        # entry goes before the dispatcher looks for other references to the event.
        self._incoming: dict[int, tuple[Event, str, bytes]] = {}
        # The remote calls being served: ``id(event)`` to the caller and call id.
        self._calls_served: dict[int, tuple[bytes, bytes]] = {}
        self._on_delivered = self._delivered
        self._on_served = self._served
        #: Entries taken (not counting re-reads).
        self.received = 0
        #: Entries sent to the dead stream.
        self.dead = 0

    def came_from_redis(self, event: Event) -> bool:
        """True if ``event`` was fired here for an entry read from Redis."""
        return id(event) in self._incoming

    def take(self, key: str, entry_id: bytes, fields: Fields | None) -> None:
        """Handle one entry read (or claimed) from stream ``key``."""
        if not self._ledger.take(key, entry_id):
            return  # still being handled here, or its ack is on the way
        self.received += 1
        if fields is None:  # deleted by trimming while pending
            self._outbox.ack(key, entry_id)
            return
        config = self._config
        inbox = key == config.inbox
        if not inbox and fields.get(b"n") == config.node_id:
            self._outbox.ack(key, entry_id)  # our own event: handled when it was fired
            return
        try:
            event = self._codec.decode(fields[b"e"])
            if inbox:
                self._take_inbox(key, entry_id, fields, event)
                return
        except Exception as exc:
            self._dead(key, entry_id, fields, exc)
            return
        self._incoming[id(event)] = (event, key, entry_id)
        self._fire(event, config.streams[key]).on_done(self._on_delivered)

    def _delivered(self, value: Value) -> None:
        """The handlers of an event from a channel's stream finished: acknowledge it."""
        _, key, entry_id = self._incoming.pop(id(value.event))
        self._outbox.ack(key, entry_id)

    def _take_inbox(self, key: str, entry_id: bytes, fields: Fields, event: Event) -> None:
        kind = fields[b"k"]
        call_id = fields[b"id"]
        if kind == b"reply":
            self._outbox.ack(key, entry_id)
            self._calls.settle(call_id, event)
            return
        if kind != b"call":
            raise ValueError(f"unknown inbox entry kind {kind!r}")
        channel = fields[b"c"].decode()
        self._calls_served[id(event)] = (fields[b"n"], call_id)
        self._incoming[id(event)] = (event, key, entry_id)
        self._fire(event, channel).on_done(self._on_served)

    def _served(self, value: Value) -> None:
        """The handlers of a remote call's event finished: answer, and acknowledge it."""
        event_id = id(value.event)
        _, key, entry_id = self._incoming.pop(event_id)
        caller, call_id = self._calls_served.pop(event_id)
        self._ledger.handled(key, entry_id)  # its ack travels with the reply, just below
        self._calls.reply(caller, call_id, value)

    def _dead(self, key: str, entry_id: bytes, fields: Fields, exc: Exception) -> None:
        """An entry that cannot be decoded: report it, keep a copy, acknowledge it."""
        self.dead += 1
        self._report(exc)
        copy = {bytes(k): bytes(v) for k, v in dict(fields).items()}
        copy.update({b"stream": key.encode(), b"id": entry_id, b"error": repr(exc).encode()})
        self._outbox.post(self._config.dead_key, copy)
        self._outbox.ack(key, entry_id)
