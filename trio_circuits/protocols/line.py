"""The Line protocol: turn ``read`` data into ``line`` events.

The splitting is a pure class (:class:`LineBuffer`), unit-tested without sockets; the
:class:`Line` component keeps one buffer per connection and drops it on
``disconnect``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from typing import Any

from ..core.components import BaseComponent
from ..core.events import Event
from ..core.handlers import handler
from ..net.events import close, error

__all__ = ["Line", "LineBuffer", "line", "split_lines"]

_LINESEP = re.compile(b"\r?\n")

Splitter = Callable[[bytes, bytes], tuple[list[bytes], bytes]]


class line(Event):
    """A complete line: ``line(data)`` (client) or ``line(sock, data)`` (server)."""


def split_lines(data: bytes, buffer: bytes = b"") -> tuple[list[bytes], bytes]:
    """Split ``buffer + data`` on ``\\r?\\n``: the complete lines and the unfinished rest.

    Terminators are stripped; empty lines are kept; a lone ``\\r`` is not a separator.
    """
    parts = _LINESEP.split(buffer + data)
    return parts[:-1], parts[-1]


class LineBuffer:
    """Buffered line splitting with a maximum line length (no I/O).

    :meth:`feed` returns the complete lines; it raises ``ValueError`` when a line, or
    the unfinished rest, exceeds ``max_line_length`` bytes.  With the default
    splitter the cost is linear in the bytes fed, however they are cut: the pieces
    of an unfinished line are kept apart and only the new bytes are searched.  A
    custom ``splitter(data, buffer)`` receives the whole unfinished rest each time.
    """

    def __init__(self, max_line_length: int = 65536, splitter: Splitter | None = None) -> None:
        if isinstance(max_line_length, bool) or not isinstance(max_line_length, int):
            raise TypeError("max_line_length must be an int")
        if max_line_length < 1:
            raise ValueError("max_line_length must be >= 1")
        if splitter is not None and not callable(splitter):
            raise TypeError("splitter must be callable")
        self.max_line_length = max_line_length
        self.splitter: Splitter | None = splitter
        self._parts: list[bytes] = []
        self._size = 0

    @property
    def rest(self) -> bytes:
        """The unfinished line (bytes after the last terminator)."""
        if len(self._parts) > 1:
            self._parts = [b"".join(self._parts)]
        return self._parts[0] if self._parts else b""

    @rest.setter
    def rest(self, data: bytes) -> None:
        self._parts = [data] if data else []
        self._size = len(data)

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data``; return the lines it completes."""
        if self.splitter is not None:
            lines, rest = self.splitter(data, self.rest)
            self._check(rest, lines)
            self.rest = rest
            return lines
        end = data.find(b"\n")
        if end < 0:
            self._parts.append(data)
            self._size += len(data)
            if self._size > self.max_line_length:
                self._overflow()
            return []
        if self._parts:
            self._parts.append(data[:end])
            first = b"".join(self._parts)
        else:
            first = data[:end]
        tail = data[end + 1 :]
        lines = _LINESEP.split(tail) if b"\r" in tail else tail.split(b"\n")
        rest = lines.pop()
        if first.endswith(b"\r"):
            first = first[:-1]
        lines.insert(0, first)
        if len(data) > self.max_line_length:
            self._check(rest, lines)
        else:
            # Only the first line can have grown past the limit.
            self._check(rest, lines[:1])
        self.rest = rest
        return lines

    def _check(self, rest: bytes, lines: list[bytes]) -> None:
        limit = self.max_line_length
        if len(rest) > limit or (lines and max(map(len, lines)) > limit):
            self._overflow()

    def _overflow(self) -> None:
        self.rest = b""
        raise ValueError(f"line longer than {self.max_line_length} bytes")


class Line(BaseComponent):
    """Split ``read`` events on its channel into ``line`` events, in order.

    Args:
        channel: the channel to listen on and fire ``line`` on (usually the socket
            component's).
        splitter: ``splitter(data, buffer) -> (lines, rest)``, replacing the default
            ``\\r?\\n`` splitting.
        encoding: kept for circuits compatibility; lines stay bytes.
        max_line_length: a longer line fires ``error(sock, ValueError)`` (client:
            ``error(ValueError)``) and ``close(sock)`` (client: ``close()``), on the
            channels the ``read`` came from; that connection is read no further.
        getBuffer, updateBuffer: circuits' external per-connection buffer functions
            (optional: the component keeps its own buffers).
    """

    def __init__(
        self,
        *,
        channel: Hashable = "*",
        splitter: Splitter | None = None,
        encoding: str = "utf-8",
        max_line_length: int = 65536,
        getBuffer: Callable[[Any], bytes] | None = None,
        updateBuffer: Callable[[Any, bytes], None] | None = None,
    ) -> None:
        LineBuffer(max_line_length, splitter)  # validate the arguments now
        if (getBuffer is None) != (updateBuffer is None):
            raise ValueError("getBuffer and updateBuffer go together")
        super().__init__(channel=channel)
        self.splitter = splitter
        self.encoding = encoding
        self.max_line_length = max_line_length
        self.getBuffer = getBuffer
        self.updateBuffer = updateBuffer
        self._buffers: dict[Any, LineBuffer] = {}
        # Connections whose line was too long: read no further until they are gone.
        self._failed: set[Any] = set()

    def _buffer(self, key: Any) -> LineBuffer:
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = LineBuffer(self.max_line_length, self.splitter)
        return buffer

    @handler("read")
    def _on_read(self, event: Event, *args: Any) -> None:
        if len(args) == 1:
            sock, data = None, args[0]
        else:
            sock, data = args[0], args[1]
        if sock in self._failed:
            return  # over-long line: closing, read no further
        buffer = self._buffer(sock)
        if self.getBuffer is not None and sock is not None:
            buffer.rest = self.getBuffer(sock)
        try:
            lines = buffer.feed(data)
        except ValueError as exc:
            self._fail(sock, exc, event.channels)
            return
        if self.updateBuffer is not None and sock is not None:
            self.updateBuffer(sock, buffer.rest)
        for item in lines:
            self.fire(line(item) if sock is None else line(sock, item))

    def _fail(self, sock: Any, exc: ValueError, channels: tuple[Hashable, ...]) -> None:
        """One ``error`` and a close, on the channels the read came from."""
        self._buffers.pop(sock, None)
        self._failed.add(sock)
        if sock is None:
            self.fire(error(exc), *channels)
            self.fire(close(), *channels)
        else:
            self.fire(error(sock, exc), *channels)
            self.fire(close(sock), *channels)

    @handler("disconnect")
    def _on_disconnect(self, sock: Any = None) -> None:
        self._buffers.pop(sock, None)
        self._failed.discard(sock)

    @handler("disconnected")
    def _on_disconnected(self) -> None:
        self._buffers.pop(None, None)
        self._failed.discard(None)
