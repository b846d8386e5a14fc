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
    the unfinished rest, exceeds ``max_line_length`` bytes.
    """

    def __init__(self, max_line_length: int = 65536, splitter: Splitter | None = None) -> None:
        if isinstance(max_line_length, bool) or not isinstance(max_line_length, int):
            raise TypeError("max_line_length must be an int")
        if max_line_length < 1:
            raise ValueError("max_line_length must be >= 1")
        if splitter is not None and not callable(splitter):
            raise TypeError("splitter must be callable")
        self.max_line_length = max_line_length
        self.splitter: Splitter = splitter or split_lines
        self.rest = b""

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data``; return the lines it completes."""
        lines, rest = self.splitter(data, self.rest)
        limit = self.max_line_length
        if len(rest) > limit or any(len(x) > limit for x in lines):
            self.rest = b""
            raise ValueError(f"line longer than {limit} bytes")
        self.rest = rest
        return lines


class Line(BaseComponent):
    """Split ``read`` events on its channel into ``line`` events, in order.

    Args:
        channel: the channel to listen on and fire ``line`` on (usually the socket
            component's).
        splitter: ``splitter(data, buffer) -> (lines, rest)``, replacing the default
            ``\\r?\\n`` splitting.
        encoding: kept for circuits compatibility; lines stay bytes.
        max_line_length: a longer line fires ``error(sock, ValueError)`` (client:
            ``error(ValueError)``) and closes that connection only.
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

    def _buffer(self, key: Any) -> LineBuffer:
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = LineBuffer(self.max_line_length, self.splitter)
        return buffer

    @handler("read")
    def _on_read(self, *args: Any) -> None:
        if len(args) == 1:
            sock, data = None, args[0]
        else:
            sock, data = args[0], args[1]
        buffer = self._buffer(sock)
        if self.getBuffer is not None and sock is not None:
            buffer.rest = self.getBuffer(sock)
        try:
            lines = buffer.feed(data)
        except ValueError as exc:
            self._buffers.pop(sock, None)
            if sock is None:
                self.fire(error(exc))
                self.fire(close())
            else:
                self.fire(error(sock, exc))
                self.fire(close(sock))
            return
        if self.updateBuffer is not None and sock is not None:
            self.updateBuffer(sock, buffer.rest)
        for item in lines:
            self.fire(line(item) if sock is None else line(sock, item))

    @handler("disconnect")
    def _on_disconnect(self, sock: Any = None) -> None:
        self._buffers.pop(sock, None)

    @handler("disconnected")
    def _on_disconnected(self) -> None:
        self._buffers.pop(None, None)
