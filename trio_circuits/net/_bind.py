"""Parse and validate bind and connect addresses (pure; raises at construction)."""

from __future__ import annotations

import os
import socket
import stat
from typing import Any

import trio

from ._errors import unresolved

__all__ = [
    "adopt_socket",
    "bind_socket",
    "check_options",
    "check_port",
    "is_numeric",
    "parse_inet",
    "parse_unix",
    "passive_address",
    "remove_socket_file",
    "resolve_passive",
    "reuse_port_options",
]

Address = tuple[str, int]


def check_port(port: Any) -> int:
    """Return ``port`` as an int in 0..65535, or raise ``TypeError``/``ValueError``."""
    if isinstance(port, bool) or not isinstance(port, int):
        if isinstance(port, str) and port.isdigit():
            port = int(port)
        else:
            raise TypeError(f"a port must be an int, not {port!r}")
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range (0..65535)")
    return int(port)


def parse_inet(bind: Any, family: socket.AddressFamily) -> Address | socket.socket:
    """A server or client bind argument as ``(host, port)`` (or an existing socket).

    Accepts a port number (all interfaces: ``0.0.0.0`` or ``::``), ``"host:port"``
    (``"[::1]:80"`` for IPv6), ``(host, port)`` or an already-bound socket.
    """
    if isinstance(bind, socket.socket):
        return bind
    anywhere = "::" if family == socket.AF_INET6 else "0.0.0.0"
    if isinstance(bind, int) and not isinstance(bind, bool):
        return (anywhere, check_port(bind))
    if isinstance(bind, str):
        host, sep, port = bind.rpartition(":")
        if not sep:
            raise ValueError(f"expected 'host:port', got {bind!r}")
        host = host.strip("[]") or anywhere
        return (host, check_port(port))
    if isinstance(bind, (tuple, list)) and len(bind) >= 2:
        host = bind[0] or anywhere
        if not isinstance(host, str):
            raise TypeError(f"a host must be a str, not {host!r}")
        return (host, check_port(bind[1]))
    raise TypeError(f"bind must be a port, 'host:port', (host, port) or a socket, not {bind!r}")


def parse_unix(path: Any) -> str | socket.socket:
    """A UNIX socket path (str or os.PathLike) or an existing socket."""
    if isinstance(path, socket.socket):
        return path
    if isinstance(path, (str, os.PathLike)):
        text = os.fspath(path)
        if not isinstance(text, str) or not text:
            raise ValueError(f"a UNIX socket path must be a non-empty str, not {path!r}")
        if len(os.fsencode(text)) > 107:
            raise ValueError(f"UNIX socket path too long ({len(text)} bytes): {text!r}")
        return text
    raise TypeError(f"a UNIX socket path must be a str, not {path!r}")


SocketOption = tuple[int, int, Any]


def check_options(options: Any) -> list[SocketOption]:
    """``socket_options`` as a list of ``(level, option, value)`` triples."""
    if options is None:
        return []
    checked: list[SocketOption] = []
    for option in options:
        if not isinstance(option, tuple) or len(option) != 3:
            raise TypeError(f"a socket option is a (level, option, value) tuple, not {option!r}")
        level, name, value = option
        if not isinstance(level, int) or not isinstance(name, int):
            raise TypeError(f"a socket option's level and name are ints, not {option!r}")
        checked.append((level, name, value))
    return checked


def reuse_port_options(options: list[SocketOption], reuse_port: bool) -> list[SocketOption]:
    """``options``, plus ``SO_REUSEPORT`` if ``reuse_port`` (``ValueError`` where absent)."""
    if not reuse_port:
        return options
    flag = getattr(socket, "SO_REUSEPORT", None)
    if flag is None:  # pragma: no cover - platforms without SO_REUSEPORT
        raise ValueError("SO_REUSEPORT is not available on this platform")
    return [*options, (socket.SOL_SOCKET, flag, 1)]


def adopt_socket(sock: Any, family: socket.AddressFamily, kind: socket.SocketKind) -> None:
    """Check that ``sock`` is a bound socket of ``family`` and ``kind`` (else raise)."""
    if not isinstance(sock, socket.socket):
        raise TypeError(f"expected a socket.socket, not {sock!r}")
    if sock.family != family or sock.type != kind:
        raise ValueError(f"expected a {family.name} {kind.name} socket, not {sock!r}")
    name = sock.getsockname()
    if not name or (family != socket.AF_UNIX and name[1] == 0):
        raise ValueError(f"the socket is not bound: {sock!r}")


def bind_socket(
    family: socket.AddressFamily,
    kind: socket.SocketKind,
    address: Any,
    options: list[SocketOption],
) -> socket.socket:
    """A new non-blocking socket with ``options`` set, bound to ``address``.

    ``address`` is a resolved socket address (or a path for ``AF_UNIX``).  Stream
    sockets on IP get ``SO_REUSEADDR`` first, as servers usually want.  Raises the
    ``OSError`` of a failed bind, with the socket closed.
    """
    sock = socket.socket(family, kind)
    try:
        if family != socket.AF_UNIX and kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for level, name, value in options:
            sock.setsockopt(level, name, value)
        sock.setblocking(False)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        # Name the address: "Address already in use" alone does not say which.
        raise OSError(exc.errno, f"cannot bind {address!r}: {exc.strerror}") from None
    except BaseException:
        sock.close()
        raise
    return sock


def passive_address(
    host: str, port: int, family: socket.AddressFamily, kind: socket.SocketKind
) -> Any:
    """The first local address for ``(host, port)`` in ``family`` (a blocking lookup).

    Raises ``socket.gaierror`` for a name that does not resolve.
    """
    try:
        return socket.getaddrinfo(host, port, family, kind, 0, socket.AI_PASSIVE)[0][4]
    except socket.gaierror as exc:
        raise unresolved(exc, host, port) from None


async def resolve_passive(
    host: str, port: int, family: socket.AddressFamily, kind: socket.SocketKind
) -> Any:
    """:func:`passive_address` without blocking Trio (numeric hosts resolve at once)."""
    try:
        infos = await trio.socket.getaddrinfo(host, port, family, kind, 0, socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise unresolved(exc, host, port) from None
    return infos[0][4]


def is_numeric(host: str, family: socket.AddressFamily) -> bool:
    """True if ``host`` is a numeric address of ``family`` (no lookup needed)."""
    try:
        socket.inet_pton(family, host.split("%")[0])
    except (OSError, ValueError):
        return False
    return True


def remove_socket_file(path: str) -> None:
    """Remove ``path`` if it is a socket file (a stale UNIX listener's)."""
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)
    except OSError:
        pass
