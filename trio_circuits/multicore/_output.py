"""The supervisor's standard output and error, shared by the workers' output.

Each worker writes into pipes of its own; the supervisor copies every line to its
own stdout or stderr with the worker's prefix (``[worker 2] ...``), whole lines at a
time, so lines of different workers never mix.  Writes go through a thread, since a
blocking ``write(2)`` must not stall the supervisor; a lock keeps them in order,
and a writer waiting for the lock holds its worker back (the pipe fills), which is
the back-pressure a terminal or a log collector needs.
"""

from __future__ import annotations

import os

import trio

__all__ = ["Output"]

_LONGEST_LINE = 65536  # a longer "line" is cut and written in pieces


class Output:
    """One of the supervisor's standard streams (a file descriptor)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = trio.StrictFIFOLock()

    async def write(self, data: bytes) -> None:
        """Write ``data`` whole (a broken or closed stream drops it silently).

        Cancellation: the write is abandoned (its thread may still finish it).
        """
        async with self._lock:
            await trio.to_thread.run_sync(_write_all, self._fd, data, abandon_on_cancel=True)

    async def say(self, text: str) -> None:
        """Write one line of the supervisor's own, prefixed ``trio_circuits:``."""
        await self.write(f"trio_circuits: {text}\n".encode(errors="replace"))

    async def pump(self, stream: trio.abc.ReceiveStream, prefix: bytes) -> None:
        """Copy ``stream`` line by line until its end, each line after ``prefix``.

        Cancellation: stops copying; a partial last line is lost.
        """
        partial = b""
        async for chunk in stream:
            lines = (partial + chunk).split(b"\n")
            partial = lines.pop()
            if len(partial) >= _LONGEST_LINE:
                lines.append(partial)
                partial = b""
            if lines:
                await self.write(b"".join(prefix + line + b"\n" for line in lines))
        if partial:
            await self.write(prefix + partial + b"\n")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError:
        pass  # the stream is closed or broken: nobody reads this output any more
