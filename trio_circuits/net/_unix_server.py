"""``UNIXServer``: a stream server on a UNIX socket path (see :mod:`._server`)."""

from __future__ import annotations

import socket
from typing import Any

from ._bind import bind_socket, parse_unix, remove_socket_file
from ._connection import Connection
from ._server import _StreamServer

__all__ = ["UNIXServer"]


class UNIXServer(_StreamServer):
    """A UNIX-socket server; ``bind`` is a path (a stale socket there is replaced).

    Fires ``connect(sock)`` (no address) and ``ready(server, (path, None))``; the
    socket file is removed on close.  Otherwise as :class:`TCPServer`.
    """

    _family = socket.AF_UNIX

    def _parse(self, bind: Any) -> Any:
        return parse_unix(bind)

    def _connect_args(self, conn: Connection) -> tuple[Any, ...]:
        return (conn,)

    @property
    def host(self) -> Any:
        """The socket path (``None`` until ready and after closing)."""
        return self._sockname()

    @property
    def port(self) -> Any:
        """Always ``None``."""
        return None

    def open_socket(self, *, reuse_port: bool = False, port: int | None = None) -> socket.socket:
        """A new socket bound to this server's path (a stale socket file is replaced).

        As :meth:`TCPServer.open_socket`; a UNIX socket has no port and no
        ``SO_REUSEPORT``: asking for either raises ``ValueError``.
        """
        if reuse_port or port is not None:
            raise ValueError("a UNIX socket has no port (nor SO_REUSEPORT)")
        path = self._own_address()
        remove_socket_file(path)
        return bind_socket(socket.AF_UNIX, socket.SOCK_STREAM, path, self._options)

    def _unlink(self) -> None:
        if isinstance(self._address, str):
            remove_socket_file(self._address)
