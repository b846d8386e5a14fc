"""The networking events (exactly circuits' names and arguments).

Server components *fire* ``connect(sock, host, port)``, ``read(sock, data)``,
``disconnect(sock)``, ``error(sock, err)``, ``ready(server, (host, port))`` and
``closed()``; they *handle* ``write(sock, data)``, ``close([sock])`` and
``starttls(sock)``.  Client components *handle* ``connect(host, port, secure=False,
**tls)``, ``write(data)``, ``close()``, ``disconnect()`` and ``starttls()``; they
*fire* ``connected(host, port)``, ``read(data)``, ``disconnected()``,
``error(err)``, ``unreachable(host, port, reason)`` and ``ready(client)``.
UDP components use ``read((host, port), data)``, ``write((host, port), data)`` and
``broadcast(data, port)``.

Beyond circuits: ``drain(sock)`` holds a cascade until ``sock``'s output drains;
with ``half_close=True`` a stream component fires ``eof(sock)`` (client: ``eof()``)
when its peer half-closes, and handles ``send_eof(sock)`` (client: ``send_eof()``)
to half-close its own side.
"""

from __future__ import annotations

from typing import Any

from ..core.events import Event

__all__ = [
    "broadcast",
    "close",
    "closed",
    "connect",
    "connected",
    "disconnect",
    "disconnected",
    "drain",
    "eof",
    "error",
    "read",
    "ready",
    "send_eof",
    "starttls",
    "unreachable",
    "write",
]


class connect(Event):
    """Server: a new connection ``(sock, host, port)`` (UNIX: ``(sock)``).
    Client request: ``(host, port, secure=False, **tls)`` (UNIX: ``(path, ...)``)."""


class disconnect(Event):
    """Server: ``(sock)`` once a connection has closed.  Client request: ``()``."""


class connected(Event):
    """Client: ``(host, port)`` once connected (TLS: after the handshake)."""

    def __init__(self, host: Any, port: Any) -> None:
        super().__init__(host, port)


class disconnected(Event):
    """Client: ``()`` once the connection has closed."""

    def __init__(self) -> None:
        super().__init__()


class read(Event):
    """Data arrived: server ``(sock, data)``, client ``(data)``, UDP ``((host, port), data)``."""


class error(Event):
    """An error: ``(sock, error)`` for a connection, ``(error)`` otherwise."""


class unreachable(Event):
    """Client: ``(host, port, reason)`` when a connect fails or times out."""

    def __init__(self, host: Any, port: Any, reason: Any = None) -> None:
        super().__init__(host, port, reason)


class broadcast(Event):
    """UDP request: send ``data`` to every host on ``port``: ``(data, port)``."""


class write(Event):
    """Request: server ``(sock, data)``, client ``(data)``, UDP ``((host, port), data)``."""


class drain(Event):
    """``(sock)``: a cascade queued more than ``sock``'s high-water mark for it.

    A client fires ``drain(None)`` for writes queued before its connection is made:
    held until a connect attempt ends (then until the new connection has drained).
    A UDP server or client fires ``drain(itself)`` while more than 64 KiB of
    datagrams wait for the kernel.

    Fired by the framework in that cascade; the socket component's handler returns
    once ``sock``'s output has drained (or it closes), so the reader whose ``read``
    started the cascade reads nothing more meanwhile (SPEC 5.1's back-pressure,
    from one connection to another).
    """


class close(Event):
    """Request: server ``(sock)`` closes one connection, ``()`` everything; client ``()``."""


class eof(Event):
    """Server ``(sock)``, client ``()``: the peer has half-closed (``half_close=True``).

    It will send nothing more, and may still read: the connection stays open for
    writing until ``send_eof`` (or ``close``).  Fired once every ``read`` before the
    EOF has been handled (its whole cascade).  Without ``half_close`` the peer's EOF
    closes the connection instead (after the same cascades), and ``disconnect``
    follows.
    """


class send_eof(Event):
    """Request: server ``(sock)``, client ``()`` -- half-close our side.

    What is queued is sent, then EOF; the connection goes on reading, and closes once
    the peer has sent its EOF too (``disconnect``).  Writes are refused from then on.
    """


class ready(Event):
    """Fired once a component is ready: server ``(server, (host, port))``, client ``(client)``."""

    def __init__(self, component: Any, bind: Any = None) -> None:
        if bind is None:
            super().__init__(component)
        else:
            super().__init__(component, bind)


class closed(Event):
    """Server: ``()`` once the listening socket has closed."""

    def __init__(self) -> None:
        super().__init__()


class starttls(Event):
    """Request: server ``(sock)`` / client ``()`` -- upgrade the connection to TLS."""
