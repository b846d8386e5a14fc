"""The networking examples, run as programs and talked to over real sockets."""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import trio

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@contextmanager
def program(*args: str, first_word: int = -1) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run an example; yield it and a word of its first line; SIGINT it after."""
    proc = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first, proc.stderr.read() if proc.stderr else ""
        yield proc, first.split()[first_word]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err


def _port(address: str) -> int:
    return int(address.rpartition(":")[2])


async def _echo(stream: trio.abc.Stream, data: bytes) -> bytes:
    await stream.send_all(data)
    got = b""
    with trio.fail_after(10):
        while len(got) < len(data):
            got += await stream.receive_some(4096)
    return got


async def test_echoserver_tcp() -> None:
    with program(str(EXAMPLES / "echoserver.py"), "--bind", "127.0.0.1:0") as (_, address):
        stream = await trio.open_tcp_stream("127.0.0.1", _port(address))
        assert await _echo(stream, b"hello\n") == b"hello\n"
        await stream.aclose()


async def test_echoserver_unix(tmp_path: Path) -> None:
    path = str(tmp_path / "echo.sock")
    with program(str(EXAMPLES / "echoserver.py"), "--unix", path) as (_, address):
        assert address == path
        stream = await trio.open_unix_socket(path)
        assert await _echo(stream, b"unix\n") == b"unix\n"
        await stream.aclose()


async def test_echoserver_tls(
    cert_files: tuple[str, str, str], client_context: ssl.SSLContext
) -> None:
    certfile, keyfile, _ = cert_files
    args = ["--bind", "127.0.0.1:0", "--tls", "--certfile", certfile, "--keyfile", keyfile]
    with program(str(EXAMPLES / "echoserver.py"), *args) as (_, address):
        raw = await trio.open_tcp_stream("127.0.0.1", _port(address))
        tls = trio.SSLStream(raw, client_context, server_hostname="localhost")
        assert await _echo(tls, b"secret\n") == b"secret\n"
        await tls.aclose()


async def test_chatserver_relays_between_clients() -> None:
    with program(str(EXAMPLES / "chatserver.py"), "--bind", "127.0.0.1:0") as (_, address):
        port = _port(address)
        alice = await trio.open_tcp_stream("127.0.0.1", port)
        with trio.fail_after(10):
            assert b"Welcome" in await alice.receive_some(4096)
            bob = await trio.open_tcp_stream("127.0.0.1", port)
            assert b"Welcome" in await bob.receive_some(4096)
            assert b"joined" in await alice.receive_some(4096)
            await alice.send_all(b"hi bob\n")
            assert (await bob.receive_some(4096)).endswith(b"> hi bob\n")
            await bob.aclose()
            assert b"left" in await alice.receive_some(4096)
        await alice.aclose()


async def test_portforward_to_the_echo_server() -> None:
    with program(str(EXAMPLES / "echoserver.py"), "--bind", "127.0.0.1:0") as (_, echo):
        forward = [str(EXAMPLES / "portforward.py"), "127.0.0.1:0", echo]
        with program(*forward, first_word=1) as (_, source):
            streams = [await trio.open_tcp_stream("127.0.0.1", _port(source)) for _ in range(3)]
            for n, stream in enumerate(streams):
                assert await _echo(stream, f"via {n}\n".encode()) == f"via {n}\n".encode()
            for stream in streams:
                await stream.aclose()


async def _half_closed_request(port: int, request: bytes) -> bytes:
    """``printf REQUEST | nc -N``: send, half-close, read the reply until EOF."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(request)
    await stream.send_eof()
    reply = bytearray()
    with trio.fail_after(10):
        while data := await stream.receive_some(65536):
            reply += data
    await stream.aclose()
    return bytes(reply)


async def test_portforward_and_proxy_relay_a_half_close() -> None:
    """A client that sends and half-closes gets the far side's whole reply through
    either relay, as it does from the echo server itself."""
    with program(str(EXAMPLES / "echoserver.py"), "--bind", "127.0.0.1:0") as (_, echo):
        assert await _half_closed_request(_port(echo), b"x\n") == b"x\n"
        forwarders = [
            [str(EXAMPLES / "portforward.py"), "127.0.0.1:0", echo],
            [str(EXAMPLES / "proxy.py"), "--bind", "127.0.0.1:0", "--target", echo],
        ]
        for forward in forwarders:
            with program(*forward, first_word=1) as (_, source):
                assert await _half_closed_request(_port(source), b"x\n") == b"x\n"
                payload = bytes(range(256)) * 400
                for _ in range(5):
                    assert await _half_closed_request(_port(source), payload) == payload
                # Still serving.
                stream = await trio.open_tcp_stream("127.0.0.1", _port(source))
                assert await _echo(stream, b"after\n") == b"after\n"
                await stream.aclose()


def test_examples_on_a_busy_port_exit_with_one_line() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for example in ("echoserver.py", "chatserver.py"):
            result = subprocess.run(
                [sys.executable, str(EXAMPLES / example), "--bind", f"127.0.0.1:{port}"],
                capture_output=True,
                text=True,
                timeout=20,
            )
            assert result.returncode == 1, result.stderr
            assert "in use" in result.stderr
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_telnet_secure_against_an_untrusted_server_exits(
    cert_files: tuple[str, str, str],
) -> None:
    certfile, keyfile, _ = cert_files
    args = ["--bind", "127.0.0.1:0", "--tls", "--certfile", certfile, "--keyfile", keyfile]
    with program(str(EXAMPLES / "echoserver.py"), *args) as (_, address):
        result = telnet("--secure", "127.0.0.1", str(_port(address)), text="hello\n")
    assert result.returncode == 1, result.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr
    assert "Traceback" not in result.stderr


def telnet(*args: str, text: str) -> subprocess.CompletedProcess[str]:
    """Run the telnet example with ``text`` on its standard input."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "telnet.py"), *args],
        input=text,
        capture_output=True,
        text=True,
        timeout=20,
    )


def test_telnet_client_to_the_echo_server(tmp_path: Path) -> None:
    with program(str(EXAMPLES / "echoserver.py"), "--bind", "127.0.0.1:0") as (_, address):
        result = telnet("127.0.0.1", str(_port(address)), text="line one\nline two\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "line one\nline two\n"
    assert "Connected to 127.0.0.1" in result.stderr


async def test_udpecho() -> None:
    import socket

    with program(str(EXAMPLES / "udpecho.py"), "--bind", "127.0.0.1:0") as (_, address):
        with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
            await peer.sendto(b"datagram", ("127.0.0.1", _port(address)))
            with trio.fail_after(10):
                data, _ = await peer.recvfrom(100)
        assert data == b"datagram"


async def test_proxy_to_the_echo_server() -> None:
    with program(str(EXAMPLES / "echoserver.py"), "--bind", "127.0.0.1:0") as (_, echo):
        args = ["--bind", "127.0.0.1:0", "--target", echo]
        with program(str(EXAMPLES / "proxy.py"), *args, first_word=1) as (_, source):
            streams = [await trio.open_tcp_stream("127.0.0.1", _port(source)) for _ in range(3)]
            for n, stream in enumerate(streams):
                payload = f"proxied {n}\n".encode()
                assert await _echo(stream, payload) == payload
            for stream in streams:
                await stream.aclose()


def test_telnet_over_udp_and_unix(tmp_path: Path) -> None:
    with program(str(EXAMPLES / "udpecho.py"), "--bind", "127.0.0.1:0") as (_, address):
        result = telnet("--udp", "127.0.0.1", str(_port(address)), text="datagram\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "datagram\n"
    path = str(tmp_path / "echo.sock")
    with program(str(EXAMPLES / "echoserver.py"), "--unix", path):
        result = telnet("--unix", path, text="over unix\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "over unix\n"
