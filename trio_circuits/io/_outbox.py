"""What a File has been asked to write and has not written yet.

:class:`Outbox` keeps the queued chunks in order, counts their bytes (the chunk being
written included), and lets a task wait until the count has fallen to half the
high-water mark -- the wait that holds a writing cascade (``drain``).  No I/O here:
the File's writer takes chunks and reports what it wrote.
"""

from __future__ import annotations

from collections import deque

from ..core.flow import DrainWait

__all__ = ["Outbox"]

# Writes are coalesced into chunks of at most this many bytes.
_WRITE_CHUNK = 65536


class Outbox:
    """The queued output of one File, with its byte count and a drain wait."""

    __slots__ = ("_chunks", "_drained", "size")

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        #: Bytes queued, and taken by the writer but not reported written yet.
        self.size = 0
        self._drained = DrainWait()

    def __bool__(self) -> bool:
        return bool(self._chunks)

    def put(self, data: bytes) -> None:
        """Queue ``data`` behind what is queued."""
        self._chunks.append(data)
        self.size += len(data)

    def take(self) -> tuple[bytes, int]:
        """The next chunk to write (queued pieces joined, up to 64 KiB) and its size."""
        chunks = self._chunks
        parts: list[bytes] = []
        size = 0
        while chunks and size < _WRITE_CHUNK:
            parts.append(chunks.popleft())
            size += len(parts[-1])
        return b"".join(parts), size

    def written(self, size: int, low_water: int) -> None:
        """``size`` bytes taken were written (or given up): wake drain waits, if due."""
        self.size = max(0, self.size - size)
        if self.size <= low_water:
            self._drained.wake()

    def drop(self) -> None:
        """Forget what is queued (the file closed): every drain wait returns."""
        self._chunks.clear()
        self.size = 0
        self._drained.wake()

    async def wait_drained(self, low_water: int) -> None:
        """Return once at most ``low_water`` bytes are queued.

        Cancellation: cancellable; nothing changes then.
        """
        await self._drained.until(lambda: self.size <= low_water)
