"""Remote calls over the bridge: the ``remote`` event, ``RemoteError``, and the pure
bookkeeping of entries taken from Redis (no I/O here)."""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from typing import Any

import trio

from .core.events import Event

__all__ = ["Ledger", "RemoteError", "remote"]


class RemoteError(Exception):
    """A handler raised in the node that served a :class:`remote` call.

    ``type_name``, ``message`` and ``traceback`` (the text of the remote traceback)
    tell what happened there; the remote exception itself is never rebuilt.
    """

    def __init__(self, type_name: str, message: str, traceback: str = "") -> None:
        super().__init__(type_name, message, traceback)
        self.type_name = type_name
        self.message = message
        self.traceback = traceback

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}"


class remote(Event):
    """Fire ``event`` on ``channel`` in the node called ``node``; the value is its result.

    ``await self.call(remote(hello(1), "worker-1"), timeout=5)`` returns a Value
    holding what the remote handlers returned; a remote handler error raises
    :class:`RemoteError`.
    """

    def __init__(self, event: Event, node: str, channel: str = "remote") -> None:
        super().__init__(event, node, channel)


class Call:
    """A remote call this node is waiting for (internal)."""

    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.result: Any = None
        self.error: RemoteError | None = None

    def answer(self, event: Event) -> None:
        """Settle the call with a reply event (``remote_result`` or ``remote_error``)."""
        if event.name == "remote_error":
            self.error = RemoteError(*(str(a) for a in event.args[:3]))
        else:
            self.result = event.args[0] if event.args else None
        self.done.set()


def result_answer(result: Any) -> Event:
    """The reply to a remote call whose handlers succeeded."""
    return Event.create("remote_result", result)


def error_answer(error: Any) -> Event:
    """The reply to a remote call whose handler raised (``error`` is the stored triple)."""
    if isinstance(error, tuple) and len(error) == 3 and isinstance(error[1], BaseException):
        etype, exc, tb = error
        text = "".join(traceback.format_exception(etype, exc, tb))
        return Event.create("remote_error", etype.__name__, str(exc), text)
    return Event.create("remote_error", "Exception", repr(error), "")


class Ledger:
    """Which stream entries a node has taken and not yet had acknowledged by Redis.

    An entry is *taken* when read (or claimed), *handled* when its handlers finished
    (its ack is then due), and forgotten once Redis confirmed the ack.  Until then
    a second read of the same entry (a reconnection re-reads the pending ones) is
    refused, so no event is fired twice by one node.
    """

    def __init__(self, streams: Iterable[str]) -> None:
        self._taken: dict[str, set[bytes]] = {key: set() for key in streams}
        self._due: dict[str, list[bytes]] = {key: [] for key in self._taken}

    def take(self, key: str, entry_id: bytes) -> bool:
        """Record ``entry_id`` as taken; False if it already was (skip it)."""
        taken = self._taken[key]
        if entry_id in taken:
            return False
        taken.add(entry_id)
        return True

    def handled(self, key: str, entry_id: bytes) -> None:
        """The entry's handlers finished: its ack is due."""
        self._due[key].append(entry_id)

    def due(self) -> dict[str, list[bytes]]:
        """Take the acks that are due, per stream (empty streams left out)."""
        due = {key: ids for key, ids in self._due.items() if ids}
        for key in due:
            self._due[key] = []
        return due

    def unsent(self, due: dict[str, list[bytes]]) -> None:
        """Acks taken with :meth:`due` could not be sent: due again, first."""
        for key, ids in due.items():
            self._due[key][:0] = ids

    def confirmed(self, due: dict[str, list[bytes]]) -> int:
        """Redis has the acks: forget those entries.  Returns how many."""
        for key, ids in due.items():
            self._taken[key].difference_update(ids)
        return sum(len(ids) for ids in due.values())

    @property
    def has_due(self) -> bool:
        """True if acks are waiting to be sent."""
        return any(self._due.values())

    @property
    def in_flight(self) -> int:
        """Entries taken and not yet confirmed."""
        return sum(len(ids) for ids in self._taken.values())
