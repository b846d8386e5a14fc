"""Connections to one Redis server on Trio: a :class:`~.transport.Transport` and a
:class:`~.resp.Conversation`, used in one of two ways.

* :class:`RedisConnection`, request by request: one task sends a request and reads
  its replies.  A blocking reader's connection works this way.
* :class:`PipelinedConnection`: any code sends requests at once, without waiting
  (on a plain socket the request is on the wire before the caller yields); the
  replies are handed, in order, to each request's callback, by
  :meth:`~PipelinedConnection.receive_nowait` (what has arrived, from the calling
  code) or by one task, :meth:`~PipelinedConnection.confirm`, which reads them as
  they come while :meth:`~PipelinedConnection.watch` asks it to.  The bridge's
  write connection works this way: a process that waits for nothing but a remote
  call's answer is not woken up for the confirmation of its request.

A request that is cancelled or fails half-way closes the connection at once (its
replies could never be told from the next request's); every later request raises
:class:`~.resp.ConnectionLost`.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable
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
from .transport import RECEIVE_SIZE, Transport, open_transport

__all__ = ["PipelinedConnection", "RedisConnection", "Replies"]

#: What a pipelined request's replies are handed to.
Replies = Callable[[list[Any]], None]

_LOST = (OSError, trio.BrokenResourceError, trio.ClosedResourceError)


def _lost(exc: BaseException) -> BaseException:
    """A transport error as :class:`ConnectionLost`; anything else as it is."""
    if isinstance(exc, _LOST) and not isinstance(exc, RedisError):
        return ConnectionLost(f"the connection to Redis failed: {exc!r}")
    return exc


class RedisConnection:
    """One connection to Redis, request by request: each request's replies, in order.

    Open one with :meth:`open`.

    Args:
        transport: the connected socket.
    """

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._conversation = Conversation()

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
        transport = await open_transport(url, ssl_context)
        try:
            connection = cls(transport)
            handshake = url.handshake()
            if handshake:
                for reply in await connection.execute(handshake):
                    if isinstance(reply, ReplyError):
                        raise reply
            return connection
        except BaseException:
            transport.close()
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
        """:meth:`execute` for ``count`` commands already packed.

        Cancellation: as :meth:`execute`.
        """
        conversation = self._conversation
        data = conversation.request(packed, count)
        transport = self._transport
        try:
            await transport.send_all(data)
            while True:
                done = conversation.receive(await transport.receive())
                if done:
                    return done[0][1]
        except BaseException as exc:
            self._conversation.abandon()
            transport.close()
            lost = _lost(exc)
            if lost is exc:
                raise
            raise lost from exc

    def pipelined(self) -> PipelinedConnection:
        """This connection, to be used pipelined from now on (not through ``self``)."""
        return PipelinedConnection(self._transport, self._conversation)

    async def aclose(self) -> None:
        """Close the connection (at once: nothing is waited for).

        Cancellation: it is closed all the same.
        """
        self._conversation.abandon()
        await self._transport.aclose()


class PipelinedConnection:
    """One connection to Redis whose requests are sent without waiting (see the module).

    Run :meth:`drain` and :meth:`confirm` as background tasks.

    Args:
        transport: the connected socket.
        conversation: its protocol state (nothing outstanding).
    """

    def __init__(self, transport: Transport, conversation: Conversation) -> None:
        self._transport = transport
        self._conversation = conversation
        self._out = bytearray()  # what the socket did not take at once, for drain()
        self._out_ready = trio.Event()
        self._watch = trio.Event()
        self._failure: BaseException | None = None

    def send_nowait(self, packed: bytes, count: int, replies: Replies) -> None:
        """Send a request of ``count`` packed commands now, without waiting.

        What the socket does not take at once is sent by :meth:`drain`; the replies
        go to ``replies(list)``.  A failure does not raise here: the connection
        closes and :meth:`confirm` raises it.
        """
        try:
            data = self._conversation.request(packed, count, replies)
        except ConnectionLost:
            return  # already failed: confirm() reports it
        transport = self._transport
        if self._out or transport.tls:
            self._out += data
            self._out_ready.set()
            return
        try:
            sent = transport.send_nowait(data)
        except OSError as exc:
            self._fail(exc)
            return
        if sent < len(data):
            self._out += memoryview(data)[sent:]
            self._out_ready.set()

    def watch(self) -> None:
        """Have :meth:`confirm` read replies as they come, until none is outstanding."""
        self._watch.set()

    def receive_nowait(self) -> None:
        """Hand out the replies that have arrived already, without waiting.

        Plain sockets only (a TLS connection is read by :meth:`confirm` alone).  A
        failure (or a callback's exception) does not raise here: the connection
        closes and :meth:`confirm` raises it.
        """
        transport = self._transport
        if transport.tls or self._failure is not None or not self._conversation.outstanding:
            return
        try:
            while True:
                data = transport.receive_nowait()
                if data is None:
                    return
                self._hand_out(data)
                if len(data) < RECEIVE_SIZE:
                    return
        except Exception as exc:
            self._fail(exc)

    def _hand_out(self, data: bytes | bytearray) -> None:
        for replies, values in self._conversation.receive(data):
            replies(values)

    async def drain(self) -> None:
        """Send what :meth:`send_nowait` could not, until cancelled.

        Raises:
            ConnectionLost: the connection failed.

        Cancellation: bytes not yet sent stay unsent (the connection is replaced).
        """
        transport = self._transport
        out = self._out
        try:
            while True:
                await self._out_ready.wait()
                self._out_ready = trio.Event()
                while out:
                    if transport.tls:
                        # send_nowait always appends on TLS: taking the bytes out
                        # cannot let later ones overtake them.
                        data = bytes(out)
                        out.clear()
                        await transport.send_all(data)
                        continue
                    # Plain: the bytes stay in ``out`` until the socket took them, so
                    # that send_nowait keeps appending behind them meanwhile.
                    await transport.wait_writable()
                    del out[: transport.send_nowait(out)]
        except BaseException as exc:
            self._fail(exc)
            lost = _lost(exc)
            if lost is exc:
                raise
            raise lost from exc

    async def confirm(self) -> None:
        """Read the replies of the requests while watched, until cancelled.

        Each request's replies go to its callback, in the order the requests were
        sent; an exception raised by a callback ends the loop (and the connection).
        It reads while :meth:`watch` asks it to (a TLS connection: always) and
        stops watching once no request is outstanding.

        Raises:
            ConnectionLost: the connection failed (or a send failed earlier).

        Cancellation: the connection is closed.
        """
        conversation = self._conversation
        always = self._transport.tls
        try:
            while True:
                if self._failure is not None:
                    raise ConnectionLost(f"the connection to Redis failed: {self._failure!r}")
                if always or (conversation.outstanding and self._watch.is_set()):
                    self._hand_out(await self._transport.receive())
                    continue
                if not conversation.outstanding:
                    self._watch = trio.Event()  # watching ends with the last reply
                await self._watch.wait()
        except BaseException as exc:
            failure = self._failure
            self._fail(exc)
            if failure is not None and isinstance(exc, (*_LOST, RedisError)):
                raise ConnectionLost(f"the connection to Redis failed: {failure!r}") from exc
            lost = _lost(exc)
            if lost is exc:
                raise
            raise lost from exc

    def _fail(self, exc: BaseException) -> None:
        if self._failure is None:
            self._failure = exc
        self._conversation.abandon()
        self._transport.close()
        self._watch.set()  # confirm() wakes up and raises

    async def aclose(self) -> None:
        """Close the connection (at once: nothing is waited for).

        Cancellation: it is closed all the same.
        """
        self._conversation.abandon()
        await self._transport.aclose()
