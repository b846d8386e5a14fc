"""The socket components (SPEC §5): servers, clients and ``Pipe``."""

from ._client import Pipe as Pipe
from ._client import TCP6Client as TCP6Client
from ._client import TCPClient as TCPClient
from ._client import UNIXClient as UNIXClient
from ._connection import Connection as Connection
from ._server import TCP6Server as TCP6Server
from ._server import TCPServer as TCPServer
from ._server import UNIXServer as UNIXServer

__all__ = [
    "Connection",
    "Pipe",
    "TCP6Client",
    "TCP6Server",
    "TCPClient",
    "TCPServer",
    "UNIXClient",
    "UNIXServer",
]
