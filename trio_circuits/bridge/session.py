"""The session: connect, read and write while connected, back off and reconnect."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

if TYPE_CHECKING:
    from ..core.flow import IOStatus
    from ..core.values import Value
    from .client import Backend, StreamClient
    from .config import Config
    from .outbox import Outbox
    from .reader import StreamReader
    from .trimmer import Trimmer

__all__ = ["BACKOFF_MAX", "BACKOFF_MIN", "Session"]

BACKOFF_MIN = 0.05
BACKOFF_MAX = 5.0


class Session:
    """The bridge's life on Redis: one connection at a time, reconnecting after failures.

    While connected: a read loop per stream (and the claim loop of a work queue), the
    trimmer and the outbox's flush loop.  When Redis fails, the failure is reported and, after a
    backoff (50 ms doubling to 5 s), a new connection resumes where the consumer
    groups left off.  The outbox and the ledger live outside the session and survive it.

    Args:
        config: the streams, their groups, and whether this node joins a work queue.
        backend: connects to Redis.
        outbox: the entries and acks to write.
        reader: the read and claim loops.
        trimmer: trims the streams; a generated-name node forgets itself at stop.
        ready: fires ``ready`` (once connected and reading); returns its Value.
        report: fires ``error(err)`` for a failure.
    """

    def __init__(
        self,
        config: Config,
        backend: Backend,
        outbox: Outbox,
        reader: StreamReader,
        trimmer: Trimmer,
        ready: Callable[[], Value],
        report: Callable[[BaseException], None],
    ) -> None:
        self._config = config
        self._backend = backend
        self._outbox = outbox
        self._reader = reader
        self._trimmer = trimmer
        self._ready = ready
        self._report = report
        self._stop = trio.Event()
        self._read_scope: trio.CancelScope | None = None
        #: True while connected to Redis and reading.
        self.connected = False

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called (until the next :meth:`run`)."""
        return self._stop.is_set()

    async def run(self, task_status: IOStatus) -> None:
        """Connect and serve until stopped, reconnecting with backoff when Redis fails.

        ``task_status.started`` is reported once connected and reading, or after the
        first failure (an unreachable Redis does not hold the application's start).

        Raises:
            BaseException: anything that is not a Redis failure (a bug) propagates.

        Cancellation: connections are closed at once; what was not acknowledged stays
        pending in Redis and is delivered again.
        """
        self._stop = trio.Event()
        failures = self._backend.failures
        delay = BACKOFF_MIN
        first = True
        while not self.stopping:
            try:
                await self._connected(first, task_status)
                return
            except BaseExceptionGroup as group:
                exc = _failure(group, failures)
            except failures as failure:
                exc = failure
            finally:
                self.connected = False
            first = False
            self._report(exc)
            if not task_status.done:
                task_status.started()
            with trio.move_on_after(delay):
                await self._stop.wait()
            delay = min(delay * 2, BACKOFF_MAX)

    def stop(self) -> None:
        """Stop reading; the flush loop ends once everything taken is acknowledged."""
        self._stop.set()
        if self._read_scope is not None:
            self._read_scope.cancel()
        self._outbox.wake()

    async def _connected(self, first: bool, task_status: IOStatus) -> None:
        async with self._backend.connect() as client:
            await self._prepare(client, first)
            async with trio.open_nursery() as nursery:
                with trio.CancelScope() as self._read_scope:
                    if self.stopping:
                        self._read_scope.cancel()
                    async with trio.open_nursery() as readers:
                        for key in self._config.all_streams:
                            await readers.start(self._reader.read, client, key)
                        if self._config.group is not None:
                            await readers.start(self._reader.claim, client)
                        await readers.start(self._trimmer.run, client)
                        nursery.start_soon(self._outbox.run, client, lambda: self.stopping)
                        self.connected = True
                        value = self._ready()
                        if not task_status.done:
                            task_status.started(value)
                # Stopping: nothing more is read; what was taken finishes, then flushed.
                self._outbox.wake()
            # Everything taken was acknowledged: a node that cannot come back leaves.
            await self._trimmer.forget_self(client)

    async def _prepare(self, client: StreamClient, first: bool) -> None:
        """Create the consumer groups this node reads through (existing ones are kept)."""
        config = self._config
        for key in config.all_streams:
            # A broadcast group starts at the end of the stream: a new node does not
            # replay history.  A work queue starts at its beginning, so jobs queued
            # before any worker existed are done.  After a reconnection, a group that
            # Redis lost starts at the beginning: nothing in the new stream is missed.
            shared = config.group is not None and key != config.inbox
            start = "$" if first and not shared else "0"
            await client.create_group(key, config.group_of(key), start)


def _failure(
    group: BaseExceptionGroup[Any], failures: tuple[type[BaseException], ...]
) -> BaseException:
    """The Redis failure in ``group``, or ``group`` re-raised if it holds anything else."""
    gone, rest = group.split(failures)
    if rest is not None or gone is None:
        raise group
    leaf: BaseException = gone
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    return leaf
