"""A small IRC server: registration, channels, messages, notices, nick changes, PART, QUIT.

    python examples/ircd.py --bind 127.0.0.1:6667

Prints ``ircd listening on HOST:PORT`` once it accepts connections.  Not a full IRC
server (no modes, no operators, one server): enough for real IRC clients to talk.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import Any

import trio_circuits
from trio_circuits import Component, Debugger
from trio_circuits.net.events import close, write
from trio_circuits.net.sockets import TCPServer
from trio_circuits.protocols.irc import IRC, Message, joinprefix, replies, reply

Prefix = tuple[str | None, str | None, str | None]


class User:
    def __init__(self, sock: Any, host: str) -> None:
        self.sock = sock
        self.host = host
        self.nick: str | None = None
        self.user: str | None = None
        self.realname = ""
        self.registered = False
        self.channels: set[str] = set()

    @property
    def prefix(self) -> str:
        return joinprefix(self.nick, self.user, self.host)


class Server(Component):
    channel = "server"
    servername = "ircd.local"
    network = "trio_circuits"

    def init(self, bind: str, debug: bool = False) -> None:
        host, _, port = bind.rpartition(":")
        self.users: dict[Any, User] = {}
        self.nicks: dict[str, User] = {}
        self.rooms: dict[str, set[User]] = {}
        # Nobody waits for a client that does not read: past 1 MiB queued for it, it
        # is dropped ("sendq exceeded"), and the others never notice.
        TCPServer(
            (host or "0.0.0.0", int(port or 6667)),
            channel=self.channel,
            slow_receivers="close",
            max_buffered=1 << 20,
        ).register(self)
        IRC(channel=self.channel).register(self)
        if debug:
            Debugger().register(self)

    # -- sending -------------------------------------------------------------------

    def reply(self, sock: Any, message: Message) -> None:
        user = self.users.get(sock)
        if user is None:
            return
        if message.add_nick:
            message.args.insert(0, user.nick or "*")
        if message.prefix is None:
            message.prefix = self.servername
        self.fire(write(sock, bytes(message)))

    def _send(self, users: Iterable[User], message: Message, exclude: User | None = None) -> None:
        for user in users:
            if user is not exclude:
                copy = Message(message.command or "", *message.args, prefix=message.prefix)
                self.fire(reply(user.sock, copy))

    def _neighbours(self, user: User) -> set[User]:
        """Everyone who shares a channel with ``user`` (``user`` included)."""
        found = {user}
        for room in user.channels:
            found |= self.rooms.get(room, set())
        return found

    # -- connections ---------------------------------------------------------------

    def ready(self, server: Any, bind: tuple[str, int]) -> None:
        print(f"ircd listening on {bind[0]}:{bind[1]}", flush=True)

    def connect(self, sock: Any, host: str, port: int) -> None:
        self.users[sock] = User(sock, host)

    def disconnect(self, sock: Any) -> None:
        user = self.users.get(sock)
        if user is not None:
            self._leave(user, "Connection closed")

    def _leave(self, user: User, reason: str) -> None:
        self._send(self._neighbours(user), Message("QUIT", reason, prefix=user.prefix), user)
        for room in list(user.channels):
            self._part(user, room)
        if user.nick is not None:
            self.nicks.pop(user.nick, None)
        self.users.pop(user.sock, None)

    def _part(self, user: User, room: str) -> None:
        user.channels.discard(room)
        members = self.rooms.get(room, set())
        members.discard(user)
        if not members:
            self.rooms.pop(room, None)

    # -- commands (``response`` events from IRC) -----------------------------------

    def nick(self, sock: Any, source: Prefix, nick: str = "") -> None:
        user = self.users[sock]
        if not nick:
            self.fire(reply(sock, replies.ERR_NONICKNAMEGIVEN()))
        elif nick in self.nicks and self.nicks[nick] is not user:
            self.fire(reply(sock, replies.ERR_NICKNAMEINUSE(nick)))
        elif user.registered:
            old = user.prefix
            self.nicks.pop(user.nick or "", None)
            self._send(self._neighbours(user), Message("NICK", nick, prefix=old))
            user.nick = nick
            self.nicks[nick] = user
        else:
            user.nick = nick
            self.nicks[nick] = user
            self._welcome(user)

    def user(self, sock: Any, source: Prefix, *params: str) -> None:
        user = self.users[sock]
        if len(params) < 4:
            self.fire(reply(sock, replies.ERR_NEEDMOREPARAMS("USER")))
            return
        user.user, user.realname = params[0], params[3]
        self._welcome(user)

    def _welcome(self, user: User) -> None:
        if user.registered or user.nick is None or user.user is None:
            return
        user.registered = True
        for message in (
            replies.RPL_WELCOME(self.network),
            replies.RPL_YOURHOST(self.servername, f"trio_circuits-{trio_circuits.__version__}"),
            replies.RPL_CREATED("today"),
            replies.RPL_MYINFO(self.servername, trio_circuits.__version__, "i", "n"),
            replies.ERR_NOMOTD(),
        ):
            self.fire(reply(user.sock, message))

    def ping(self, sock: Any, source: Prefix, token: str = "") -> None:
        self.fire(reply(sock, Message("PONG", self.servername, token or self.servername)))

    def join(self, sock: Any, source: Prefix, channels: str, keys: str = "") -> None:
        user = self.users[sock]
        for room in channels.split(","):
            if not room.startswith("#") or room in user.channels:
                continue
            members = self.rooms.setdefault(room, set())
            members.add(user)
            user.channels.add(room)
            self._send(members, Message("JOIN", room, prefix=user.prefix))
            self.fire(reply(sock, replies.RPL_NOTOPIC(room)))
            names = sorted(m.nick or "" for m in members)
            self.fire(reply(sock, replies.RPL_NAMEREPLY(room, names)))
            self.fire(reply(sock, replies.RPL_ENDOFNAMES(room)))

    def part(self, sock: Any, source: Prefix, channels: str, *words: str) -> None:
        # Some clients send a multi-word reason without the ':' (so: several params).
        reason = " ".join(words) or "Leaving"
        user = self.users[sock]
        for room in channels.split(","):
            if room not in user.channels:
                self.fire(reply(sock, replies.ERR_NOTONCHANNEL(room)))
                continue
            self._send(self.rooms[room], Message("PART", room, reason, prefix=user.prefix))
            self._part(user, room)

    def privmsg(self, sock: Any, source: Prefix, target: str, *words: str) -> None:
        self._relay("PRIVMSG", self.users[sock], target, " ".join(words))

    def notice(self, sock: Any, source: Prefix, target: str, *words: str) -> None:
        self._relay("NOTICE", self.users[sock], target, " ".join(words))

    def _relay(self, command: str, user: User, target: str, text: str) -> None:
        message = Message(command, target, text, prefix=user.prefix)
        if target.startswith("#"):
            if target not in self.rooms:
                self.fire(reply(user.sock, replies.ERR_NOSUCHCHANNEL(target)))
            else:
                self._send(self.rooms[target], message, user)
        elif target in self.nicks:
            self._send([self.nicks[target]], message)
        else:
            self.fire(reply(user.sock, replies.ERR_NOSUCHNICK(target)))

    def quit(self, sock: Any, source: Prefix, *words: str) -> None:
        reason = " ".join(words) or "Quit"
        user = self.users.get(sock)
        if user is None:
            return
        goodbye = replies.ERROR(user.host, reason)
        goodbye.prefix = self.servername
        self.fire(write(sock, bytes(goodbye)))
        self._leave(user, reason)
        self.fire(close(sock))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bind", default="0.0.0.0:6667", help="HOST:PORT to listen on")
    parser.add_argument("--debug", action="store_true", help="log every event")
    args = parser.parse_args()
    trio_circuits.run(Server(args.bind, args.debug))


if __name__ == "__main__":
    sys.exit(main())
