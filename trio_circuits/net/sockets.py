"""The socket components (SPEC §5): servers, clients and ``Pipe``."""

from ._client import Pipe as Pipe
from ._client import TCP6Client as TCP6Client
from ._client import TCPClient as TCPClient
from ._client import UNIXClient as UNIXClient
from ._connection import Connection as Connection
from ._server import TCP6Server as TCP6Server
from ._server import TCPServer as TCPServer
from ._server import UNIXServer as UNIXServer
from ._udp import UDP6Client as UDP6Client
from ._udp import UDP6Server as UDP6Server
from ._udp import UDPClient as UDPClient
from ._udp import UDPServer as UDPServer

__all__ = [
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
]
