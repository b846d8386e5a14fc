"""The Line protocol: turn ``read`` data into ``line`` events.

The splitting is a pure class (:class:`LineBuffer`), unit-tested without sockets; the
:class:`Line` component keeps one buffer per connection and drops it on
``disconnect``.

One read may hold thousands of lines.  Firing them all at once would let one peer
fill the queue (everyone else's events wait behind them) and, if each line is
answered, queue megabytes of output that nothing can hold back any more.  So
:class:`Line` fires a read's lines in batches of :data:`BATCH`: the next batch is
fired once the previous one has been dispatched, and once the connection's queued
output is back under its bound (``Connection.congested``); while many connections
have lines waiting, their batches share :data:`BUDGET` lines in the queue.  The batches belong to
the read's cascade, so the connection reads nothing more until the last one has
been handled (SPEC 5.1).

starttls (CVE-2011-0411): on a connection that may still start TLS (a plaintext
server connection whose server has a certificate for ``starttls``, or a client),
lines are fired one at a time, each once the previous one's cascade has completed.
Once a ``starttls`` has been handled, the rest of that read and the unfinished line
are dropped: nothing received in plaintext is handled after it.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

import trio

from ..core.components import BaseComponent
from ..core.events import Event
from ..core.handlers import handler
from ..net.events import close, error

__all__ = ["BATCH", "Line", "LineBuffer", "line", "more_lines", "split_lines"]

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


class more_lines(Event):
    """Line's own: fire the next batch of a read's lines (``more_lines(sock, line)``)."""


#: Lines fired at once, at most; the next batch waits until these are dispatched.
BATCH = 128
#: Lines all of a Line's connections may have fired and not yet dispatched: while
#: many connections flood it, each one's batches shrink (to 8 lines at least), so that
#: a well-behaved connection's line waits behind a short queue.
BUDGET = 1024


class _Feed:
    """One connection's lines: its buffer, and the lines of its reads still to fire."""

    __slots__ = ("buffer", "careful", "last", "pending", "running", "upgraded")

    def __init__(self, buffer: LineBuffer, careful: bool) -> None:
        self.buffer = buffer
        self.careful = careful  # one line at a time: the connection may start TLS
        self.pending: deque[bytes] = deque()
        self.running = False  # a ``more_lines`` is on its way
        self.upgraded = False  # a starttls was handled: plaintext is dropped
        self.last: trio.Event | None = None  # careful: the last line's cascade

    def drop(self) -> None:
        """starttls: forget every byte received in plaintext."""
        self.pending.clear()
        self.buffer.rest = b""
        self.upgraded = True


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

    A read's lines are fired in batches of :data:`BATCH`, each once the previous one
    has been dispatched and the connection's output is under its bound; see the
    module docs (and for starttls).
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
        self._feeds: dict[Any, _Feed] = {}
        self._running = 0  # feeds with a ``more_lines`` on its way
        # Connections whose line was too long: read no further until they are gone.
        self._failed: set[Any] = set()

    def _feed(self, key: Any) -> _Feed:
        feed = self._feeds.get(key)
        if feed is None:
            # A client's reads carry no sock: a client may always start TLS.
            careful = key is None or bool(getattr(key, "may_start_tls", False))
            buffer = LineBuffer(self.max_line_length, self.splitter)
            feed = self._feeds[key] = _Feed(buffer, careful)
        return feed

    @handler("read")
    def _on_read(self, event: Event, *args: Any) -> None:
        if len(args) == 1:
            sock, data = None, args[0]
        else:
            sock, data = args[0], args[1]
        if sock in self._failed:
            return  # over-long line: closing, read no further
        feed = self._feed(sock)
        if feed.upgraded:
            feed.upgraded = False  # this read came after the handshake
            feed.careful = False
        buffer = feed.buffer
        if self.getBuffer is not None and sock is not None:
            buffer.rest = self.getBuffer(sock)
        try:
            lines = buffer.feed(data)
        except ValueError as exc:
            self._fail(sock, exc, event.channels)
            return
        if self.updateBuffer is not None and sock is not None:
            self.updateBuffer(sock, buffer.rest)
        if not lines:
            return
        if feed.running or len(lines) > (1 if feed.careful else BATCH):
            feed.pending.extend(lines)
            if not feed.running:
                self._next_batch(sock, feed)
            return
        fire = self.fire
        if sock is None:
            for item in lines:
                fire(line(item))
        else:
            for item in lines:
                fire(line(sock, item))

    def _next_batch(self, sock: Any, feed: _Feed) -> None:
        """Fire the next batch of ``feed``'s pending lines, and ``more_lines`` if any remain."""
        pending = feed.pending
        fire = self.fire
        count = 1 if feed.careful else max(8, min(BATCH, BUDGET // (self._running + 1)))
        for _ in range(min(count, len(pending))):
            item = pending.popleft()
            value = fire(line(item) if sock is None else line(sock, item))
        if feed.careful:
            done = feed.last = trio.Event()
            value.on_complete(lambda _: done.set())
        self._set_running(feed, bool(pending))
        if pending:
            fire(more_lines(sock, self))

    @handler("more_lines")
    async def _on_more_lines(self, sock: Any, owner: Any) -> None:
        feed = self._feeds.get(sock)
        if owner is not self or feed is None or not feed.running:
            return
        if feed.careful and feed.last is not None:
            await feed.last.wait()  # its cascade has run: a starttls would have
        if getattr(sock, "congested", False):
            await sock.wait_drained()
        if not feed.pending:
            self._set_running(feed, False)  # dropped meanwhile (starttls)
            return
        self._next_batch(sock, feed)

    @handler("starttls")
    def _on_starttls(self, sock: Any = None) -> None:
        feed = self._feeds.get(sock)
        if feed is not None:
            feed.drop()

    def _fail(self, sock: Any, exc: ValueError, channels: tuple[Hashable, ...]) -> None:
        """One ``error`` and a close, on the channels the read came from."""
        self._forget(sock)
        self._failed.add(sock)
        if sock is None:
            self.fire(error(exc), *channels)
            self.fire(close(), *channels)
        else:
            self.fire(error(sock, exc), *channels)
            self.fire(close(sock), *channels)

    @handler("disconnect")
    def _on_disconnect(self, sock: Any = None) -> None:
        self._forget(sock)

    @handler("disconnected")
    def _on_disconnected(self) -> None:
        self._forget(None)

    def _set_running(self, feed: _Feed, running: bool) -> None:
        if running != feed.running:
            feed.running = running
            self._running += 1 if running else -1

    def _forget(self, sock: Any) -> None:
        feed = self._feeds.pop(sock, None)
        if feed is not None:
            feed.pending.clear()
            self._set_running(feed, False)
        self._failed.discard(sock)
