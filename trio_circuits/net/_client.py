"""Stream clients: TCP, TCP over IPv6 and UNIX sockets, with TLS and starttls; Pipe.

A client's I/O task waits for ``connect`` requests and serves one connection at a
time; ``connected``/``disconnected`` bracket each, so connecting again after
``disconnected`` works.
"""

from __future__ import annotations

import os
import socket
from collections import deque
from collections.abc import Hashable
from typing import Any

import trio

from ..core.components import BaseComponent
from ..core.handlers import handler
from ..core.values import Value
from . import _tls
from ._bind import check_port
from ._connection import Connection
from ._server import HIGH_WATER
from .events import connected, disconnected, error, read, ready, unreachable

_Request = tuple[Any, Any, bool, dict[str, Any]]


class _StreamClient(BaseComponent):
    """Common machinery of the stream clients (internal)."""

    channel: Hashable = "client"

    def __init__(
        self,
        bind: Any = None,
        channel: Hashable = "client",
        connect_timeout: float = 5,
        *,
        high_water: int = HIGH_WATER,
        handshake_timeout: float = _tls.HANDSHAKE_TIMEOUT,
    ) -> None:
        if connect_timeout <= 0:
            raise ValueError("connect_timeout must be > 0")
        super().__init__(channel=channel)
        self._bind = bind
        self.connect_timeout = connect_timeout
        self.high_water = high_water
        self.handshake_timeout = handshake_timeout
        self.host: Any = None
        self.port: Any = None
        self._conn: Connection | None = None
        self._requests: deque[_Request] = deque()
        self._pending: list[bytes] = []
        self._wakeup = trio.Event()
        self._stopping = False

    @property
    def connected(self) -> bool:
        """True while a connection is open."""
        return self._conn is not None and not self._conn.closed

    @property
    def connection(self) -> Connection | None:
        """The open connection, if any."""
        return self._conn

    async def _open(self, host: Any, port: Any) -> trio.abc.Stream:
        raise NotImplementedError

    def _connected_args(self, host: Any, port: Any) -> tuple[Any, Any]:
        return (host, port)

    # -- the I/O task -------------------------------------------------------------------

    async def run_io(self, *, task_status: trio.TaskStatus[Any]) -> None:
        self._stopping = False
        task_status.started(self.fire(ready(self)))
        while not self._stopping:
            if not self._requests:
                self._wakeup = trio.Event()
                await self._wakeup.wait()
                continue
            host, port, secure, tls = self._requests.popleft()
            await self._session(host, port, secure, tls)

    def stop_io(self) -> None:
        self._stopping = True
        self._requests.clear()
        self._wakeup.set()
        if self._conn is not None:
            self._conn.close()

    async def _session(self, host: Any, port: Any, secure: bool, tls: dict[str, Any]) -> None:
        self.host, self.port = host, port
        try:
            with trio.fail_after(self.connect_timeout):
                stream = await self._open(host, port)
        except (OSError, trio.TooSlowError) as exc:
            self.fire(unreachable(host, port, exc))
            self.fire(error(exc))
            return
        conn = Connection(stream, None, self._fire_read, self._fire_error, self.high_water)
        conn.owner = self
        if secure:
            try:
                context = _tls.client_context(
                    tls.get("ca_certs"),
                    tls.get("ssl_context"),
                    tls.get("certfile"),
                    tls.get("keyfile"),
                )
                with trio.fail_after(self.handshake_timeout):
                    tls_stream = await _tls.handshake(
                        stream,
                        context,
                        server_side=False,
                        server_hostname=tls.get("server_hostname") or host,
                    )
                conn._use(tls_stream)
            except (OSError, ValueError, trio.BrokenResourceError, trio.TooSlowError) as exc:
                await trio.aclose_forcefully(stream)
                self.fire(error(exc))
                return
        conn.peer = (host, port)
        self._conn = conn
        pending, self._pending = self._pending, []
        for data in pending:
            conn.write(data)
        try:
            self.fire(connected(*self._connected_args(host, port)))
            await conn.serve()
        finally:
            self._conn = None
            self.fire(disconnected())

    def _fire_read(self, conn: Connection, data: bytes | bytearray) -> Value:
        value = self.fire(read(data))
        value._add_done_callback(self._write_back)
        return value

    def _write_back(self, value: Value) -> None:
        result = value.value
        conn = self._conn
        if isinstance(result, (bytes, bytearray)) and result and conn and not conn.closed:
            conn.write(result)

    def _fire_error(self, conn: Connection, exc: BaseException) -> None:
        self.fire(error(exc))

    # -- handled events -----------------------------------------------------------------

    @handler("connect")
    def _on_connect(self, host: Any, port: Any = None, secure: bool = False, **tls: Any) -> None:
        if self._conn is not None:
            self.fire(error(RuntimeError(f"{self!r} is already connected")))
            return
        self._requests.append((host, port, secure, tls))
        self._wakeup.set()

    @handler("write")
    def _on_write(self, data: bytes) -> None:
        conn = self._conn
        if conn is not None and not conn.closed:
            conn.write(data)
        else:
            self._pending.append(bytes(data))

    @handler("close", "disconnect")
    def _on_close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    @handler("starttls")
    def _on_starttls(self, ca_certs: str | None = None, **tls: Any) -> None:
        conn = self._conn
        if conn is None:
            self.fire(error(RuntimeError("starttls needs a connection")))
            return
        try:
            context = _tls.client_context(ca_certs, tls.get("ssl_context"))
        except (OSError, ValueError) as exc:
            self.fire(error(exc))
            return
        hostname = tls.get("server_hostname") or self.host
        timeout = self.handshake_timeout

        async def upgrade(stream: trio.abc.Stream) -> trio.SSLStream[Any]:
            with trio.fail_after(timeout):
                return await _tls.handshake(
                    stream, context, server_side=False, server_hostname=hostname
                )

        conn.start_tls(upgrade)


class TCPClient(_StreamClient):
    """A TCP client (default channel ``"client"``).

    Args:
        bind: a local host address to connect from (or ``None``).
        channel: the channel of its events.
        connect_timeout: seconds a connect may take before ``unreachable``.

    Handles ``connect(host, port, secure=False, ca_certs=None, ssl_context=None,
    server_hostname=None)`` (TLS verifies the server by default), ``write(data)``,
    ``close()``/``disconnect()`` and ``starttls()``; fires ``ready(client)``,
    ``connected(host, port)``, ``read(data)``, ``disconnected()``, ``error(err)`` and
    ``unreachable(host, port, reason)`` (at once on a refusal or a DNS failure).
    A ``read`` handler that returns bytes has them written back.
    """

    def __init__(
        self,
        bind: Any = None,
        channel: Hashable = "client",
        connect_timeout: float = 5,
        **kwargs: Any,
    ) -> None:
        if bind is not None and not isinstance(bind, (str, tuple)):
            raise TypeError(f"bind must be a host or (host, port), not {bind!r}")
        super().__init__(bind, channel, connect_timeout, **kwargs)

    async def _open(self, host: Any, port: Any) -> trio.abc.Stream:
        check_port(port)
        local = self._bind[0] if isinstance(self._bind, tuple) else self._bind
        return await trio.open_tcp_stream(host, port, local_address=local)


class TCP6Client(TCPClient):
    """A TCP client for IPv6 peers (``connect("::1", port)``); see :class:`TCPClient`."""


class UNIXClient(_StreamClient):
    """A UNIX-socket client: ``connect(path)``; fires ``connected(hostname, path)``.

    Given ``bind=`` an already connected socket (see :func:`Pipe`), it serves that
    socket as soon as it starts.
    """

    async def run_io(self, *, task_status: trio.TaskStatus[Any]) -> None:
        if isinstance(self._bind, socket.socket):
            adopted, self._bind = self._bind, None
            self._requests.appendleft((adopted, None, False, {}))
        await super().run_io(task_status=task_status)

    async def _open(self, host: Any, port: Any) -> trio.abc.Stream:
        if isinstance(host, socket.socket):
            return trio.SocketStream(trio.socket.from_stdlib_socket(host))
        return await trio.open_unix_socket(os.fspath(host))

    def _connected_args(self, host: Any, port: Any) -> tuple[Any, Any]:
        path = None if isinstance(host, socket.socket) else host
        return (socket.gethostname(), path)


def Pipe(*channels: Hashable, **kwargs: Any) -> tuple[UNIXClient, UNIXClient]:
    """Two connected :class:`UNIXClient` s on ``channels`` (default ``("a", "b")``).

    What one writes the other reads; each fires ``connected`` once it starts.
    """
    if not channels:
        channels = ("a", "b")
    if len(channels) != 2:
        raise ValueError("Pipe takes two channels")
    left, right = socket.socketpair()
    return (
        UNIXClient(left, channel=channels[0], **kwargs),
        UNIXClient(right, channel=channels[1], **kwargs),
    )


__all__ = ["Pipe", "TCP6Client", "TCPClient", "UNIXClient"]
