"""A console IRC client: lines typed on stdin go to a channel; what arrives is printed.

    python examples/ircclient.py HOST [PORT] [--nick NAME] [--channel #circuits]

Commands: ``/msg NICK TEXT``, ``/join #CHANNEL``, ``/nick NAME``, ``/quit [REASON]``;
any other line is said in the current channel.  End of input quits.
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

import trio_circuits
from trio_circuits import Component, Debugger, handler
from trio_circuits.io import stdin
from trio_circuits.net.events import connect
from trio_circuits.net.sockets import TCPClient
from trio_circuits.protocols.irc import IRC, JOIN, NICK, PRIVMSG, QUIT, USER, strip


class Client(Component):
    channel = "ircclient"

    def init(self, host: str, port: int, nick: str, room: str) -> None:
        self.host, self.port, self.nick, self.room = host, port, nick, room
        self.buffer = b""
        TCPClient(channel=self.channel).register(self)
        IRC(channel=self.channel).register(self)

    def ready(self, component: Any) -> None:
        self.fire(connect(self.host, self.port))

    def connected(self, host: str, port: int) -> None:
        print(f"Connected to {host}:{port}", flush=True)
        self.fire(NICK(self.nick))
        self.fire(USER(self.nick, self.nick, host, f"{self.nick} using trio_circuits"))

    def unreachable(self, host: str, port: int, reason: Any) -> None:
        print(f"Cannot reach {host}:{port}: {reason}", flush=True)
        self.stop(1)

    def disconnected(self) -> None:
        print(f"Disconnected from {self.host}:{self.port}", flush=True)
        self.stop()

    def numeric(self, source: Any, numeric: int, *args: Any) -> None:
        if numeric == 1:  # welcome: registered
            self.fire(JOIN(self.room))
            stdin.register(self)  # only now is there somewhere to send lines
        elif numeric == 433:
            self.nick += "_"
            self.fire(NICK(self.nick))

    def join(self, source: Any, room: str) -> None:
        if source[0] == self.nick:
            print(f"Joined {room}", flush=True)
        else:
            print(f"--> {source[0]} has joined {room}", flush=True)

    def privmsg(self, source: Any, target: str, message: str) -> None:
        where = f"{target} " if target.startswith("#") else ""
        print(f"{where}<{source[0]}> {strip(message, color=True)}", flush=True)

    def notice(self, source: Any, target: str, message: str) -> None:
        print(f"-{source[0]}- {strip(message, color=True)}", flush=True)

    @handler("read", channel="stdin")
    def _typed(self, data: bytes) -> None:
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for raw in lines:
            self._command(raw.decode("utf-8", "replace").strip())

    @handler("eof", channel="stdin")
    def _end_of_input(self) -> None:
        if self.buffer:
            self._command(self.buffer.decode("utf-8", "replace").strip())
        self.fire(QUIT("end of input"))

    def _command(self, line: str) -> None:
        if not line:
            return
        word, _, rest = line.partition(" ")
        if word == "/msg":
            target, _, text = rest.partition(" ")
            self.fire(PRIVMSG(target, text))
        elif word == "/join":
            self.room = rest.strip()
            self.fire(JOIN(self.room))
        elif word == "/nick":
            self.nick = rest.strip()
            self.fire(NICK(self.nick))
        elif word == "/quit":
            self.fire(QUIT(rest or "Leaving"))
        else:
            self.fire(PRIVMSG(self.room, line))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("host")
    parser.add_argument("port", nargs="?", type=int, default=6667)
    parser.add_argument("--nick", default=getpass.getuser())
    parser.add_argument("--channel", default="#circuits")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()
    client = Client(args.host, args.port, args.nick, args.channel)
    if args.debug:
        Debugger().register(client)
    trio_circuits.run(client)


if __name__ == "__main__":
    main()
