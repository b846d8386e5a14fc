"""UDP servers and clients on 127.0.0.1 and ::1, peers in plain Trio."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import trio

from trio_circuits import Manager, handler, open_app
from trio_circuits.net.events import broadcast, close, write
from trio_circuits.net.sockets import UDP6Server, UDPClient, UDPServer
from trio_circuits.testing import Watcher

from ..conftest import has_ipv6_loopback


class Echo(UDPServer):
    @handler("read")
    def _echo(self, address: tuple[str, int], data: bytes) -> bytes:
        return data


class Echo6(UDP6Server):
    @handler("read")
    def _echo(self, address: Any, data: bytes) -> bytes:
        return data


async def _ask(family: socket.AddressFamily, address: tuple[str, int], data: bytes) -> bytes:
    with trio.socket.socket(family, socket.SOCK_DGRAM) as peer:
        await peer.sendto(data, address)
        with trio.fail_after(5):
            reply, _ = await peer.recvfrom(65536)
    return reply


async def test_udp_echo_with_a_plain_trio_peer() -> None:
    server = Echo(("127.0.0.1", 0))
    w = Watcher(server)
    async with open_app(server):
        ready = await w.wait("ready", "server")
        assert ready.args == [server, ("127.0.0.1", server.port)]
        assert await _ask(socket.AF_INET, ("127.0.0.1", server.port), b"ping") == b"ping"
        ev = await w.wait("read", "server")
        assert ev.args[1] == b"ping"
        assert ev.args[0][0] == "127.0.0.1"


async def test_udp_client_and_server_both_ways_and_close_events() -> None:
    m = Manager()
    server = Echo(("127.0.0.1", 0)).register(m)
    client = UDPClient(("127.0.0.1", 0)).register(m)
    w = Watcher(m)
    async with open_app(m):
        assert client.port
        m.fire(write(("127.0.0.1", server.port), b"hello"), "client")
        ev = await w.wait("read", "client")
        assert ev.args == [("127.0.0.1", server.port), b"hello"]
        m.fire(close(), "client")
        await w.wait("closed", "client")
        assert not [e for e in w.seen if e.name == "disconnect"]
        m.fire(close(), "server")
        ev = await w.wait("disconnect", "server")
        await w.wait("closed", "server")
        names = [e.name for e in w.seen]
        assert "closed" not in names  # consumed in order: disconnect, then closed


async def test_rebind_after_unregister() -> None:
    m = Manager()
    server = Echo(("127.0.0.1", 0)).register(m)
    w = Watcher(m)
    async with open_app(m):
        port = server.port
        server.unregister()
        await w.wait("unregistered")
        with trio.fail_after(5):
            while server.port is not None:  # noqa: ASYNC110 (bounded poll)
                await trio.sleep(0.01)
        w.clear()
        again = Echo(("127.0.0.1", port)).register(m)
        await w.wait("ready")
        assert again.port == port
        assert await _ask(socket.AF_INET, ("127.0.0.1", port), b"again") == b"again"


async def test_flooding_peer_does_not_grow_the_queue() -> None:
    server = Echo(("127.0.0.1", 0))
    async with open_app(server):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
            peer.setblocking(False)
            peak = 0
            for n in range(3000):
                try:
                    peer.sendto(b"x" * 512, ("127.0.0.1", server.port))
                except BlockingIOError:
                    pass
                peak = max(peak, len(server))
                if n % 100 == 0:
                    await trio.lowlevel.checkpoint()
        # One read at a time is queued, plus its write-back: the kernel holds the rest.
        assert peak <= 4


async def test_error_on_an_address_in_use() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        server = Echo(("127.0.0.1", taken.getsockname()[1]))
        w = Watcher(server)
        with pytest.raises(OSError, match="in use"):
            async with open_app(server):
                pytest.fail("the application started on an address in use")
        errors = [e for e in w.seen if e.name == "error"]
        assert len(errors) == 1
        assert isinstance(errors[0].args[0], OSError)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        UDPServer(70000)
    with pytest.raises(TypeError):
        UDPServer(["x"])


async def test_bad_write_address_is_an_error() -> None:
    server = Echo(("127.0.0.1", 0))
    async with open_app(server):
        with pytest.raises(TypeError):
            await server.call(write("nowhere", b"x"))
        v = server.fire(write(("127.0.0.1", 70000), b"x"))
        with pytest.raises(ValueError):
            await v.wait()


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
async def test_udp6() -> None:
    server = Echo6(("::1", 0))
    async with open_app(server):
        assert await _ask(socket.AF_INET6, ("::1", server.port), b"six") == b"six"


async def test_broadcast_on_the_loopback_network() -> None:
    # 127.255.255.255 is the broadcast address of 127/8: it never leaves the machine.
    m = Manager()
    receiver = Echo(("0.0.0.0", 0)).register(m)
    sender = UDPClient(("127.0.0.1", 0), broadcast_address="127.255.255.255").register(m)
    w = Watcher(m)
    async with open_app(m):
        m.fire(broadcast(b"to all", receiver.port), "client")
        ev = await w.wait("read", "server")
        assert ev.args == [("127.0.0.1", sender.port), b"to all"]
        # The echo came back to the sender.
        assert (await w.wait("read", "client")).args[1] == b"to all"


class NamedRelay(UDPServer):
    """Passes each datagram on to a *named* host: every send resolves the name first."""

    target: tuple[str, int] = ("localhost", 9)
    most = 0

    @handler("read")
    def _relay(self, address: Any, data: bytes) -> None:
        self.fire(write(self.target, data))
        self.most = max(self.most, self.buffered)


async def test_a_relay_faster_than_its_sends_is_held() -> None:
    """A UDP relay whose sends are slower than its reads queues a bounded amount.

    Each send to ``localhost`` resolves the name in a thread, far slower than a
    read: without back-pressure the queue grows with every datagram of the flood.
    """
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as source,
    ):
        sink.bind(("127.0.0.1", 0))
        sink.setblocking(False)
        relay = NamedRelay(("127.0.0.1", 0))
        relay.target = ("localhost", sink.getsockname()[1])
        async with open_app(relay):
            datagram = b"d" * 8192

            def flood() -> None:  # the kernel drops what the relay's buffer cannot hold
                for _ in range(20_000):
                    source.sendto(datagram, ("127.0.0.1", relay.port))

            await trio.to_thread.run_sync(flood)
            for _ in range(200):  # until the relay has sent what it took (10 s at most)
                if relay.buffered == 0 and relay.most:
                    break
                await trio.sleep(0.05)
        # 64 KiB of 8 KiB datagrams, and the reads in flight: not thousands.
        assert 0 < relay.most <= 16, relay.most
