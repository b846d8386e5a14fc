"""Stream servers: TCP, TCP over IPv6, UNIX sockets; optional TLS and starttls.

Each server runs, under its component's cancel scope, one accept loop per listener
and one task per connection (:class:`~._connection.Connection`), the connection
tasks in a nursery of their own so that stopping the accept loops never cuts
connections short.  Closing (``close()``, unregistering, or stopping the
application) stops accepting, closes the listeners, flushes and closes every
connection, then fires ``closed()``.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import ssl
import stat
from collections.abc import Hashable
from typing import Any

import trio

from ..core.components import BaseComponent
from ..core.handlers import handler
from ..core.values import Value
from . import _tls
from ._bind import parse_inet, parse_unix
from ._connection import Connection
from .events import closed, connect, disconnect, error, read, ready

log = logging.getLogger("trio_circuits.net")

_ACCEPT_RETRY = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}
# Stop reading a connection while more than this is queued for it: asyncio's
# default too.  Memory per connection stays near one read, as with a plain
# ``receive_some``/``send_all`` loop, and a socket's own send buffer keeps it busy.
HIGH_WATER = 1 << 16


class _StreamServer(BaseComponent):
    """Common machinery of the stream servers (internal)."""

    channel: Hashable = "server"

    def __init__(
        self,
        bind: Any,
        secure: bool = False,
        backlog: int = 5000,
        channel: Hashable = "server",
        *,
        certfile: str | None = None,
        keyfile: str | None = None,
        ca_certs: str | None = None,
        cert_reqs: ssl.VerifyMode | int | None = None,
        ssl_context: ssl.SSLContext | None = None,
        high_water: int = HIGH_WATER,
        handshake_timeout: float = _tls.HANDSHAKE_TIMEOUT,
    ) -> None:
        self._address = self._parse(bind)
        self._tls = _tls.server_context(certfile, keyfile, ca_certs, cert_reqs, ssl_context)
        if secure and self._tls is None:
            raise ValueError("secure=True needs a certfile (and keyfile) or an ssl_context")
        if not isinstance(backlog, int) or backlog < 1:
            raise ValueError(f"backlog must be a positive int, not {backlog!r}")
        if high_water < 1:
            raise ValueError("high_water must be >= 1")
        super().__init__(channel=channel)
        self.secure = secure
        self.backlog = backlog
        self.high_water = high_water
        self.handshake_timeout = handshake_timeout
        self._listeners: list[trio.SocketListener] = []
        self._connections: set[Connection] = set()
        self._accepting: trio.CancelScope | None = None
        self._closing = False

    def _parse(self, bind: Any) -> Any:
        raise NotImplementedError

    async def _listen(self) -> list[trio.SocketListener]:
        raise NotImplementedError

    def _connect_args(self, conn: Connection) -> tuple[Any, ...]:
        return (conn, *conn.peer[:2])

    # -- state --------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Always True for a server (as circuits)."""
        return True

    @property
    def connections(self) -> frozenset[Connection]:
        """The open connections."""
        return frozenset(self._connections)

    def _sockname(self) -> Any:
        if not self._listeners:
            return None
        return self._listeners[0].socket.getsockname()

    @property
    def host(self) -> Any:
        """The bound host (``None`` until ready and after closing)."""
        name = self._sockname()
        return None if name is None else name[0]

    @property
    def port(self) -> Any:
        """The bound port (``None`` until ready and after closing)."""
        name = self._sockname()
        return None if name is None else name[1]

    def statistics(self) -> dict[str, int]:
        """Open connections and bytes queued for sending across them."""
        return {
            "connections": len(self._connections),
            "buffered": sum(c.buffered for c in self._connections),
        }

    # -- the I/O task -------------------------------------------------------------------

    async def run_io(self, *, task_status: trio.TaskStatus[Any]) -> None:
        try:
            self._listeners = await self._listen()
        except OSError as exc:
            self.fire(error(exc))
            task_status.started()
            return
        self._closing = False
        try:
            ready_value = self.fire(ready(self, (self.host, self.port)))
            task_status.started(ready_value)
            async with trio.open_nursery() as connections:
                async with trio.open_nursery() as accepting:
                    self._accepting = accepting.cancel_scope
                    if self._closing:
                        accepting.cancel_scope.cancel()
                    for listener in self._listeners:
                        accepting.start_soon(self._accept_loop, listener, connections)
                # Accepting has stopped: flush and close every connection.
                await self._close_listeners()
                for conn in list(self._connections):
                    conn.close()
            self.fire(closed())
        finally:
            self._accepting = None
            await self._close_listeners()

    async def _close_listeners(self) -> None:
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            await trio.aclose_forcefully(listener)
        self._unlink()

    def _unlink(self) -> None:
        pass

    def stop_io(self) -> None:
        self._closing = True
        if self._accepting is not None:
            self._accepting.cancel()

    async def _accept_loop(self, listener: trio.SocketListener, nursery: trio.Nursery) -> None:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno in _ACCEPT_RETRY:
                    # Out of descriptors or memory: keep the listener, try again soon.
                    log.warning("accept failed (%s); retrying in 100 ms", exc)
                    self.fire(error(exc))
                    await trio.sleep(0.1)
                    continue
                raise
            nursery.start_soon(self._serve_connection, stream)

    async def _serve_connection(self, stream: trio.SocketStream) -> None:
        try:
            peer = stream.socket.getpeername()
        except OSError:
            peer = None
        conn = Connection(stream, peer, self._fire_read, self._fire_error, self.high_water)
        conn.owner = self
        if peer is None:
            # Reset before we could learn the peer address.
            self._fire_error(conn, ConnectionResetError(errno.ENOTCONN, "peer vanished"))
            await trio.aclose_forcefully(stream)
            return
        if self.secure:
            assert self._tls is not None
            try:
                with trio.fail_after(self.handshake_timeout):
                    conn._use(await _tls.handshake(stream, self._tls, server_side=True))
            except (OSError, trio.BrokenResourceError, trio.TooSlowError) as exc:
                self._fire_error(conn, exc)
                await trio.aclose_forcefully(stream)
                return
        self._connections.add(conn)
        try:
            self.fire(connect(*self._connect_args(conn)))
            await conn.serve()
        finally:
            self._connections.discard(conn)
            self.fire(disconnect(conn))

    def _fire_read(self, conn: Connection, data: bytes | bytearray) -> Value:
        value = self.fire(read(conn, data))
        value._add_done_callback(_write_back)
        return value

    def _fire_error(self, conn: Connection, exc: BaseException) -> None:
        self.fire(error(conn, exc))

    # -- handled events -----------------------------------------------------------------

    def _own(self, sock: Any) -> bool:
        return isinstance(sock, Connection) and sock.owner is self

    @handler("write")
    def _on_write(self, sock: Any, data: bytes) -> None:
        if self._own(sock) and not sock.closed:
            sock.write(data)

    @handler("close")
    def _on_close(self, sock: Any = None) -> None:
        if sock is None:
            self.stop_io()
        elif self._own(sock):
            sock.close()

    @handler("starttls")
    def _on_starttls(self, sock: Any) -> None:
        if not self._own(sock):
            return
        if self._tls is None:
            self._fire_error(sock, RuntimeError("starttls needs a certfile or ssl_context"))
            return
        context, timeout = self._tls, self.handshake_timeout

        async def upgrade(stream: trio.abc.Stream) -> trio.SSLStream[Any]:
            with trio.fail_after(timeout):
                return await _tls.handshake(stream, context, server_side=True)

        sock.start_tls(upgrade)


def _write_back(value: Value) -> None:
    """A ``read`` handler that returned bytes: write them to that connection."""
    result = value.value
    if isinstance(result, (bytes, bytearray)) and result:
        assert value.event is not None
        args = value.event._args  # the arguments as fired (no list made for this)
        conn = args[0] if len(args) > 1 else None
        if isinstance(conn, Connection) and not conn.closed:
            conn.write(result)


class TCPServer(_StreamServer):
    """A TCP server (default channel ``"server"``).

    Args:
        bind: a port (all interfaces), ``"host:port"``, ``(host, port)`` or a bound
            socket; port 0 picks a free port (see :attr:`port` after ``ready``).
        secure: TLS on accept (needs ``certfile``/``keyfile`` or ``ssl_context``).
        backlog: the listen backlog.
        channel: the channel of its events.
        certfile, keyfile, ca_certs, cert_reqs, ssl_context: TLS settings; given with
            ``secure=False`` they serve ``starttls(sock)``.
        high_water: stop reading a connection while more bytes than this are queued
            for it.
        handshake_timeout: seconds a TLS handshake may take.

    Fires ``ready(server, (host, port))``, ``connect(sock, host, port)``,
    ``read(sock, data)``, ``disconnect(sock)``, ``error(sock, err)`` and ``closed()``;
    handles ``write(sock, data)``, ``close(sock)``/``close()`` and ``starttls(sock)``.
    A ``read`` handler that returns bytes has them written back.
    """

    _family = socket.AF_INET

    def _parse(self, bind: Any) -> Any:
        return parse_inet(bind, self._family)

    async def _listen(self) -> list[trio.SocketListener]:
        address = self._address
        if isinstance(address, socket.socket):
            sock = trio.socket.from_stdlib_socket(address)
            sock.listen(self.backlog)
            return [trio.SocketListener(sock)]
        host, port = address
        return await trio.open_tcp_listeners(port, host=host, backlog=self.backlog)


class TCP6Server(TCPServer):
    """A TCP server on IPv6 (binds ``::`` for a bare port); see :class:`TCPServer`."""

    _family = socket.AF_INET6


class UNIXServer(_StreamServer):
    """A UNIX-socket server; ``bind`` is a path (a stale socket there is replaced).

    Fires ``connect(sock)`` (no address) and ``ready(server, (path, None))``; the
    socket file is removed on close.  Otherwise as :class:`TCPServer`.
    """

    def _parse(self, bind: Any) -> Any:
        return parse_unix(bind)

    def _connect_args(self, conn: Connection) -> tuple[Any, ...]:
        return (conn,)

    @property
    def host(self) -> Any:
        """The socket path (``None`` until ready and after closing)."""
        name = self._sockname()
        return None if name is None else name

    @property
    def port(self) -> Any:
        """Always ``None``."""
        return None

    async def _listen(self) -> list[trio.SocketListener]:
        path = self._address
        if isinstance(path, socket.socket):
            sock = trio.socket.from_stdlib_socket(path)
        else:
            try:
                if stat.S_ISSOCK(os.stat(path).st_mode):
                    os.unlink(path)
            except FileNotFoundError:
                pass
            sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                await sock.bind(path)
            except OSError:
                sock.close()
                raise
        sock.listen(self.backlog)
        return [trio.SocketListener(sock)]

    def _unlink(self) -> None:
        path = self._address
        if isinstance(path, str):
            try:
                if stat.S_ISSOCK(os.stat(path).st_mode):
                    os.unlink(path)
            except OSError:
                pass
