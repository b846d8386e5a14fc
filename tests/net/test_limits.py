"""Resource exhaustion and the remaining client requests."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time

import trio

from trio_circuits import Component, Event, Manager, handler, open_app
from trio_circuits.net.events import connect, disconnect
from trio_circuits.net.sockets import Connection, TCPClient, TCPServer
from trio_circuits.testing import Watcher

EMFILE_SCRIPT = textwrap.dedent(
    """
    import errno, resource, socket, trio
    from trio_circuits import handler, open_app
    from trio_circuits.net.sockets import TCPServer
    from trio_circuits.testing import Watcher

    class Echo(TCPServer):
        @handler("read")
        def _echo(self, sock, data):
            return data

    async def main():
        server = Echo(("127.0.0.1", 0))
        w = Watcher(server)
        async with open_app(server):
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
            peers = []
            # Connect until the server runs out of descriptors (the backlog still
            # takes our connections: the kernel completes them).
            for _ in range(80):
                try:
                    peers.append(socket.create_connection(("127.0.0.1", server.port)))
                except OSError:
                    break
            ev = await w.wait("error", timeout=10)
            assert ev.args[0].errno in (errno.EMFILE, errno.ENFILE), ev.args
            for p in peers:
                p.close()
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            # The server kept its listener and serves again.
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            await stream.send_all(b"alive")
            with trio.fail_after(10):
                got = b""
                while len(got) < 5:
                    got += await stream.receive_some(10)
            assert got == b"alive"
            await stream.aclose()
        print("ok")

    trio.run(main)
    """
)


def test_emfile_on_accept_keeps_the_server_serving() -> None:
    result = subprocess.run(
        [sys.executable, "-c", EMFILE_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


async def test_client_ready_and_disconnect_request() -> None:
    class Echo(TCPServer):
        @handler("read")
        def _echo(self, sock: Connection, data: bytes) -> bytes:
            return data

    m = Manager()
    server = Echo(("127.0.0.1", 0)).register(m)
    client = TCPClient().register(m)
    w = Watcher(m)
    async with open_app(m):
        ev = await w.wait("ready", "client")
        assert ev.args == [client]
        m.fire(connect("127.0.0.1", server.port), "client")
        await w.wait("connected", "client")
        assert client.connected
        m.fire(disconnect(), "client")
        await w.wait("disconnected", "client")
        await w.wait("disconnect", "server")
        assert client.connection is None
        with trio.fail_after(5):
            while server.statistics()["connections"]:  # noqa: ASYNC110 (bounded poll)
                await trio.sleep(0.01)


class busy(Event):
    """Re-fires itself, holding the dispatcher half a millisecond each time."""


class Busy(Component):
    spins = 0

    def busy(self) -> None:
        self.spins += 1
        deadline = time.perf_counter() + 0.0005
        while time.perf_counter() < deadline:
            pass
        self.fire(busy())


async def test_a_busy_application_accepts_a_burst_of_connections_at_once() -> None:
    """New clients are not starved by a busy run-time.

    The dispatcher yields to other tasks every 512 events when nobody else is
    ready; here each event costs 0.5 ms, so a scheduling round lasts a quarter of a
    second.  Accepting one connection per round would take 12 s for 50 clients
    queued in the kernel; each wake-up takes what the queue holds.
    """
    m = Manager()
    spinner = Busy().register(m)
    server = TCPServer(("127.0.0.1", 0)).register(m)
    async with open_app(m):
        spinner.fire(busy())
        await trio.sleep(0.1)
        peers = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(50)]
        try:
            start = trio.current_time()
            for _ in range(100):  # looked at about once a round (~0.25 s here)
                if len(server.connections) == 50 or trio.current_time() - start > 5:
                    break
                await trio.sleep(0.05)
            assert len(server.connections) == 50
            assert spinner.spins > 500  # the run-time was busy all along
        finally:
            for peer in peers:
                peer.close()
