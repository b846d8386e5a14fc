"""The listening sockets the workers share, bound once by the supervisor.

The supervisor builds the factory's tree once (it never runs it) and binds a socket
for every server in it, in the tree's order (depth first, parents first):

* a TCP or UNIX server: one listening socket that every worker inherits; the
  workers take connections from its one accept queue (``reuse_port=True``: one
  ``SO_REUSEPORT`` socket per worker instead, and the kernel spreads connections);
* a UDP server: one ``SO_REUSEPORT`` socket per worker, on the same port.

The supervisor keeps every socket open for its whole life, so that a worker that
dies or is replaced never closes a listener: connections queued there wait for the
next worker to accept them.  A worker builds the tree again and hands each server
its socket, found by position (:func:`hand_over`).
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator

from ..core import Manager
from ..net.sockets import TCPServer, UDPClient, UDPServer, UNIXServer

__all__ = ["Listeners", "find_servers", "hand_over"]

Server = TCPServer | UNIXServer | UDPServer


def find_servers(root: Manager) -> list[Server]:
    """The servers in ``root``'s tree, depth first, parents before children."""
    return list(_walk(root))


def _walk(top: Manager) -> Iterator[Server]:
    if isinstance(top, (TCPServer, UNIXServer)) or (
        isinstance(top, UDPServer) and not isinstance(top, UDPClient)
    ):
        yield top
    for child in top.components:
        yield from _walk(child)


class Listeners:
    """The sockets of ``root``'s servers for ``workers`` worker slots.

    Raises the ``OSError`` of a bind that failed (every socket bound so far is
    closed).
    """

    def __init__(self, root: Manager, workers: int, reuse_port: bool = False) -> None:
        self.servers = find_servers(root)
        self.workers = workers
        # One list per server: a single shared socket, or one socket per slot.
        self._sockets: list[list[socket.socket]] = []
        try:
            for server in self.servers:
                self._sockets.append(self._bind(server, reuse_port))
        except BaseException:
            self.close()
            raise

    def _bind(self, server: Server, reuse_port: bool) -> list[socket.socket]:
        if isinstance(server, UDPServer):
            return self._per_slot(server, None)
        if reuse_port and isinstance(server, TCPServer):
            return self._per_slot(server, server.backlog)
        sock = server.open_socket()
        _listen(sock, server.backlog)
        return [sock]

    def _per_slot(self, server: Server, backlog: int | None) -> list[socket.socket]:
        """One ``SO_REUSEPORT`` socket per worker slot, all on the first one's port."""
        first = server.open_socket(reuse_port=True)
        sockets = [first]
        try:
            port = first.getsockname()[1]
            for _ in range(1, self.workers):
                sockets.append(server.open_socket(reuse_port=True, port=port))
            if backlog is not None:
                for sock in sockets:
                    _listen(sock, backlog)
        except BaseException:
            for sock in sockets:
                sock.close()
            raise
        return sockets

    def fds(self, slot: int) -> list[int]:
        """The descriptors worker ``slot`` inherits, one per server, in tree order."""
        return [s[0].fileno() if len(s) == 1 else s[slot].fileno() for s in self._sockets]

    def describe(self) -> list[str]:
        """One ``"KIND address"`` line per server, for the supervisor's banner."""
        lines = []
        for server, sockets in zip(self.servers, self._sockets, strict=True):
            name = sockets[0].getsockname()
            where = name if isinstance(name, str) else f"{name[0]}:{name[1]}"
            if sockets[0].family == socket.AF_INET6:
                where = f"[{name[0]}]:{name[1]}"
            kind = "udp" if sockets[0].type == socket.SOCK_DGRAM else "tcp"
            if sockets[0].family == socket.AF_UNIX:
                kind = "unix"
            shared = "shared" if len(sockets) == 1 else "SO_REUSEPORT"
            lines.append(f"{type(server).__name__} {kind} {where} ({shared})")
        return lines

    def close_slot(self, slot: int) -> None:
        """Close the sockets only ``slot`` used (its worker has exited for good).

        An ``SO_REUSEPORT`` socket left open would keep receiving its share of
        connections or datagrams with nobody to serve them.
        """
        for sockets in self._sockets:
            if len(sockets) > 1:
                sockets[slot].close()

    def close(self) -> None:
        """Close every socket; remove the files of UNIX listeners."""
        for sockets in self._sockets:
            for sock in sockets:
                path = _unix_path(sock)
                sock.close()
                if path:
                    _remove_socket_file(path)
        self._sockets = []


def hand_over(root: Manager, fds: list[int]) -> list[Server]:
    """Give each server of ``root``'s tree its inherited socket; return the servers.

    Raises:
        ValueError: the tree's servers are not those the supervisor bound (another
            number of them, or another family or type at some position).
    """
    servers = find_servers(root)
    if len(servers) != len(fds):
        raise ValueError(
            f"the factory built {len(servers)} server(s) here but {len(fds)} when the "
            "supervisor started: a factory must build the same servers every time"
        )
    for position, (server, fd) in enumerate(zip(servers, fds, strict=True)):
        sock = socket.socket(fileno=fd)
        sock.set_inheritable(False)
        try:
            server.use_socket(sock)
        except ValueError as exc:
            sock.close()
            raise ValueError(
                f"server {position} ({server!r}) does not match the supervisor's socket: {exc}"
            ) from None
    return servers


def _listen(sock: socket.socket, backlog: int) -> None:
    try:
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise


def _unix_path(sock: socket.socket) -> str | None:
    if sock.fileno() < 0 or sock.family != socket.AF_UNIX:
        return None
    name = sock.getsockname()
    return name if isinstance(name, str) and name else None


def _remove_socket_file(path: str) -> None:
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)
    except OSError:
        pass
