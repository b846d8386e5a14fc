"""Factories that the multicore tests run in worker processes (importable by name).

Every stream server greets a new connection with ``worker INDEX PID\\n`` and then
echoes every byte, so that a client knows which worker served it; the UDP server
answers each datagram with the greeting followed by the datagram.  Addresses come
from the environment (``TEST_PORT``, ``TEST_UNIX``), as the supervisor and every
worker must build the same servers.
"""

from __future__ import annotations

import os
from typing import Any

from trio_circuits import Component, Event, Manager, Timer, handler
from trio_circuits.multicore import worker_index
from trio_circuits.net.events import write
from trio_circuits.net.sockets import TCP6Server, TCPServer, UDPServer, UNIXServer

HOST = "127.0.0.1"


def greeting() -> bytes:
    """``worker INDEX PID\\n`` for this process."""
    return f"worker {worker_index()} {os.getpid()}\n".encode()


class Echo(TCPServer):
    """Greets, then echoes."""

    @handler("connect")
    def _on_connect(self, sock: Any, *peer: Any) -> None:
        self.fire(write(sock, greeting()))

    @handler("read")
    def _on_read(self, sock: Any, data: bytes) -> bytes:
        return data


class CountingEcho(Echo):
    """As :class:`Echo`; prints ``echoed PORT BYTES`` as each connection ends: the
    bytes echoed to the client at ``PORT``, so that a test can tell whether they all
    reached it."""

    def __init__(self, bind: Any) -> None:
        super().__init__(bind)
        self.echoed: dict[Any, list[int]] = {}

    @handler("connect")
    def _count_from(self, sock: Any, host: str, port: int) -> None:
        self.echoed[sock] = [port, 0]

    @handler("read", priority=1)
    def _count(self, sock: Any, data: bytes) -> None:
        self.echoed[sock][1] += len(data)

    @handler("disconnect")
    def _tell(self, sock: Any) -> None:
        port, count = self.echoed.pop(sock)
        print(f"echoed {port} {count}", flush=True)


class Echo6(TCP6Server):
    """Greets, then echoes, over IPv6."""

    @handler("connect")
    def _on_connect(self, sock: Any, *peer: Any) -> None:
        self.fire(write(sock, greeting()))

    @handler("read")
    def _on_read(self, sock: Any, data: bytes) -> bytes:
        return data


class UnixEcho(UNIXServer):
    """Greets, then echoes, on a UNIX socket."""

    @handler("connect")
    def _on_connect(self, sock: Any) -> None:
        self.fire(write(sock, greeting()))

    @handler("read")
    def _on_read(self, sock: Any, data: bytes) -> bytes:
        return data


class UdpEcho(UDPServer):
    """Answers a datagram with the greeting and the datagram."""

    @handler("read")
    def _on_read(self, address: Any, data: bytes) -> bytes:
        return greeting() + data


def _port() -> int:
    return int(os.environ.get("TEST_PORT", "0"))


def echo() -> Manager:
    """One TCP echo server on loopback (``TEST_PORT``, default an ephemeral port)."""
    return Echo((HOST, _port()))


def counting() -> Manager:
    """A :class:`CountingEcho` on loopback (``TEST_PORT``, default an ephemeral port)."""
    return CountingEcho((HOST, _port()))


def broken_when_flagged() -> Manager:
    """An echo server whose workers fail to start once the file ``TEST_FLAG`` exists
    (new code with a bug, for a reload)."""
    if worker_index() is not None and os.path.exists(os.environ["TEST_FLAG"]):
        raise RuntimeError("the new code is broken")
    return echo()


def slow_to_stop() -> Manager:
    """An echo server whose stop may wait 20 s for a peer to read what it was sent."""
    root = Manager()
    root.close_timeout = 20.0
    Echo((HOST, _port()), close_timeout=20.0).register(root)
    return root


def mixed() -> Manager:
    """A TCP, a TCP6, a UNIX (at ``TEST_UNIX``) and a UDP server in one tree."""
    root = Manager()
    Echo((HOST, 0), channel="tcp").register(root)
    Echo6(("::1", 0), channel="tcp6").register(root)
    UnixEcho(os.environ["TEST_UNIX"], channel="unix").register(root)
    UdpEcho((HOST, 0), channel="udp").register(root)
    return root


def failing() -> Manager:
    """Builds in the supervisor, raises in every worker."""
    if worker_index() is not None:
        raise RuntimeError("no database here")
    return echo()


class crash(Event):
    """Time for worker 1 to die."""


class Crasher(Component):
    """Worker 1 stops with status 1 shortly after it has started."""

    def started(self, root: Any) -> None:
        if worker_index() == 1:
            Timer(0.1, crash()).register(self)

    def crash(self) -> None:
        self.root.stop(1)


def crashing() -> Manager:
    """An echo server whose worker 1 keeps exiting with status 1."""
    root = echo()
    Crasher().register(root)
    return root


class Done(Component):
    """Stops the worker with status 0 shortly after it has started."""

    def started(self, root: Any) -> None:
        Timer(0.1, crash()).register(self)

    def crash(self) -> None:
        self.root.stop()


def finishing() -> Manager:
    """An echo server whose workers all exit with status 0 by themselves."""
    root = echo()
    Done().register(root)
    return root


class said(Event):
    """A line a client sent to worker ``index`` (bridged on ``"remote"``)."""


class Chat(TCPServer):
    """Greets with ``worker INDEX NODE\n`` (its bridge's node name); a line read on any
    connection of any worker is announced to every connection of every worker, through
    the bridge, as ``heard LINE from INDEX\n``."""

    def __init__(self, bind: Any, node: str) -> None:
        super().__init__(bind)
        self.node = node
        self.clients: set[Any] = set()

    @handler("connect")
    def _on_connect(self, sock: Any, *peer: Any) -> None:
        self.clients.add(sock)
        self.fire(write(sock, f"worker {worker_index()} {self.node}\n".encode()))

    @handler("disconnect")
    def _on_disconnect(self, sock: Any) -> None:
        self.clients.discard(sock)

    @handler("read")
    def _on_read(self, sock: Any, data: bytes) -> None:
        self.fire(said(data.decode().strip(), worker_index()), "remote")

    @handler("said", channel="remote")
    def _on_said(self, text: str, index: int) -> None:
        for sock in self.clients:
            self.fire(write(sock, f"heard {text} from {index}\n".encode()))


class Announce(Component):
    """Prints ``bridge ready`` once the bridge reads (the test waits for every worker's)."""

    @handler("ready", channel="bridge")
    def _on_ready(self, *args: Any) -> None:
        print("bridge ready", flush=True)


def bridged() -> Manager:
    """A :class:`Chat` server and a bridge to ``TEST_REDIS`` (node ``TEST_NODE``)."""
    from trio_circuits.bridge import RedisBridge

    node = os.environ.get("TEST_NODE") or None
    bridge = RedisBridge(os.environ["TEST_REDIS"], prefix=os.environ["TEST_PREFIX"], node=node)
    root = Chat((HOST, 0), bridge.node)
    bridge.register(root)
    Announce().register(root)
    return root
