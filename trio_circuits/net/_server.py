"""Stream servers: TCP, TCP over IPv6, UNIX sockets; optional TLS and starttls.

Each server runs, under its component's cancel scope, an accept loop and its
connections (:mod:`._serving`): plain ones served from one reactor task, TLS ones
by tasks of their own, all in a nursery of their own so that stopping the accept
loop never cuts connections short.  Closing (``close()``, unregistering, or stopping
the application) stops accepting, closes the listener, flushes and closes every
connection, then fires ``closed()``.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Hashable
from typing import Any

import trio

from ..core.components import BaseComponent
from ..core.events import Event
from ..core.flow import IOStatus
from ..core.handlers import handler
from . import _tls
from ._bind import (
    adopt_socket,
    bind_socket,
    check_options,
    check_port,
    is_numeric,
    parse_inet,
    passive_address,
    resolve_passive,
    reuse_port_options,
)
from ._connection import Connection
from ._serving import Serving
from ._settings import HIGH_WATER, Settings
from ._start import cannot_start
from .events import closed, drain, eof, error, read, ready


class _StreamServer(BaseComponent):
    """Common machinery of the stream servers (internal)."""

    channel: Hashable = "server"
    _family: socket.AddressFamily = socket.AF_INET

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
        idle_timeout: float | None = None,
        close_timeout: float = 5.0,
        drain_timeout: float | None = None,
        send_timeout: float | None = 60.0,
        max_buffered: int | None = None,
        slow_receivers: str = "auto",
        half_close: bool = False,
        socket_options: list[tuple[int, int, Any]] | None = None,
    ) -> None:
        self._address = self._parse(bind)
        self._tls = _tls.server_context(certfile, keyfile, ca_certs, cert_reqs, ssl_context)
        if secure and self._tls is None:
            raise ValueError("secure=True needs a certfile (and keyfile) or an ssl_context")
        if isinstance(backlog, bool) or not isinstance(backlog, int) or backlog < 1:
            raise ValueError(f"backlog must be a positive int, not {backlog!r}")
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
        self.secure = secure
        self.backlog = backlog
        self._prebound: socket.socket | None = None
        self._listener: trio.SocketListener | None = None
        self._serving: Serving | None = None
        self._accepting: trio.CancelScope | None = None
        self._closing = False

    def _parse(self, bind: Any) -> Any:
        raise NotImplementedError

    def _bind(self) -> socket.socket:
        address = self._address
        if isinstance(address, socket.socket):
            address.setblocking(False)
            return address
        return self.open_socket()

    def open_socket(self, *, reuse_port: bool = False, port: int | None = None) -> socket.socket:
        """A new bound socket, owned by the caller (see :meth:`TCPServer.open_socket`)."""
        raise NotImplementedError

    def use_socket(self, sock: socket.socket) -> None:
        """Listen on ``sock``, a bound socket, instead of binding ``bind`` at start.

        For a socket made elsewhere (by :meth:`open_socket` in another process: this
        is how each worker of ``trio_circuits.run(..., workers=N)`` receives its
        listener).  Call it before the application starts.  The server takes the
        socket over: it listens on it and closes it when it closes (a UNIX socket's
        file is left in place, for its owner to remove).

        Raises:
            TypeError, ValueError: ``sock`` is not a bound socket of this server's
                family and type.
            RuntimeError: the application is running.
        """
        if self.running:
            raise RuntimeError("use_socket() must be called before the application starts")
        adopt_socket(sock, self._family, socket.SOCK_STREAM)
        prebound, self._prebound = self._prebound, None
        if prebound is not None and prebound is not sock:
            prebound.close()
        self._address = sock

    def _own_address(self) -> Any:
        if isinstance(self._address, socket.socket):
            raise ValueError(f"{self!r} was given a socket, not an address to bind")
        return self._address

    async def _resolve(self) -> Any:
        return self._address

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
        return frozenset(self._serving.connections) if self._serving else frozenset()

    @property
    def high_water(self) -> int:
        """A connection stops being read while more bytes than this are queued for it."""
        return self._settings.high_water

    @property
    def _sock(self) -> Any:
        """The listening socket (circuits' attribute).

        Before the application runs, reading it creates and binds the socket now (as
        circuits did at construction), so that a bind failure raises here; the
        application then listens on that socket.  While it runs, this is a handle
        whose ``close()`` closes the listener in the application's thread (from any
        thread, returning once done); other methods are the socket's.
        """
        if self._listener is not None:
            return _ListenerHandle(self._listener.socket, self.call_in_app)
        if self._prebound is None:
            self._prebound = self._bind()
        return self._prebound

    def _sockname(self) -> Any:
        if self._listener is None:
            return None
        return self._listener.socket.getsockname()

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
        connections = self.connections
        return {
            "connections": len(connections),
            "buffered": sum(c.buffered for c in connections),
        }

    # -- the Endpoint of its connections -------------------------------------------------

    def read_event(self, conn: Connection, data: bytes | bytearray) -> Event:
        """``read(sock, data)``."""
        return read(conn, data)

    def error_event(self, conn: Connection, exc: BaseException) -> Event:
        """``error(sock, err)``."""
        return error(conn, exc)

    def drain_event(self, conn: Connection) -> Event:
        """``drain(sock)``."""
        return drain(conn)

    def eof_event(self, conn: Connection) -> Event:
        """``eof(sock)``."""
        return eof(conn)

    @property
    def can_start_tls(self) -> bool:
        """True if the server has a certificate for ``starttls``."""
        return self._tls is not None

    # -- the I/O task -------------------------------------------------------------------

    async def run_io(self, *, task_status: IOStatus) -> None:
        """Listen, accept and serve until closed; see the module docs."""
        try:
            sock, self._prebound = self._prebound, None
            if sock is None:
                self._address = await self._resolve()
                sock = self._bind()
            sock.listen(self.backlog)
        except OSError as exc:
            cannot_start(self, exc, task_status)
            return
        self._listener = trio.SocketListener(trio.socket.from_stdlib_socket(sock))
        self._closing = False
        tls = self._tls if self.secure else None
        serving = Serving(
            self, self._settings, task_status.intake, self._connect_args, tls, task_status.drain
        )
        self._serving = serving
        try:
            task_status.started(self.fire(ready(self, (self.host, self.port))))
            async with trio.open_nursery() as nursery:
                await serving.open(nursery)
                with trio.CancelScope() as accepting:
                    self._accepting = accepting
                    if self._closing:
                        accepting.cancel()
                    await serving.accept_all(self._listener, sock)
                # Accepting has stopped: flush and close every connection.
                await self._close_listener()
                serving.close_all()
            self.fire(closed())
        finally:
            self._accepting = None
            await self._close_listener()

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            await trio.aclose_forcefully(listener)
            self._unlink()

    def _unlink(self) -> None:
        pass

    def stop_io(self) -> None:
        """Stop accepting; flush and close every connection, then fire ``closed()``."""
        self._closing = True
        if self._accepting is not None:
            self._accepting.cancel()

    # -- handled events -----------------------------------------------------------------

    def _own(self, sock: Any) -> bool:
        return isinstance(sock, Connection) and sock.owner is self

    @handler("write")
    def _on_write(self, sock: Any, data: bytes) -> None:
        if self._own(sock) and not sock.closed:
            sock.write(data)

    @handler("drain")
    async def _on_drain(self, sock: Any) -> None:
        if self._own(sock):
            await sock.hold_until_drained()

    @handler("close")
    def _on_close(self, sock: Any = None) -> None:
        if sock is None:
            self.stop_io()
        elif self._own(sock):
            sock.close()

    @handler("send_eof")
    def _on_send_eof(self, sock: Any) -> None:
        if self._own(sock):
            sock.send_eof()

    @handler("starttls")
    def _on_starttls(self, sock: Any) -> None:
        if not self._own(sock):
            return
        if self._tls is None:
            self.fire(error(sock, RuntimeError("starttls needs a certfile or ssl_context")))
            return
        context, timeout = self._tls, self._settings.handshake_timeout

        async def upgrade(stream: trio.abc.Stream) -> trio.SSLStream[Any]:
            with trio.fail_after(timeout):
                return await _tls.handshake(stream, context, server_side=True)

        sock.start_tls(upgrade)


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
        idle_timeout: close a connection that receives nothing for this many seconds
            (``None``: never).
        close_timeout: seconds a connection's close may take (flush, EOF, linger).
        drain_timeout: close a connection that keeps another's cascade waiting this
            long for its output to drain (``drain``; ``None``: never).
        socket_options: ``(level, option, value)`` triples set on the listening
            socket before it is bound.

    Fires ``ready(server, (host, port))``, ``connect(sock, host, port)``,
    ``read(sock, data)``, ``disconnect(sock)``, ``error(sock, err)`` and ``closed()``;
    handles ``write(sock, data)``, ``close(sock)``/``close()`` and ``starttls(sock)``.
    A ``read`` handler that returns bytes has them written back.  A connection is
    read again only once the cascade of its previous ``read`` has completed.
    """

    def _parse(self, bind: Any) -> Any:
        return parse_inet(bind, self._family)

    async def _resolve(self) -> Any:
        address = self._address
        if isinstance(address, socket.socket):
            return address
        host, port = address
        return await resolve_passive(host, port, self._family, socket.SOCK_STREAM)

    def open_socket(self, *, reuse_port: bool = False, port: int | None = None) -> socket.socket:
        """A new socket bound as this server binds at start, owned by the caller.

        Bound to the server's address (on ``port`` instead of its port, if given) with
        its ``socket_options``, plus ``SO_REUSEPORT`` if ``reuse_port``; not listening
        yet.  A host name is looked up here (blocking).  The server is not changed:
        hand the socket to a server with :meth:`use_socket`.

        Raises:
            OSError: the bind failed (the socket is closed).
            ValueError: the server was given a socket rather than an address, or
                ``SO_REUSEPORT`` does not exist here.
        """
        address = self._own_address()
        host, bound_port = address[:2]
        if port is not None:
            bound_port = check_port(port)
            address = (host, bound_port, *address[2:])
        if not is_numeric(host, self._family):
            address = passive_address(host, bound_port, self._family, socket.SOCK_STREAM)
        options = reuse_port_options(self._options, reuse_port)
        return bind_socket(self._family, socket.SOCK_STREAM, address, options)


class TCP6Server(TCPServer):
    """A TCP server on IPv6 (binds ``::`` for a bare port); see :class:`TCPServer`."""

    _family = socket.AF_INET6


class _ListenerHandle:
    """circuits' ``server._sock`` while running: ``close()`` is safe from any thread."""

    def __init__(self, sock: Any, call_in_app: Any) -> None:
        self._socket = sock
        self._call_in_app = call_in_app

    def close(self) -> None:
        """Close the listening socket (the server stops accepting)."""
        self._call_in_app(self._socket.close)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._socket, name)
