"""Stream clients: TCP, TCP over IPv6 and UNIX sockets, with TLS and starttls; Pipe.

A client's I/O task waits for ``connect`` requests and serves one connection at a
time; ``connected``/``disconnected`` bracket each, so connecting again after
``disconnected`` works.  A connect that fails -- refused, timed out, a name that
does not resolve, a TLS handshake that fails -- fires ``error(err)`` and
``unreachable(host, port, err)`` and leaves no socket open.
"""

from __future__ import annotations

import os
import socket
from collections import deque
from collections.abc import Hashable
from typing import Any

import trio

from ..core.components import BaseComponent
from ..core.events import Event, exception
from ..core.flow import Intake, IOStatus, cascade_root
from ..core.handlers import handler
from ..core.values import Value
from . import _tls
from ._bind import check_options, check_port
from ._connection import Connection
from ._errors import named
from ._settings import HIGH_WATER, Settings
from ._streamed import StreamDriver
from .events import (
    connected,
    disconnected,
    drain,
    eof,
    error,
    read,
    ready,
    unreachable,
)

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
        idle_timeout: float | None = None,
        close_timeout: float = 5.0,
        drain_timeout: float | None = None,
        send_timeout: float | None = 60.0,
        max_buffered: int | None = None,
        slow_receivers: str = "auto",
        half_close: bool = False,
        socket_options: list[tuple[int, int, Any]] | None = None,
    ) -> None:
        if connect_timeout <= 0:
            raise ValueError("connect_timeout must be > 0")
        self._settings = Settings(
            high_water,
            idle_timeout,
            close_timeout,
            handshake_timeout,
            drain_timeout,
            send_timeout,
            max_buffered,
            slow_receivers,
            half_close,
        )
        self._options = check_options(socket_options)
        super().__init__(channel=channel)
        self._bind = bind
        self.connect_timeout = connect_timeout
        self.host: Any = None
        self.port: Any = None
        self._conn: Connection | None = None
        self._requests: deque[_Request] = deque()
        self._pending: list[bytes] = []  # written before a connection was made
        self._pending_size = 0
        self._eof_pending = False  # send_eof() before the connection was made
        self._attempted = trio.Event()  # set as each connect attempt ends
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

    @property
    def high_water(self) -> int:
        """The connection stops being read while more bytes than this are queued."""
        return self._settings.high_water

    async def _open(self, host: Any, port: Any) -> trio.SocketStream:
        raise NotImplementedError

    def _connected_args(self, host: Any, port: Any) -> tuple[Any, Any]:
        return (host, port)

    # -- the Endpoint of its connection --------------------------------------------------

    def read_event(self, conn: Connection, data: bytes | bytearray) -> Event:
        """``read(data)``."""
        return read(data)

    def error_event(self, conn: Connection, exc: BaseException) -> Event:
        """``error(err)``."""
        return error(exc)

    def drain_event(self, conn: Connection) -> Event:
        """``drain(sock)``."""
        return drain(conn)

    def eof_event(self, conn: Connection) -> Event:
        """``eof()``."""
        return eof()

    @property
    def can_start_tls(self) -> bool:
        """Always True: a client may upgrade a plaintext connection (``starttls()``)."""
        return True

    # -- the I/O task -------------------------------------------------------------------

    async def run_io(self, *, task_status: IOStatus) -> None:
        """Serve ``connect`` requests one at a time until closed."""
        self._stopping = False
        task_status.started(self.fire(ready(self)))
        while not self._stopping:
            if not self._requests:
                self._wakeup = trio.Event()
                await self._wakeup.wait()
                continue
            host, port, secure, tls = self._requests.popleft()
            await self._session(host, port, secure, tls, task_status.intake)

    def stop_io(self) -> None:
        """Drop pending connects; flush and close the connection."""
        self._stopping = True
        self._requests.clear()
        self._wakeup.set()
        self._attempt_ended()
        if self._conn is not None:
            self._conn.close()

    async def _session(
        self, host: Any, port: Any, secure: bool, tls: dict[str, Any], intake: Intake
    ) -> None:
        self.host, self.port = host, port
        try:
            with trio.fail_after(self.connect_timeout):
                stream = await self._open(host, port)
        except (OSError, trio.TooSlowError) as exc:
            self._unreachable(host, port, named(exc, host, port, self.connect_timeout))
            return
        conn = Connection(stream, (host, port), self, self._settings, intake)
        if secure:
            try:
                await self._handshake(conn, stream, host, tls)
            except (OSError, ValueError, trio.BrokenResourceError, trio.TooSlowError) as exc:
                await trio.aclose_forcefully(stream)
                self._unreachable(host, port, exc, tls=True)
                return
        self._conn = conn
        pending, self._pending, self._pending_size = self._pending, [], 0
        for data in pending:
            conn.write(data)
        if self._eof_pending:
            self._eof_pending = False
            conn.send_eof()
        self._attempt_ended()
        try:
            self.fire(connected(*self._connected_args(host, port)))
            await StreamDriver(conn).serve()
        finally:
            self._conn = None
            self.fire(disconnected())

    def _unreachable(self, host: Any, port: Any, exc: BaseException, tls: bool = False) -> None:
        """A connect attempt failed: ``unreachable`` and ``error`` (in circuits' order;
        ``error`` first for a TLS handshake), reported on stderr if nobody handles
        either (SPEC 5.2: no failure is silent)."""
        if tls:
            first, second = self.fire(error(exc)), self.fire(unreachable(host, port, exc))
        else:
            first, second = self.fire(unreachable(host, port, exc)), self.fire(error(exc))
        self._eof_pending = False
        self._attempt_ended()

        def report(_: Value) -> None:
            if first.unhandled and second.unhandled:
                root = self.root
                # No traceback: the message says what failed; where it failed is ours.
                root.fire(exception(type(exc), exc, [], handler=None, fevent=second.event))

        second.on_done(report)

    async def _handshake(
        self, conn: Connection, stream: trio.SocketStream, host: Any, tls: dict[str, Any]
    ) -> None:
        context = _tls.client_context(
            tls.get("ca_certs"), tls.get("ssl_context"), tls.get("certfile"), tls.get("keyfile")
        )
        with trio.fail_after(self._settings.handshake_timeout):
            conn.use(
                await _tls.handshake(
                    stream,
                    context,
                    server_side=False,
                    server_hostname=tls.get("server_hostname") or host,
                )
            )

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
            self._pending_size += len(data)
            if self._pending_size > self.high_water and cascade_root() is not None:
                self.fire(drain(None))  # held until a connection takes it

    @handler("drain")
    async def _on_drain(self, sock: Any) -> None:
        if sock is None:  # written before a connection was made
            if self._pending:
                await self._attempted.wait()
            sock = self._conn
        if isinstance(sock, Connection) and sock is self._conn:
            await sock.hold_until_drained()

    def _attempt_ended(self) -> None:
        """A connect attempt has ended (or the client stops): pending holds go on."""
        ended, self._attempted = self._attempted, trio.Event()
        ended.set()

    @handler("close", "disconnect")
    def _on_close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    @handler("send_eof")
    def _on_send_eof(self) -> None:
        if self._conn is not None:
            self._conn.send_eof()
        elif self._pending or self._requests:
            self._eof_pending = True  # after what was written, once connected

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
        timeout = self._settings.handshake_timeout

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
        high_water, handshake_timeout, idle_timeout, close_timeout, drain_timeout: as for
            :class:`~trio_circuits.net.sockets.TCPServer`.
        socket_options: ``(level, option, value)`` triples set on the socket before
            it connects.

    Handles ``connect(host, port, secure=False, ca_certs=None, ssl_context=None,
    server_hostname=None)`` (TLS verifies the server by default), ``write(data)``,
    ``close()``/``disconnect()`` and ``starttls()``; fires ``ready(client)``,
    ``connected(host, port)``, ``read(data)``, ``disconnected()``, ``error(err)`` and
    ``unreachable(host, port, reason)`` (at once on a refusal or a DNS failure, and
    after ``error`` when a TLS handshake fails).  A ``read`` handler that returns bytes
    has them written back.
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

    async def _open(self, host: Any, port: Any) -> trio.SocketStream:
        check_port(port)
        local = self._bind[0] if isinstance(self._bind, tuple) else self._bind
        if not self._options:
            return await trio.open_tcp_stream(host, port, local_address=local)
        return await _connect_with_options(host, port, local, self._options)


class TCP6Client(TCPClient):
    """A TCP client for IPv6 peers (``connect("::1", port)``); see :class:`TCPClient`."""


class UNIXClient(_StreamClient):
    """A UNIX-socket client: ``connect(path)``; fires ``connected(hostname, path)``.

    Given ``bind=`` an already connected socket (see :func:`Pipe`), it serves that
    socket as soon as it starts.
    """

    async def run_io(self, *, task_status: IOStatus) -> None:
        """Serve the adopted socket (if any), then ``connect`` requests."""
        if isinstance(self._bind, socket.socket):
            adopted, self._bind = self._bind, None
            self._requests.appendleft((adopted, None, False, {}))
        await super().run_io(task_status=task_status)

    async def _open(self, host: Any, port: Any) -> trio.SocketStream:
        if isinstance(host, socket.socket):
            return trio.SocketStream(trio.socket.from_stdlib_socket(host))
        sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            for level, name, value in self._options:
                sock.setsockopt(level, name, value)
            await sock.connect(os.fspath(host))
        except BaseException:
            sock.close()
            raise
        return trio.SocketStream(sock)

    def _connected_args(self, host: Any, port: Any) -> tuple[Any, Any]:
        path = None if isinstance(host, socket.socket) else host
        return (socket.gethostname(), path)


async def _connect_with_options(
    host: str, port: int, local: str | None, options: list[tuple[int, int, Any]]
) -> trio.SocketStream:
    """Connect to the first address of ``host`` that answers, with ``options`` set."""
    infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    failure: OSError | None = None
    for family, kind, proto, _name, address in infos:
        sock = trio.socket.socket(family, kind, proto)
        try:
            for level, name, value in options:
                sock.setsockopt(level, name, value)
            if local is not None:
                await sock.bind((local, 0))
            await sock.connect(address)
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        except BaseException:
            sock.close()
            raise
        return trio.SocketStream(sock)
    raise failure or OSError(f"no address for {host!r}")


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
