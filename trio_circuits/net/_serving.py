"""A server's connections: accepted, served, closed, each with its events.

:class:`Serving` accepts from the listener and serves every connection until it
closes: plain ones from the server's :class:`~._reactor.Reactor` (where there is
epoll), TLS ones with a handshake and then a :class:`~._streamed.StreamDriver`
each, under a nursery of the server's.  Per connection it fires ``connect`` once
it is ready (TLS: after the handshake) and ``disconnect`` once it has closed,
exactly once.
"""

from __future__ import annotations

import errno
import logging
import socket
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from ..core.flow import Intake
from . import _tls
from ._connection import Connection, Endpoint
from ._reactor import Reactor, available
from ._settings import Settings
from ._streamed import StreamDriver
from .events import connect, disconnect, error

if TYPE_CHECKING:
    from ..core.values import Value

__all__ = ["Serving"]

log = logging.getLogger("trio_circuits.net")

_ACCEPT_RETRY = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}
# Connections taken from the kernel's queue per wake-up (see Serving.accept_all).
_ACCEPT_BATCH = 64


class Serving:
    """Everything a server does with connections (see the module docs).

    Args:
        owner: the server (it fires the events and builds ``read``/``error``).
        settings: every connection's settings.
        intake: the application's intake.
        connect_args: the arguments of ``connect`` for a connection.
        tls: the context for TLS on accept, or ``None`` for plain connections.
        drain: the application's ``drain`` (see :class:`~trio_circuits.core.flow.
            IOStatus`).
    """

    def __init__(
        self,
        owner: Endpoint,
        settings: Settings,
        intake: Intake,
        connect_args: Callable[[Connection], tuple[Any, ...]],
        tls: ssl.SSLContext | None,
        drain: Callable[[], object],
    ) -> None:
        self.drain = drain
        self.owner = owner
        self.settings = settings
        self.intake = intake
        self.connect_args = connect_args
        self.tls = tls
        self.connections: set[Connection] = set()
        self._nursery: trio.Nursery | None = None
        self._reactor: Reactor | None = None

    async def open(self, nursery: trio.Nursery) -> None:
        """Start serving in ``nursery`` (the reactor, where there is one)."""
        self._nursery = nursery
        if available():
            self._reactor = Reactor(
                self._closed,
                self._spawn,
                self.settings.idle_timeout,
                self.drain,
                self.intake,
                self.settings.send_timeout,
            )
            await nursery.start(self._reactor.run)

    async def accept_all(self, listener: trio.SocketListener, sock: socket.socket) -> None:
        """Accept connections until cancelled or the listener is closed under us.

        ``sock`` is the listener's own socket.  Each wake-up takes what the kernel's
        queue holds, up to :data:`_ACCEPT_BATCH` connections: one accept per
        scheduling round would let a busy reactor (whose pass is a round) starve
        new clients to a few dozen a second.

        Cancellation: stops accepting; what was accepted is being served.
        """
        while True:
            try:
                stream = await listener.accept()
            except trio.ClosedResourceError:
                return  # the listener was closed (``_sock.close()``)
            except OSError as exc:
                if exc.errno in _ACCEPT_RETRY:
                    await self._accept_failed(exc)
                    continue
                raise
            self._accepted(stream)
            for _ in range(_ACCEPT_BATCH):
                try:
                    accepted, _ = sock.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:
                    if exc.errno in _ACCEPT_RETRY:
                        await self._accept_failed(exc)
                    break  # else (closed under us): the awaited accept reports it
                self._accepted(trio.SocketStream(trio.socket.from_stdlib_socket(accepted)))

    async def _accept_failed(self, exc: OSError) -> None:
        # Out of descriptors or memory: keep the listener, try again soon.
        log.warning("accept failed (%s); retrying in 100 ms", exc)
        self.owner.fire(error(exc))
        await trio.sleep(0.1)

    def close_all(self) -> None:
        """Close every connection (each flushes first); the reactor ends after them."""
        for conn in list(self.connections):
            conn.close()
        if self._reactor is not None:
            self._reactor.stop()

    # -- one connection -----------------------------------------------------------------

    def _accepted(self, stream: trio.SocketStream) -> None:
        try:
            peer = stream.socket.getpeername()
        except OSError:
            peer = None
        conn = Connection(stream, peer, self.owner, self.settings, self.intake)
        if peer is None:
            # Reset before we could learn the peer address.
            self.owner.fire(error(conn, ConnectionResetError(errno.ENOTCONN, "peer vanished")))
            stream.socket.close()
            return
        if self.tls is not None or self._reactor is None:
            self._start_task(self._serve_in_task, conn)
            return
        self.connections.add(conn)
        self.owner.fire(connect(*self.connect_args(conn)))
        self._reactor.add(conn)

    def _start_task(self, fn: Callable[[Connection], Any], conn: Connection) -> None:
        assert self._nursery is not None
        self._nursery.start_soon(fn, conn)

    async def _serve_in_task(self, conn: Connection) -> None:
        """TLS on accept (or no reactor here): a handshake, then tasks of its own."""
        if self.tls is not None:
            try:
                with trio.fail_after(self.settings.handshake_timeout):
                    stream = conn.stream
                    conn.use(await _tls.handshake(stream, self.tls, server_side=True))
            except (OSError, trio.BrokenResourceError, trio.TooSlowError) as exc:
                self.owner.fire(error(conn, exc))
                await trio.aclose_forcefully(conn.stream)
                return
        self.connections.add(conn)
        self.owner.fire(connect(*self.connect_args(conn)))
        await self._serve_streamed(conn, StreamDriver(conn))

    def _spawn(self, conn: Connection) -> None:
        """A reactor connection starting TLS: its own tasks from now on."""
        driver = StreamDriver(conn)
        self._start_task(lambda c: self._serve_streamed(c, driver), conn)

    async def _serve_streamed(self, conn: Connection, driver: StreamDriver) -> None:
        try:
            await driver.serve()
        finally:
            self._closed(conn)

    def _closed(self, conn: Connection) -> Value | None:
        if conn not in self.connections:
            return None
        self.connections.discard(conn)
        return self.owner.fire(disconnect(conn))
