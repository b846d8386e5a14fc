"""The bytes under a Redis connection: a non-blocking socket, with TLS or without.

Plain TCP and UNIX sockets are written to and read from the calling code itself
when they can be (a non-blocking ``send``/``recv``, no task switch), and waited on
with :func:`trio.lowlevel.wait_writable`/:func:`~trio.lowlevel.wait_readable`
when they cannot; ``rediss://`` goes through :class:`trio.SSLStream`, which has
only the waiting form.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import trio

from .resp import ConnectionLost, RedisURL

__all__ = ["RECEIVE_SIZE", "Transport", "open_transport"]

#: The most bytes taken from the socket at once.
RECEIVE_SIZE = 262_144


async def _connect(url: RedisURL) -> tuple[socket.socket, trio.socket.SocketType]:
    """A connected non-blocking socket (TCP: each address in turn, TCP_NODELAY on)."""
    if url.path is not None:
        targets: list[tuple[Any, ...]] = [(socket.AF_UNIX, socket.SOCK_STREAM, 0, url.path)]
    else:
        infos = await trio.socket.getaddrinfo(url.host, url.port, type=socket.SOCK_STREAM)
        targets = [(family, kind, proto, address) for family, kind, proto, _, address in infos]
    failure: OSError | None = None
    for family, kind, proto, address in targets:
        sock = socket.socket(family, kind, proto)
        try:
            wrapped = trio.socket.from_stdlib_socket(sock)  # (makes it non-blocking)
            if family != socket.AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await wrapped.connect(address)
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock, wrapped
    assert failure is not None
    raise failure


async def open_transport(url: RedisURL, ssl_context: ssl.SSLContext | None = None) -> Transport:
    """Connect to ``url``'s server (and do the TLS handshake of ``rediss://``).

    Raises:
        OSError: the server cannot be reached.
        ConnectionLost: the TLS handshake failed.

    Cancellation: nothing is left open.
    """
    sock, wrapped = await _connect(url)
    try:
        tls = None
        if url.tls:
            context = ssl_context if ssl_context is not None else url.ssl_context()
            tls = trio.SSLStream(trio.SocketStream(wrapped), context, server_hostname=url.host)
            try:
                await tls.do_handshake()
            except trio.BrokenResourceError as exc:
                reason = exc.__cause__ if exc.__cause__ is not None else exc
                raise ConnectionLost(f"TLS with {url.where} failed: {reason}") from exc
        return Transport(sock, tls)
    except BaseException:
        sock.close()
        raise


class Transport:
    """A connected socket to Redis: bytes out, bytes in.

    Args:
        sock: the connected socket (non-blocking).
        tls: the TLS stream over it, for ``rediss://``.
    """

    def __init__(self, sock: socket.socket, tls: trio.SSLStream[trio.SocketStream] | None) -> None:
        self._sock = sock
        self._tls = tls

    @property
    def tls(self) -> bool:
        """True for a TLS connection (which has no ``*_nowait`` forms)."""
        return self._tls is not None

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data``, waiting while the socket cannot take it.

        Cancellation: an unknown part of ``data`` was sent.
        """
        if self._tls is not None:
            await self._tls.send_all(data)
            return
        sock = self._sock
        view = memoryview(data)
        while view:
            try:
                sent = sock.send(view)
            except BlockingIOError:
                await trio.lowlevel.wait_writable(sock)
                continue
            view = view[sent:]

    async def wait_writable(self) -> None:
        """Wait until the socket takes bytes again (plain sockets).

        Cancellation: nothing happens to the socket.
        """
        await trio.lowlevel.wait_writable(self._sock)

    def send_nowait(self, data: bytes | bytearray | memoryview) -> int:
        """Send what the socket takes now (plain sockets); returns how many bytes.

        Raises:
            OSError: the connection failed.
        """
        try:
            return self._sock.send(data)
        except BlockingIOError:
            return 0

    async def receive(self) -> bytes | bytearray:
        """The next bytes from Redis (``b""``: it closed the connection).

        Cancellation: nothing is lost (what Redis sent stays in the socket).
        """
        if self._tls is not None:
            return await self._tls.receive_some(RECEIVE_SIZE)
        sock = self._sock
        while True:
            await trio.lowlevel.wait_readable(sock)
            try:
                return sock.recv(RECEIVE_SIZE)
            except BlockingIOError:  # (a spurious wake-up)
                continue

    def receive_nowait(self) -> bytes | None:
        """The bytes that have arrived already (plain sockets); ``None`` if none.

        Raises:
            OSError: the connection failed.
        """
        try:
            return self._sock.recv(RECEIVE_SIZE)
        except BlockingIOError:
            return None

    def close(self) -> None:
        """Close the socket now; tasks waiting on it wake up with an error."""
        if self._sock.fileno() != -1:
            trio.lowlevel.notify_closing(self._sock)
            self._sock.close()

    async def aclose(self) -> None:
        """Close (at once: a TLS close_notify is not waited for).

        Cancellation: it is closed all the same.
        """
        self.close()
        if self._tls is not None:
            await trio.aclose_forcefully(self._tls)
        else:
            await trio.lowlevel.checkpoint()
