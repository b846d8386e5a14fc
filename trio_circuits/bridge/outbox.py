"""The outbox: entries waiting for Redis, the acks that are due, and the flush loop."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from .client import Ack, Fields, StreamClient
    from .config import Config
    from .ledger import Ledger

__all__ = ["ACK_DELAY", "Outbox"]

#: Acks alone wait this long for entries to travel with (one pipeline, not two).
ACK_DELAY = 0.005


class Outbox:
    """Entries on their way to Redis, and the acks of handled entries.

    Events are :meth:`queue`\\ d (bounded by ``buffer``) or :meth:`post`\\ ed (never
    refused) and written by :meth:`run`, the flush loop, one pipeline per round:
    what one dispatcher batch queued travels together, and the due acks ride along.
    A remote call's request does not wait for the loop: :meth:`send` writes it at
    once when the connection is free and nothing is queued ahead of it.  An entry
    leaves the outbox only once Redis has it, so entries survive a reconnection.

    Args:
        config: ``buffer``, ``batch`` and ``maxlen``, and the consumer groups.
        ledger: the acks that are due come from here.
    """

    def __init__(self, config: Config, ledger: Ledger) -> None:
        self._config = config
        self._ledger = ledger
        self._entries: deque[tuple[str, Fields]] = deque()
        self._wake = trio.Event()
        self._client: StreamClient | None = None
        self._writing = False
        self._stopping = False
        #: Entries written to Redis.
        self.sent = 0
        #: Pipelines written.
        self.batches = 0
        #: Acks Redis confirmed.
        self.acked = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def writing(self) -> bool:
        """True while a write is in flight."""
        return self._writing

    # -- taking entries (plain code, any time) ---------------------------------------

    def reserve(self, count: int) -> None:
        """Check that ``count`` more entries fit in the buffer.

        Raises:
            BufferError: ``buffer`` entries already wait for Redis.
        """
        if len(self._entries) + count > self._config.buffer:
            raise BufferError(
                f"{self._config.buffer} events are already waiting for Redis; not sending more"
            )

    def queue(self, key: str, fields: Fields) -> None:
        """Queue an entry for the next write; ``BufferError`` if the buffer is full."""
        self.reserve(1)
        self.post(key, fields)

    def post(self, key: str, fields: Fields) -> None:
        """Queue an entry for the next write (never refused: replies, dead letters)."""
        self._entries.append((key, fields))
        self._wake.set()

    def ack(self, key: str, entry_id: bytes) -> None:
        """The entry's handlers finished: acknowledge it with the next write."""
        ledger = self._ledger
        if not ledger.has_due or self._stopping:
            self._wake.set()  # the first due ack wakes the loop, which waits ACK_DELAY
        ledger.handled(key, entry_id)

    def wake(self) -> None:
        """Make the flush loop look at the outbox again (stopping, for instance)."""
        self._wake.set()

    # -- writing ---------------------------------------------------------------------

    async def send(self, key: str, fields: Fields) -> None:
        """Write one entry now if the connection is free and nothing waits ahead of it.

        Otherwise (connected or not) it is queued, as :meth:`queue` would.  A failed
        write puts the entry back at the head of the outbox: the flush loop meets the
        same failure and the session reconnects.

        Raises:
            BufferError: it had to be queued and the buffer is full.

        Cancellation: the entry may or may not have reached Redis; the write
        connection is closed and the session reconnects.
        """
        client = self._client
        if client is None or self._writing or self._entries:
            self.queue(key, fields)
            return
        self._writing = True
        try:
            await client.write(((key, fields),), (), self._config.maxlen)
        except Exception:
            self._entries.appendleft((key, fields))
            return
        finally:
            self._writing = False
            if self._entries or self._ledger.has_due or self._stopping:
                self._wake.set()
        self.sent += 1
        self.batches += 1

    async def run(self, client: StreamClient, stopping: Callable[[], bool]) -> None:
        """The flush loop: write the outbox and the due acks until stopped.

        Returns once ``stopping()`` is true and nothing is left to do: no entry
        queued, and every entry taken from Redis handled and acknowledged.

        Raises:
            Exception: whatever ``client`` raised (the session reconnects).

        Cancellation: what was not written stays in the outbox; acks being written
        are due again.
        """
        entries = self._entries
        ledger = self._ledger
        self._client = client
        try:
            while True:
                self._stopping = stopping()
                if self._writing or not (entries or ledger.has_due):
                    if self._stopping and not self._writing and not ledger.in_flight:
                        return
                    self._wake = trio.Event()
                    await self._wake.wait()
                    continue
                if not entries and not self._stopping:
                    # Acks alone: wait a little for entries to travel with.
                    self._wake = trio.Event()
                    with trio.move_on_after(ACK_DELAY):
                        await self._wake.wait()
                    if self.writing:  # a remote call's request went first
                        continue
                await self._write_round(client)
        finally:
            self._client = None

    async def _write_round(self, client: StreamClient) -> None:
        entries = self._entries
        ledger = self._ledger
        batch = [entries[i] for i in range(min(len(entries), self._config.batch))]
        due = ledger.due()
        group_of = self._config.group_of
        acks: list[Ack] = [(key, group_of(key), ids) for key, ids in due.items()]
        self._writing = True
        try:
            await client.write(batch, acks, self._config.maxlen)
        except BaseException:
            ledger.unsent(due)  # again after the reconnection
            raise
        finally:
            self._writing = False
        # Only now: an entry leaves the outbox once Redis has it.
        for _ in batch:
            entries.popleft()
        if batch:
            self.sent += len(batch)
            self.batches += 1
        self.acked += ledger.confirmed(due)
