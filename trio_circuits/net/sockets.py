"""The socket components (SPEC §5): servers, clients and ``Pipe``.

As circuits' ``circuits.net.sockets`` does, this module also exposes the networking
events (``connect``, ``write``, ``close`` ...) and ``BUFSIZE``.
"""

from socket import gaierror, gethostbyname, gethostname
from typing import Any

from ._client import Pipe as Pipe
from ._client import TCP6Client as TCP6Client
from ._client import TCPClient as TCPClient
from ._client import UNIXClient as UNIXClient
from ._connection import Connection as Connection
from ._server import TCP6Server as TCP6Server
from ._server import TCPServer as TCPServer
from ._udp import UDP6Client as UDP6Client
from ._udp import UDP6Server as UDP6Server
from ._udp import UDPClient as UDPClient
from ._udp import UDPServer as UDPServer
from ._unix_server import UNIXServer as UNIXServer
from .events import close as close
from .events import closed as closed
from .events import connect as connect
from .events import connected as connected
from .events import disconnect as disconnect
from .events import disconnected as disconnected
from .events import error as error
from .events import read as read
from .events import ready as ready
from .events import unreachable as unreachable
from .events import write as write

#: circuits' default read size (trio_circuits reads up to 64 KiB at a time).
BUFSIZE = 4096


def parse_ipv4_parameter(bind: Any) -> Any:
    """circuits' reading of a bind argument: a bare port binds this host's address.

    ``1234`` -> ``(this host's address, 1234)`` (``("0.0.0.0", 1234)`` if the host
    name does not resolve); ``"host:port"`` -> ``(host, port)``; anything else as is.
    """
    if isinstance(bind, int) and not isinstance(bind, bool):
        try:
            return (gethostbyname(gethostname()), bind)
        except gaierror:
            return ("0.0.0.0", bind)
    if isinstance(bind, str) and ":" in bind:
        host, _, port = bind.rpartition(":")
        return (host, int(port))
    return bind


class Client(TCPClient):
    """circuits' name for the stream client: a :class:`TCPClient` whose ``bind`` may
    also be a bare port or ``"host:port"`` (see :func:`parse_ipv4_parameter`)."""

    def __init__(
        self, bind: Any = None, channel: Any = "client", connect_timeout: float = 5, **kw: Any
    ) -> None:
        super().__init__(parse_ipv4_parameter(bind), channel, connect_timeout, **kw)


__all__ = [
    "BUFSIZE",
    "Client",
    "Connection",
    "Pipe",
    "TCP6Client",
    "TCP6Server",
    "TCPClient",
    "TCPServer",
    "UDP6Client",
    "UDP6Server",
    "UDPClient",
    "UDPServer",
    "UNIXClient",
    "UNIXServer",
    "close",
    "closed",
    "connect",
    "connected",
    "disconnect",
    "disconnected",
    "error",
    "parse_ipv4_parameter",
    "read",
    "ready",
    "unreachable",
    "write",
]
