"""Datagram components: UDP servers and clients on ``trio.socket``.

One reader task (``recvfrom``) and one writer task (``sendto``) per component, under
its cancel scope.  The reader fires each datagram through a
:class:`~._gate.ReadGate`, as stream connections do: it receives the next only once
the cascade of the previous ``read`` has completed and the application's intake
admits it.  Excess datagrams meanwhile wait in (or are dropped by) the kernel,
which is UDP's own back-pressure.  Writes are queued and sent in order.
"""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Hashable
from typing import Any

import trio

from ..core.components import BaseComponent
from ..core.flow import DrainWait, Intake, IOStatus, cascade_root
from ..core.handlers import handler
from ..core.values import Value
from ._bind import (
    adopt_socket,
    bind_socket,
    check_options,
    check_port,
    parse_inet,
    passive_address,
    resolve_passive,
    reuse_port_options,
)
from ._gate import ReadGate, Wakeup
from ._settings import HIGH_WATER
from ._start import cannot_start
from .events import closed, disconnect, drain, error, read, ready

_MAX_DATAGRAM = 65536


class UDPServer(BaseComponent):
    """A UDP endpoint bound to ``bind`` (default channel ``"server"``).

    Args:
        bind: a port (all interfaces), ``"host:port"``, ``(host, port)`` or a bound
            socket; port 0 picks a free port (see :attr:`port` after ``ready``).
        channel: the channel of its events.
        broadcast_address: where ``broadcast(data, port)`` sends (default
            ``"<broadcast>"``, i.e. 255.255.255.255).
        socket_options: ``(level, option, value)`` triples set on the socket before
            it is bound.

    Fires ``ready(component, (host, port))``, ``read((host, port), data)``,
    ``error(sock, err)``, and on ``close()`` ``disconnect(sock)`` then ``closed()``;
    handles ``write((host, port), data)``, ``broadcast(data, port)`` and ``close()``.
    A ``read`` handler that returns bytes has them sent back to the sender.
    """

    channel: Hashable = "server"
    _family = socket.AF_INET
    _client = False

    def __init__(
        self,
        bind: Any = 0,
        channel: Hashable | None = None,
        *,
        broadcast_address: str = "<broadcast>",
        socket_options: list[tuple[int, int, Any]] | None = None,
    ) -> None:
        self._address = parse_inet(bind, self._family)
        if not isinstance(broadcast_address, str):
            raise TypeError("broadcast_address must be a str")
        self._options = check_options(socket_options)
        super().__init__(channel=channel or type(self).channel)
        self.broadcast_address = broadcast_address
        self._sock: trio.socket.SocketType | None = None
        self._out: deque[tuple[Any, bytes]] = deque()
        self._out_size = 0  # bytes queued, and the datagram being sent
        self._drained = DrainWait()
        self._wakeup = trio.Event()
        self._closing = False

    @property
    def host(self) -> Any:
        """The bound host (``None`` until ready and after closing)."""
        return None if self._sock is None else self._sock.getsockname()[0]

    @property
    def port(self) -> Any:
        """The bound port (``None`` until ready and after closing)."""
        return None if self._sock is None else self._sock.getsockname()[1]

    @property
    def buffered(self) -> int:
        """Datagrams queued and not yet sent."""
        return len(self._out)

    def open_socket(self, *, reuse_port: bool = False, port: int | None = None) -> socket.socket:
        """A new socket bound as this endpoint binds at start, owned by the caller.

        Bound to its address (on ``port`` instead of its port, if given) with
        ``SO_BROADCAST`` and its ``socket_options``, plus ``SO_REUSEPORT`` if
        ``reuse_port`` (the kernel then spreads datagrams over the sockets bound to
        the same port: one per worker under ``trio_circuits.run(..., workers=N)``).
        A host name is looked up here (blocking).  Hand it over with
        :meth:`use_socket`.

        Raises:
            OSError: the bind failed (the socket is closed).
            ValueError: this endpoint was given a socket rather than an address, or
                ``SO_REUSEPORT`` does not exist here.
        """
        if isinstance(self._address, socket.socket):
            raise ValueError(f"{self!r} was given a socket, not an address to bind")
        host, bound_port = self._address
        bound_port = bound_port if port is None else check_port(port)
        address = passive_address(host, bound_port, self._family, socket.SOCK_DGRAM)
        return self._bind_to(address, reuse_port)

    def use_socket(self, sock: socket.socket) -> None:
        """Receive and send on ``sock``, a bound socket, instead of binding ``bind``.

        Call it before the application starts.  The endpoint takes the socket over
        and closes it when it closes.

        Raises:
            TypeError, ValueError: ``sock`` is not a bound datagram socket of this
                endpoint's family.
            RuntimeError: the application is running.
        """
        if self.running:
            raise RuntimeError("use_socket() must be called before the application starts")
        adopt_socket(sock, self._family, socket.SOCK_DGRAM)
        self._address = sock

    async def run_io(self, *, task_status: IOStatus) -> None:
        """Receive and send datagrams until closed."""
        try:
            sock = await self._open()
        except OSError as exc:
            cannot_start(self, exc, task_status)
            return
        self._sock = sock
        self._closing = False
        try:
            task_status.started(self.fire(ready(self, (self.host, self.port))))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._reader, sock, task_status.intake)
                await self._writer(sock)
                nursery.cancel_scope.cancel()
        finally:
            self._sock = None
            sock.close()
        if not self._client:
            self.fire(disconnect(sock))
        self.fire(closed())

    async def _open(self) -> trio.socket.SocketType:
        address = self._address
        if isinstance(address, socket.socket):
            return trio.socket.from_stdlib_socket(address)
        resolved = await resolve_passive(*address, self._family, socket.SOCK_DGRAM)
        return trio.socket.from_stdlib_socket(self._bind_to(resolved, False))

    def _bind_to(self, address: Any, reuse_port: bool) -> socket.socket:
        options = [(socket.SOL_SOCKET, socket.SO_BROADCAST, 1), *self._options]
        options = reuse_port_options(options, reuse_port)
        return bind_socket(self._family, socket.SOCK_DGRAM, address, options)

    async def _reader(self, sock: trio.socket.SocketType, intake: Intake) -> None:
        wakeup = Wakeup()
        gate = ReadGate(intake, wakeup.poke, self._write_back)
        while True:
            while gate.pending:
                await wakeup.wait()
            try:
                data, address = await sock.recvfrom(_MAX_DATAGRAM)
            except OSError as exc:
                # e.g. an ICMP "port unreachable" for an earlier datagram: report it
                # and keep serving.
                self.fire(error(sock, exc))
                continue
            if not data:
                continue
            await gate.fire(self.fire, read(tuple(address[:2]), data), len(data))

    async def _writer(self, sock: trio.socket.SocketType) -> None:
        while True:
            if not self._out:
                if self._closing:
                    return
                self._wakeup = trio.Event()
                await self._wakeup.wait()
                continue
            address, data = self._out.popleft()
            try:
                await sock.sendto(data, address)
            except OSError as exc:
                self.fire(error(sock, exc))
            finally:
                self._out_size -= len(data)
                self._progress()

    def _progress(self) -> None:
        """Datagrams went out (or the socket is closing): wake the drain waits, if due."""
        if self._drained.waiting and (self._out_size <= HIGH_WATER // 2 or self._closing):
            self._drained.wake()

    def _write_back(self, value: Value, data: bytes) -> None:
        """Bytes returned by a ``read`` handler go back to the datagram's sender."""
        if self._closing or value.event is None:
            return  # closing: nothing more is sent (called from the dispatcher: no raise)
        self._send_later(value.event.args[0], data)

    def _send_later(self, address: Any, data: bytes) -> None:
        if self._closing:
            raise trio.ClosedResourceError(f"{self!r} is closing")
        self._out.append((address, data))
        self._out_size += len(data)
        self._wakeup.set()
        if self._out_size > HIGH_WATER and cascade_root() is not None:
            # Hold the cascade that is writing (a relay of a faster source) until the
            # kernel has taken the queue down to half the mark: bounded, nothing lost.
            self.fire(drain(self))

    @handler("drain")
    async def _on_drain(self, target: Any) -> None:
        if target is self:
            await self._drained.until(lambda: self._out_size <= HIGH_WATER // 2 or self._closing)

    def stop_io(self) -> None:
        """Send what is queued, then close."""
        self._closing = True
        self._wakeup.set()
        self._progress()

    @handler("write")
    def _on_write(self, address: Any, data: bytes) -> None:
        if not isinstance(address, tuple) or len(address) < 2:
            raise TypeError(f"a UDP write needs a (host, port) address, not {address!r}")
        check_port(address[1])
        self._send_later(address, bytes(data))

    @handler("broadcast")
    def _on_broadcast(self, data: bytes, port: int) -> None:
        self._send_later((self.broadcast_address, check_port(port)), bytes(data))

    @handler("close")
    def _on_close(self) -> None:
        self.stop_io()


class UDP6Server(UDPServer):
    """A UDP endpoint on IPv6 (binds ``::`` for a bare port); see :class:`UDPServer`."""

    _family = socket.AF_INET6


class UDPClient(UDPServer):
    """A UDP client (default channel ``"client"``): bound to an ephemeral port unless
    ``bind`` says otherwise; ``close()`` fires ``closed()``.  See :class:`UDPServer`."""

    channel: Hashable = "client"
    _client = True


class UDP6Client(UDPClient):
    """A UDP client on IPv6; see :class:`UDPClient`."""

    _family = socket.AF_INET6
