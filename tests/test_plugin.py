"""The pytest plugin's fixtures, used as a project test would use them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable

import trio

from trio_circuits import Manager, handler
from trio_circuits.net.sockets import Connection, TCPServer
from trio_circuits.testing import Watcher


class Echo(TCPServer):
    @handler("read")
    def _echo(self, sock: Connection, data: bytes) -> bytes:
        return data


async def test_app_and_watcher_fixtures(
    app: Callable[[Manager], Awaitable[Manager]], watcher: Callable[[Manager], Watcher]
) -> None:
    server = Echo(("127.0.0.1", 0))
    w = watcher(server)
    started = await app(server)
    assert started is server
    assert server.running
    stream = await trio.open_tcp_stream("127.0.0.1", server.port)
    await stream.send_all(b"hi")
    with trio.fail_after(5):
        assert await stream.receive_some(10) == b"hi"
    ev = await w.wait("read", "server")
    assert ev.args[1] == b"hi"
    await stream.aclose()


def test_the_helpers_import_no_pytest() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["pytest"] = None  # importing pytest now fails
        from trio_circuits.testing import RedisServer, Watcher, create_cluster
        print("ok", "pytest" in sys.modules and sys.modules["pytest"] is not None)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.split() == ["ok", "False"]


def test_the_plugin_is_its_own_module_named_by_the_entry_point() -> None:
    from importlib.metadata import entry_points

    (point,) = [p for p in entry_points(group="pytest11") if p.name == "trio_circuits"]
    assert point.value == "trio_circuits.testing.plugin"
    assert point.load().app is not None
