"""The delivery ledger: which stream entries a node has taken and not yet acknowledged.

Pure bookkeeping, no I/O: the reader records what it takes, the inlet what has been
handled, the outbox what Redis has confirmed.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Ledger"]


class Ledger:
    """Which stream entries a node has taken and not yet had acknowledged by Redis.

    An entry is *taken* when read (or claimed), *handled* when its handlers finished
    (its ack is then due), and forgotten once Redis confirmed the ack.  Until then
    a second read of the same entry (a reconnection re-reads the pending ones) is
    refused, so no event is fired twice by one node.

    Args:
        streams: the keys of the streams the node reads.
    """

    def __init__(self, streams: Iterable[str]) -> None:
        self._taken: dict[str, set[bytes]] = {key: set() for key in streams}
        self._due: dict[str, list[bytes]] = {key: [] for key in self._taken}
        self._due_count = 0
        self._in_flight = 0

    def take(self, key: str, entry_id: bytes) -> bool:
        """Record ``entry_id`` as taken; False if it already was (skip it)."""
        taken = self._taken[key]
        if entry_id in taken:
            return False
        taken.add(entry_id)
        self._in_flight += 1
        return True

    def handled(self, key: str, entry_id: bytes) -> None:
        """The entry's handlers finished: its ack is due."""
        self._due[key].append(entry_id)
        self._due_count += 1

    def due(self) -> dict[str, list[bytes]]:
        """Take the acks that are due, per stream (streams with none left out)."""
        if not self._due_count:
            return {}
        due = {key: ids for key, ids in self._due.items() if ids}
        for key in due:
            self._due[key] = []
        self._due_count = 0
        return due

    def unsent(self, due: dict[str, list[bytes]]) -> None:
        """Acks taken with :meth:`due` could not be sent: due again, first."""
        for key, ids in due.items():
            self._due[key][:0] = ids
            self._due_count += len(ids)

    def confirmed(self, due: dict[str, list[bytes]]) -> int:
        """Redis has the acks: forget those entries.  Returns how many."""
        if not due:
            return 0
        count = 0
        for key, ids in due.items():
            taken = self._taken[key]
            for entry_id in ids:
                if entry_id in taken:
                    taken.discard(entry_id)
                    count += 1
        self._in_flight -= count
        return sum(len(ids) for ids in due.values())

    @property
    def has_due(self) -> bool:
        """True if acks are waiting to be sent."""
        return self._due_count > 0

    @property
    def in_flight(self) -> int:
        """Entries taken and not yet confirmed."""
        return self._in_flight
