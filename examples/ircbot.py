"""An IRC bot: joins a channel and echoes what is said to it (in the channel or privately).

    python examples/ircbot.py HOST [PORT] [--nick NAME] [--channel #circuits] [--debug]

Stops when the server closes the connection (or on Ctrl-C).
"""

from __future__ import annotations

import argparse
from typing import Any

import trio_circuits
from trio_circuits import Component, Debugger
from trio_circuits.net.events import connect
from trio_circuits.net.sockets import TCPClient
from trio_circuits.protocols.irc import (
    ERR_NICKNAMEINUSE,
    ERR_NOMOTD,
    IRC,
    JOIN,
    NICK,
    PRIVMSG,
    RPL_ENDOFMOTD,
    USER,
)


class Bot(Component):
    # A channel of its own, so that several bots can live in one application.
    channel = "ircbot"

    def init(
        self, host: str, port: int = 6667, nick: str = "circuits", room: str = "#circuits"
    ) -> None:
        self.host, self.port, self.nick, self.room = host, port, nick, room
        TCPClient(channel=self.channel).register(self)
        IRC(channel=self.channel).register(self)

    def ready(self, component: Any) -> None:
        self.fire(connect(self.host, self.port))

    def connected(self, host: str, port: int) -> None:
        self.fire(NICK(self.nick))
        self.fire(USER(self.nick, self.nick, host, "trio_circuits IRC bot"))

    def unreachable(self, host: str, port: int, reason: Any) -> None:
        print(f"cannot reach {host}:{port}: {reason}", flush=True)
        self.stop(1)

    def disconnected(self) -> None:
        self.stop()

    def numeric(self, source: Any, numeric: int, *args: Any) -> None:
        if numeric == ERR_NICKNAMEINUSE:
            self.nick += "_"
            self.fire(NICK(self.nick))
        elif numeric in (RPL_ENDOFMOTD, ERR_NOMOTD):
            self.fire(JOIN(self.room))

    def privmsg(self, source: Any, target: str, message: str) -> None:
        self.fire(PRIVMSG(target if target.startswith("#") else source[0], message))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("host")
    parser.add_argument("port", nargs="?", type=int, default=6667)
    parser.add_argument("--nick", default="circuits")
    parser.add_argument("--channel", default="#circuits")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()
    bot = Bot(args.host, args.port, args.nick, args.channel)
    if args.debug:
        Debugger().register(bot)
    trio_circuits.run(bot)


if __name__ == "__main__":
    main()
