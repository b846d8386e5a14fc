"""A connection to one Redis server on Trio: a stream and a :class:`~.resp.Conversation`.

Plain TCP and UNIX sockets are used through their Trio socket directly; ``rediss://``
goes through :class:`trio.SSLStream`.  One task uses a connection at a time (the
bridge gives each reader its own, and one to writes).
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import trio

from .resp import (
    Command,
    ConnectionLost,
    Conversation,
    RedisError,
    RedisURL,
    ReplyError,
    State,
    pack,
)

__all__ = ["RedisConnection"]

#: The most bytes taken from the socket at once.
RECEIVE_SIZE = 65_536

_LOST = (OSError, trio.BrokenResourceError, trio.ClosedResourceError)


class RedisConnection:
    """One connection to Redis: requests go out, their replies come back, in order.

    Open one with :meth:`open`.  Every request is one round trip: a command, or a
    pipeline of commands sent together.  A request that is cancelled or fails
    half-way closes the connection at once (its replies can never be told from the
    next request's); every later request raises :class:`~.resp.ConnectionLost`.

    Args:
        stream: the transport (a socket stream, or an SSL stream over one).
        sock: the Trio socket underneath.
        tls: True if ``stream`` is an :class:`trio.SSLStream`.
    """

    def __init__(self, stream: trio.abc.Stream, sock: trio.socket.SocketType, tls: bool) -> None:
        self._stream = stream
        self._socket = sock
        self._conversation = Conversation()
        self._send: Callable[[bytes], Awaitable[None]]
        self._receive: Callable[[int], Awaitable[bytes | bytearray]]
        if tls:
            self._send = stream.send_all
            self._receive = stream.receive_some
        else:
            self._send = self._send_plain
            self._receive = sock.recv

    @classmethod
    async def open(
        cls, url: RedisURL, *, ssl_context: ssl.SSLContext | None = None
    ) -> RedisConnection:
        """Connect to ``url``'s server, TLS and ``AUTH``/``SELECT`` included.

        Put a time limit on it with a cancel scope (``trio.fail_after``).

        Args:
            url: where, and how to authenticate.
            ssl_context: for ``rediss://`` (default: from the URL's parameters).

        Raises:
            OSError: the server cannot be reached (``ConnectionRefusedError``...).
            ConnectionLost: the TLS handshake failed.
            ReplyError: ``AUTH`` or ``SELECT`` was refused.

        Cancellation: nothing is left open.
        """
        if url.path is not None:
            stream = await trio.open_unix_socket(url.path)
        else:
            stream = await trio.open_tcp_stream(url.host, url.port)
        sock = stream.socket
        try:
            transport: trio.abc.Stream = stream
            if url.tls:
                context = ssl_context if ssl_context is not None else url.ssl_context()
                tls = trio.SSLStream(stream, context, server_hostname=url.host)
                try:
                    await tls.do_handshake()
                except trio.BrokenResourceError as exc:
                    reason = exc.__cause__ if exc.__cause__ is not None else exc
                    raise ConnectionLost(f"TLS with {url.where} failed: {reason}") from exc
                transport = tls
            connection = cls(transport, sock, url.tls)
            handshake = url.handshake()
            if handshake:
                for reply in await connection.execute(handshake):
                    if isinstance(reply, ReplyError):
                        raise reply
            return connection
        except BaseException:
            sock.close()
            raise

    @property
    def usable(self) -> bool:
        """False once a request was abandoned or failed (the connection is closed)."""
        return self._conversation.state is not State.BROKEN

    async def execute(self, commands: Iterable[Command]) -> list[Any]:
        """Send ``commands`` as one pipeline; return their replies, in order.

        Error replies are :class:`~.resp.ReplyError` instances in the list.

        Raises:
            ConnectionLost: the connection failed (now or earlier).

        Cancellation: the connection is closed; Redis may have run some of the commands.
        """
        packed, count = pack(commands)
        return await self.execute_packed(packed, count)

    async def execute_packed(self, packed: bytes, count: int) -> list[Any]:
        """:meth:`execute` for commands already packed (``count`` of them)."""
        conversation = self._conversation
        data = conversation.request(packed, count)
        try:
            await self._send(data)
            receive = self._receive
            while True:
                replies = conversation.receive(await receive(RECEIVE_SIZE))
                if replies is not None:
                    return replies
        except BaseException as exc:
            conversation.abandon()
            self._socket.close()
            if isinstance(exc, _LOST) and not isinstance(exc, RedisError):
                raise ConnectionLost(f"the connection to Redis failed: {exc!r}") from exc
            raise

    async def _send_plain(self, data: bytes) -> None:
        sock = self._socket
        total = len(data)
        sent = await sock.send(data)
        if sent < total:
            view = memoryview(data)
            while sent < total:
                sent += await sock.send(view[sent:])

    async def aclose(self) -> None:
        """Close the connection (at once: nothing is waited for).

        Cancellation: it is closed all the same.
        """
        self._conversation.abandon()
        await trio.aclose_forcefully(self._stream)
