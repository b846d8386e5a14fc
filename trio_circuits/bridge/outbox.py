"""The outbox: entries on their way to Redis, the acks that are due, and the flush loop."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from .client import Write

if TYPE_CHECKING:
    from .client import Ack, Fields, StreamClient
    from .config import Config
    from .ledger import Ledger

__all__ = ["ACK_DELAY", "Outbox"]

#: Acks alone wait this long for entries to travel with (one pipeline, not two).
ACK_DELAY = 0.005
#: Writes in flight (sent, not yet confirmed) hold at most this many batches.
_IN_FLIGHT_BATCHES = 4


class Outbox:
    """Entries on their way to Redis, and the acks of handled entries.

    Two ways out, both ending in :meth:`StreamClient.submit`, which writes at once:

    * **Queued** (:meth:`queue`, the bridged events): the flush loop (:meth:`run`)
      takes everything queued when it next runs, so what one dispatcher batch
      fired travels as one pipeline, up to ``batch`` entries.
    * **Now** (:meth:`send`, :meth:`post`: remote call requests and replies, dead
      letters): written from the calling code itself when connected and nothing
      is queued ahead (else queued, to keep the order), without a wake-up of the
      flush loop.

    The due acks ride with whatever is written next; alone, they wait
    :data:`ACK_DELAY` for company, and never hold anything up.  An entry counts as
    buffered until Redis confirmed it (:meth:`StreamClient.confirm_soon` asks for
    the confirmations of queued entries at once, of the others after
    :data:`ACK_DELAY`): writes unconfirmed when a connection fails are queued
    again, first, for the next one (delivery is at least once).

    Args:
        config: ``buffer``, ``batch`` and the consumer groups.
        ledger: the acks that are due come from here.
    """

    def __init__(self, config: Config, ledger: Ledger) -> None:
        self._config = config
        self._ledger = ledger
        self._entries: deque[tuple[str, Fields]] = deque()
        self._flights: deque[Write] = deque()  # submitted, not yet confirmed
        self._flying = 0  # entries in flight
        self._wake = trio.Event()
        self._client: StreamClient | None = None
        self._idle = False  # the flush loop waits for work
        self._stopping = False
        #: Entries Redis confirmed.
        self.sent = 0
        #: Confirmed writes that held entries.
        self.batches = 0
        #: Acks Redis confirmed.
        self.acked = 0

    def __len__(self) -> int:
        """Entries not yet confirmed by Redis (queued or in flight)."""
        return len(self._entries) + self._flying

    # -- taking entries (plain code, any time) ---------------------------------------

    def reserve(self, count: int) -> None:
        """Check that ``count`` more entries fit in the buffer.

        Raises:
            BufferError: ``buffer`` entries already wait for Redis.
        """
        if len(self) + count > self._config.buffer:
            raise BufferError(
                f"{self._config.buffer} events are already waiting for Redis; not sending more"
            )

    def queue(self, key: str, fields: Fields) -> None:
        """Queue an entry for the flush loop (no :meth:`reserve` check: do it first)."""
        self._entries.append((key, fields))
        self._wake.set()

    def send(self, key: str, fields: Fields) -> None:
        """Write an entry now (see the class); ``BufferError`` if the buffer is full."""
        self.reserve(1)
        self.post(key, fields)

    def post(self, key: str, fields: Fields) -> None:
        """Write an entry now (see the class); never refused (replies, dead letters)."""
        client = self._client
        if client is None or self._entries:
            self.queue(key, fields)
            return
        self._submit(client, [(key, fields)])
        if self._idle:
            self._wake.set()  # to have it confirmed, after ACK_DELAY

    def ack(self, key: str, entry_id: bytes) -> None:
        """The entry's handlers finished: acknowledge it with the next write."""
        self._ledger.handled(key, entry_id)
        if self._idle:
            self._wake.set()

    def wake(self) -> None:
        """Make the flush loop look at the outbox again (stopping, for instance)."""
        self._wake.set()

    # -- writing ---------------------------------------------------------------------

    def _submit(self, client: StreamClient, entries: list[tuple[str, Fields]]) -> None:
        due = self._ledger.due()
        group_of = self._config.group_of
        acks: list[Ack] = [(key, group_of(key), ids) for key, ids in due.items()]
        write = Write(entries, acks, due, self._confirmed)
        inbox = self._config.inbox
        if inbox in due:
            # Nobody else reads this node's inbox: an entry acknowledged is done with.
            write.deletes.append((inbox, due[inbox]))
        self._flights.append(write)
        self._flying += len(entries)
        client.submit(write)

    def _confirmed(self, write: Write) -> None:
        if write.abandoned:
            return  # its connection failed: it was queued again
        first = self._flights.popleft()
        assert first is write, "writes are confirmed in the order they were submitted"
        count = len(write.entries)
        self._flying -= count
        if count:
            self.sent += count
            self.batches += 1
        self.acked += self._ledger.confirmed(write.due)
        if self._idle and (self._entries or self._stopping):
            self._wake.set()

    async def run(self, client: StreamClient, stopping: Callable[[], bool]) -> None:
        """The flush loop: submit what is queued, and the lonely acks, until stopped.

        Queued entries are submitted at once, and their confirmations read as they
        come.  Acks alone, and the confirmations of writes made from the calling
        code, wait :data:`ACK_DELAY` first: by then the next write has usually
        taken both along.  Returns once ``stopping()`` is true and nothing is left
        to do: nothing queued or in flight, and every entry taken from Redis
        handled and acknowledged.

        Cancellation: writes not yet confirmed are queued again (their acks due
        again), for the next connection.
        """
        entries = self._entries
        ledger = self._ledger
        limit = _IN_FLIGHT_BATCHES * self._config.batch
        self._client = client
        lingered = False
        try:
            while True:
                self._stopping = stopping()
                if entries and self._flying < limit:
                    count = min(len(entries), self._config.batch)
                    self._submit(client, [entries.popleft() for _ in range(count)])
                    client.confirm_soon()
                    continue
                if not entries and (ledger.has_due or self._flights):
                    if not (self._stopping or lingered):
                        # Wait a little: the next write takes the acks along.
                        self._wake = trio.Event()
                        with trio.move_on_after(ACK_DELAY):
                            await self._wake.wait()
                        lingered = True
                        continue
                    if ledger.has_due:
                        self._submit(client, [])  # the acks alone
                    client.confirm_soon()
                if self._stopping and not (entries or self._flights or ledger.in_flight):
                    return
                if entries:
                    client.confirm_soon()  # no room: the confirmations make some
                self._wake = trio.Event()
                self._idle = True
                try:
                    await self._wake.wait()
                finally:
                    self._idle = False
                lingered = False
        finally:
            self._client = None
            self._requeue()

    def _requeue(self) -> None:
        """The connection is gone: writes it did not confirm go back, first, in order."""
        ledger = self._ledger
        for write in reversed(self._flights):
            write.abandoned = True
            self._entries.extendleft(reversed(write.entries))
            ledger.unsent(write.due)
        self._flights.clear()
        self._flying = 0
