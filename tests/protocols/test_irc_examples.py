"""The IRC examples against a real IRC client library nobody here wrote (PyPI ``irc``).

``examples/ircd.py`` is driven by two ``irc.client`` connections; ``examples/ircbot.py``
and ``examples/ircclient.py`` talk to ``examples/ircd.py``.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import irc.client
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@contextmanager
def ircd() -> Iterator[int]:
    """Run the IRC server example on an ephemeral port; yield the port."""
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "ircd.py"), "--bind", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("ircd listening on"), proc.stderr.read() if proc.stderr else ""
        yield int(first.rpartition(":")[2])
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err


class Peer:
    """One ``irc.client`` connection and the events it received."""

    def __init__(self, reactor: irc.client.Reactor, port: int, nick: str) -> None:
        self.events: list[tuple[str, str, str, list[str]]] = []
        self.connection = reactor.server().connect("127.0.0.1", port, nick)
        self.connection.add_global_handler("all_events", self._record, -10)

    def _record(self, connection: Any, event: Any) -> None:
        if connection is self.connection:
            self.events.append(
                (event.type, str(event.source), str(event.target), list(event.arguments))
            )

    def seen(self, kind: str, *args: str) -> bool:
        return any(e[0] == kind and list(args) == e[3][: len(args)] for e in self.events)


def pump(reactor: irc.client.Reactor, until: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the IRC server")
        reactor.process_once(0.05)


def test_two_irc_clients_chat_through_the_ircd_example() -> None:
    with ircd() as port:
        reactor = irc.client.Reactor()
        alice = Peer(reactor, port, "alice")
        bob = Peer(reactor, port, "bob")
        pump(reactor, lambda: alice.seen("welcome") and bob.seen("welcome"))

        alice.connection.join("#room")
        pump(reactor, lambda: alice.seen("endofnames"))
        bob.connection.join("#room")
        pump(
            reactor, lambda: any(e[0] == "join" and e[1].startswith("bob!") for e in alice.events)
        )

        alice.connection.privmsg("#room", "hello bob")
        pump(reactor, lambda: bob.seen("pubmsg", "hello bob"))
        bob.connection.notice("#room", "a notice")
        pump(reactor, lambda: alice.seen("pubnotice", "a notice"))
        bob.connection.privmsg("alice", "just for you")
        pump(reactor, lambda: alice.seen("privmsg", "just for you"))
        assert not bob.seen("pubmsg", "a notice")  # nobody hears their own message

        bob.connection.nick("robert")
        # Both hear of it; which of the two the server's lines reach first is theirs.
        pump(reactor, lambda: any(e[0] == "nick" and e[2] == "robert" for e in alice.events))
        pump(reactor, lambda: any(e[0] == "nick" and e[2] == "robert" for e in bob.events))
        assert bob.connection.get_nickname() == "robert"
        alice.connection.nick("robert")  # taken
        pump(reactor, lambda: alice.seen("nicknameinuse"))

        bob.connection.part("#room", "see you")
        pump(
            reactor,
            lambda: any(e[0] == "part" and e[1].startswith("robert!") for e in alice.events),
        )
        bob.connection.join("#room")
        pump(reactor, lambda: bob.seen("endofnames"))
        bob.connection.quit("bye all")
        pump(reactor, lambda: alice.seen("quit", "bye all"))
        pump(reactor, lambda: not bob.connection.is_connected())
        alice.connection.quit()
        pump(reactor, lambda: not alice.connection.is_connected())


def test_the_ircd_example_answers_ping_and_rejects_garbage() -> None:
    with ircd() as port:
        reactor = irc.client.Reactor()
        peer = Peer(reactor, port, "carol")
        pump(reactor, lambda: peer.seen("welcome"))
        peer.connection.ping("token-1")
        pump(reactor, lambda: any(e[0] == "pong" and "token-1" in e[3] for e in peer.events))
        peer.connection.send_raw("PRIVMSG #nowhere :hello")
        pump(reactor, lambda: peer.seen("nosuchchannel", "#nowhere"))
        peer.connection.quit()
        pump(reactor, lambda: not peer.connection.is_connected())


def test_ircbot_example_echoes_in_its_channel() -> None:
    with ircd() as port:
        bot = subprocess.Popen(
            [
                sys.executable,
                str(EXAMPLES / "ircbot.py"),
                "127.0.0.1",
                str(port),
                "--nick",
                "echobot",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            reactor = irc.client.Reactor()
            peer = Peer(reactor, port, "dave")
            pump(reactor, lambda: peer.seen("welcome"))
            peer.connection.join("#circuits")
            pump(reactor, lambda: peer.seen("endofnames"))
            pump(
                reactor,
                lambda: any(e[0] == "join" and e[1].startswith("echobot!") for e in peer.events),
                timeout=15,
            )
            peer.connection.privmsg("#circuits", "echo me")
            pump(reactor, lambda: peer.seen("pubmsg", "echo me"))
            peer.connection.privmsg("echobot", "private echo")
            pump(reactor, lambda: peer.seen("privmsg", "private echo"))
            peer.connection.quit()
        finally:
            bot.send_signal(signal.SIGINT)
            try:
                bot.communicate(timeout=10)
            finally:
                if bot.poll() is None:
                    bot.kill()
        assert bot.returncode == 0


def test_ircclient_example_reads_commands_from_stdin() -> None:
    with ircd() as port:
        reactor = irc.client.Reactor()
        peer = Peer(reactor, port, "erin")
        pump(reactor, lambda: peer.seen("welcome"))
        peer.connection.join("#circuits")
        pump(reactor, lambda: peer.seen("endofnames"))
        client = subprocess.Popen(
            [
                sys.executable,
                str(EXAMPLES / "ircclient.py"),
                "127.0.0.1",
                str(port),
                "--nick",
                "frank",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            pump(
                reactor,
                lambda: any(e[0] == "join" and e[1].startswith("frank!") for e in peer.events),
                timeout=15,
            )
            assert client.stdin is not None
            client.stdin.write("hello from stdin\n/msg erin psst\n")
            client.stdin.flush()
            pump(reactor, lambda: peer.seen("pubmsg", "hello from stdin"))
            pump(reactor, lambda: peer.seen("privmsg", "psst"))
            peer.connection.privmsg("#circuits", "hi frank")
            client.stdin.write("/quit done\n")
            client.stdin.flush()
            pump(reactor, lambda: peer.seen("quit", "done"))
            out, err = client.communicate(timeout=15)  # closes its stdin
        finally:
            if client.poll() is None:
                client.kill()
        assert client.returncode == 0, err
        assert "Joined #circuits" in out
        peer.connection.quit()


def _registered(port: int, nick: str, rcvbuf: int | None = None) -> socket.socket:
    """A raw client registered as ``nick`` and joined to ``#room``."""
    sock = socket.socket()
    if rcvbuf is not None:  # before connecting, so the window stays small
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\nJOIN #room\r\n".encode())
    return sock


def _read_until(sock: socket.socket, marker: bytes, got: bytearray) -> None:
    """Read into ``got`` until it holds ``marker`` (the socket's timeout bounds each read)."""
    while marker not in got:
        data = sock.recv(65536)
        assert data, f"closed before {marker!r}"
        got += data


def test_a_member_that_never_reads_does_not_slow_the_others_down() -> None:
    with ircd() as port:
        silent = _registered(port, "silent", rcvbuf=4096)
        alice = _registered(port, "alice")
        bob = _registered(port, "bob")
        with silent, alice, bob:
            _read_until(alice, b" 366 alice ", bytearray())  # end of NAMES: joined
            _read_until(bob, b" 366 bob ", bytearray())
            text = "." * 400
            worst = 0.0
            dropped = False
            deadline = time.monotonic() + 60
            # 3,000 lines of ~450 bytes: more than the server lets queue for the
            # silent member (max_buffered 1 MiB) and the kernel's buffers hold.
            for i in range(3000):
                assert time.monotonic() < deadline
                started = time.monotonic()
                alice.sendall(f"PRIVMSG #room :{i} {text}\r\n".encode())
                got = bytearray()
                _read_until(bob, f":{i} {text}\r\n".encode(), got)
                worst = max(worst, time.monotonic() - started)
                if b":silent!" in got and b" QUIT " in got:
                    dropped = True
                    break
            # The silent member was dropped as too slow, and the others were told.
            got = bytearray()
            bob.sendall(b"PING :end\r\n")
            _read_until(bob, b"PONG", got)
            alice.sendall(b"PRIVMSG #room :after\r\n")
            _read_until(bob, b"PRIVMSG #room after\r\n", got)
    assert dropped, f"the silent member was not dropped after {i + 1} lines"
    assert worst < 1.0, worst
