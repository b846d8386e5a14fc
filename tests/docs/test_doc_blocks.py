"""Every code block of the tutorial and of the README runs, and does what the text says.

The markers that say how each block is run are described in :mod:`tests.docs.blocks`.
Scripts and pytest modules are checked generically; each server has a driver here
that talks to it with real clients, as the page tells the reader to.
"""

from __future__ import annotations

import ast
import shutil
import signal
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .blocks import Block, Document, check, parse
from .runner import (
    Context,
    Server,
    check_run,
    free_port,
    run_commands,
    run_python,
    with_port,
)

ROOT = Path(__file__).resolve().parents[2]
GROUPS: dict[str, list[Path]] = {
    "tutorial": sorted((ROOT / "docs" / "tutorial").glob("*.rst")),
    "readme": [ROOT / "README.md"],
}
DOCUMENTS: dict[str, list[Document]] = {
    group: [parse(path) for path in paths] for group, paths in GROUPS.items()
}
PROBLEMS: dict[str, list[str]] = {group: check(docs) for group, docs in DOCUMENTS.items()}
BLOCKS: list[tuple[str, Block]] = [
    (group, block) for group, docs in DOCUMENTS.items() for doc in docs for block in doc.blocks
]


def blocks(*roles: str) -> list[object]:
    return [
        pytest.param(group, block, id=f"{group}:{block.id}")
        for group, block in BLOCKS
        if block.role in roles
    ]


# -- the reader's directory ---------------------------------------------------------


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A group's directory as a reader has it: every file saved, the commands run."""
    _prepared: dict[str, Path] = {}

    def prepare(group: str) -> Path:
        if group not in _prepared:
            where = tmp_path_factory.mktemp(group)
            for _, block in (b for b in BLOCKS if b[0] == group):
                if block.role in ("script", "server", "client", "pytest", "file"):
                    (where / block.name).write_text(block.text)
            for _, block in (b for b in BLOCKS if b[0] == group):
                if block.role == "command":
                    run_commands(block, where)
            _prepared[group] = where
        return _prepared[group]

    return prepare


def workdir(prepared: Callable[[str], Path], group: str, tmp_path: Path) -> Path:
    """A fresh copy of the group's directory for one test."""
    work = tmp_path / group
    shutil.copytree(prepared(group), work)
    return work


# -- the markers --------------------------------------------------------------------


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_block_is_marked(group: str) -> None:
    assert GROUPS[group], f"no documents found for {group}"
    assert PROBLEMS[group] == []


def test_the_tutorial_has_its_eight_steps() -> None:
    steps = [p.name for p in GROUPS["tutorial"] if p.name[0].isdigit()]
    assert [s.split("-")[0] for s in steps] == [str(n) for n in range(1, 9)]
    roles = {block.role for group, block in BLOCKS if group == "tutorial"}
    assert {"script", "output", "server", "client", "pytest", "command"} <= roles


# -- scripts, tests, fragments ------------------------------------------------------


@pytest.mark.parametrize(("group", "block"), blocks("script"))
def test_script(group: str, block: Block, prepared: Callable[[str], Path], tmp_path: Path) -> None:
    check_run(block, run_python(workdir(prepared, group, tmp_path), block.name))


@pytest.mark.parametrize(("group", "block"), blocks("pytest"))
def test_pytest_module(
    group: str, block: Block, prepared: Callable[[str], Path], tmp_path: Path
) -> None:
    result = run_python(workdir(prepared, group, tmp_path), "-m", "pytest", "-q", block.name)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary.startswith(f"{block.options['passed']} passed in "), result.stdout


@pytest.mark.parametrize(("group", "block"), blocks("partial"))
def test_partial(
    group: str, block: Block, prepared: Callable[[str], Path], tmp_path: Path
) -> None:
    prelude = block.options.get("prelude")
    if prelude is None:  # a fragment that cannot run alone: its syntax, at least
        compile(block.text, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        return
    work = workdir(prepared, group, tmp_path)
    (work / "partial.py").write_text(f"{prelude}\n{block.text}")
    check_run(block, run_python(work, "partial.py"))


# -- servers ------------------------------------------------------------------------

Driver = Callable[[Context], None]
DRIVERS: dict[str, Driver] = {}


def driver(key: str) -> Callable[[Driver], Driver]:
    def register(fn: Driver) -> Driver:
        DRIVERS[key] = fn
        return fn

    return register


def test_every_server_has_a_driver() -> None:
    servers = {f"{group}:{block.name}" for group, block in BLOCKS if block.role == "server"}
    assert servers == set(DRIVERS)


@pytest.mark.parametrize(("group", "block"), blocks("server"))
def test_server(group: str, block: Block, prepared: Callable[[str], Path], tmp_path: Path) -> None:
    drive = DRIVERS[f"{group}:{block.name}"]
    work = workdir(prepared, group, tmp_path)
    port = free_port()
    (work / block.name).write_text(with_port(block.text, block.options["port"], port))
    clients = {
        b.name: b
        for g, b in BLOCKS
        if g == group and b.role == "client" and b.options["server"] == block.name
    }
    with Server(work, block.name) as server:
        if block.options.get("ready") == "probe":
            server.probe(port)
        else:
            assert server.expect("Listening on").startswith(f"Listening on 127.0.0.1:{port}")
        context = Context(block, server, port, work, clients)
        drive(context)
        status = server.stop()
    assert status == 0, server.stderr
    assert server.stderr == ""
    assert context.ran == set(clients), "clients the driver did not run"


@driver("readme:echo.py")
def drive_readme_echo(ctx: Context) -> None:
    with ctx.peer() as peer:
        peer.send(b"hello")
        assert peer.receive(5) == b"hello"


@driver("tutorial:echo.py")
def drive_echo(ctx: Context) -> None:
    with ctx.peer() as peer:
        peer.send(b"hello\n")
        assert peer.receive(6) == b"hello\n"
        host, port = peer.sock.getsockname()[:2]
        assert ctx.server.expect("connected") == f"{host}:{port} connected"
        peer.send(b"one\ntwo\n")
        peer.half_close()
        assert peer.rest() == b"one\ntwo\n"
    assert ctx.server.expect("left") == f"{host}:{port} left"

    # A peer that sends and does not read: the server stops reading it, and loses
    # nothing.
    with ctx.peer() as peer:
        sent = _send_until_blocked(peer.sock, limit=64 << 20)
        assert sent < 32 << 20
        time.sleep(0.3)
        # Still (nearly) not read: the kernel's buffers may settle by a few KiB.
        more = _send_until_blocked(peer.sock, limit=8 << 20, start=sent)
        assert more < 1 << 20, more
        sent += more
        peer.sock.setblocking(True)
        peer.sock.settimeout(10)
        assert peer.receive(sent) == _pattern(sent)

    # A second copy on the same port does not start.
    result = run_python(ctx.cwd, ctx.block.name)
    assert result.returncode == 1
    assert result.stderr == (
        f"could not start: [Errno 98] cannot bind ('127.0.0.1', {ctx.port}): "
        "Address already in use\n"
    )


def _pattern(size: int) -> bytes:
    return (bytes(range(256)) * (size // 256 + 1))[:size]


def _send_until_blocked(sock: socket.socket, limit: int, start: int = 0) -> int:
    """Send the pattern from ``start`` without blocking until the kernel refuses more."""
    sock.setblocking(False)
    sent = 0
    data = _pattern(start + limit)[start:]
    while sent < limit:
        try:
            sent += sock.send(data[sent : sent + 65536])
        except BlockingIOError:
            time.sleep(0.2)  # the server may still be catching up
            try:
                sent += sock.send(data[sent : sent + 65536])
            except BlockingIOError:
                break
    return sent


@driver("tutorial:chat.py")
def drive_chat(ctx: Context) -> None:
    welcome = "* welcome, {}! /nick NAME renames you, /who lists users"
    with ctx.peer() as alice, ctx.peer() as bob:
        assert alice.line() == welcome.format("guest1")
        assert bob.line() == welcome.format("guest2")
        assert alice.line() == "* guest2 joined"
        alice.say("/nick alice")
        assert alice.line() == bob.line() == "* guest1 is now alice"
        alice.say("hello, whoever you are")
        assert bob.line() == "<alice> hello, whoever you are"
        bob.say("I am bob")
        assert alice.line() == "<guest2> I am bob"
        bob.say("/nick bob")
        assert alice.line() == bob.line() == "* guest2 is now bob"
        bob.say("/who")
        assert bob.line() == "* users: alice, bob"

        # printf '/nick carol\n/who\n' | nc -N: a half-closing client gets every answer
        with ctx.peer() as carol:
            carol.send(b"/nick carol\n/who\n")
            carol.half_close()
            assert carol.rest().decode().splitlines() == [
                welcome.format("guest3"),
                "* guest3 is now carol",
                "* users: alice, bob, carol",
            ]
        assert alice.lines(3) == ["* guest3 joined", "* guest3 is now carol", "* carol left"]

        # An over-long line closes that connection only.
        with ctx.peer() as mallory:
            assert mallory.line() == welcome.format("guest4")
            mallory.send(b"x" * 70_000)
            assert mallory.rest() == b""
        assert alice.lines(2) == ["* guest4 joined", "* guest4 left"]
        bob.say("still here")
        assert alice.line() == "<bob> still here"


@driver("tutorial:tls_echo.py")
def drive_tls_echo(ctx: Context) -> None:
    trusting = ssl.create_default_context(cafile=str(ctx.cwd / "client.pem"))
    with ctx.peer(trusting) as peer:
        peer.send(b"hello\n")
        assert peer.receive(6) == b"hello\n"
    # A client that does not speak TLS never holds up the others.
    with ctx.peer() as plain:
        plain.send(b"GET / HTTP/1.0\r\n\r\n")
        with ctx.peer(trusting) as peer:
            peer.send(b"still fine\n")
            assert peer.receive(11) == b"still fine\n"
    # A client that does not trust the certificate fails its handshake.
    with pytest.raises(ssl.SSLCertVerificationError):
        ctx.peer(ssl.create_default_context()).close()
    ctx.run_client("tls_client.py")


@driver("tutorial:dictserver.py")
def drive_dictserver(ctx: Context) -> None:
    with ctx.peer() as peer:
        peer.send(b"trio\nspam\ncircuit\n")
        peer.half_close()
        answers = peer.rest().decode().splitlines()
    assert sorted(answers) == ["circuit: a closed loop", "spam: ?", "trio: a group of three"]
    assert ctx.server.expect("failed") == "lookup failed: KeyError 'spam'"
    # One request per read: the answers keep the order of the questions.
    with ctx.peer() as peer:
        for word in ("circuit", "trio", "spam"):
            peer.say(word)
            assert peer.line().startswith(f"{word}: ")


@driver("tutorial:graceful_chat.py")
def drive_graceful_chat(ctx: Context) -> None:
    with ctx.peer() as alice, ctx.peer() as bob:
        alice.line()
        bob.line()
        assert alice.line() == "* guest2 joined"
        ctx.server.proc.send_signal(signal.SIGTERM)
        for user in (alice, bob):
            assert user.rest() == b"* the server is going down, goodbye\n"
    assert ctx.server.stop(None) == 0  # it stops by itself
    assert ctx.server.stdout[-2:] == [
        "signal 15: saying goodbye",
        "stopped with 2 users connected",
    ]
