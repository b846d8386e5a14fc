"""IRC commands as events: each helper returns ``request(Message(...))``.

Fire them on the channel of an :class:`~.protocol.IRC` component (``self.fire(NICK("me"))``)
and it writes the message.  Optional arguments left as ``None`` are omitted.  Each
raises :class:`~.utils.IRCError` at once if an argument would break the line (CR, LF,
NUL; spaces in anything but the last argument).
"""

from __future__ import annotations

from .events import request
from .message import Message
from .utils import CTCP as _CTCP

__all__ = [
    "AWAY",
    "CTCP",
    "CTCPREPLY",
    "INVITE",
    "JOIN",
    "KICK",
    "LIST",
    "MODE",
    "NAMES",
    "NICK",
    "NOTICE",
    "PART",
    "PASS",
    "PING",
    "PONG",
    "PRIVMSG",
    "QUIT",
    "TOPIC",
    "USER",
    "WHO",
    "WHOIS",
]


def _request(command: str, *args: str | int | None) -> request:
    return request(Message(command, *(None if a is None else str(a) for a in args)))


def PASS(password: str) -> request:
    """``PASS password``: the connection password, sent before NICK/USER."""
    return _request("PASS", password)


def NICK(nickname: str, hopcount: int | None = None) -> request:
    """``NICK nickname``: choose or change the nickname."""
    return _request("NICK", nickname, hopcount)


def USER(user: str, host: str, server: str, name: str) -> request:
    """``USER user host server :real name``: register the connection."""
    return _request("USER", user, host, server, name)


def PING(server: str, server2: str | None = None) -> request:
    """``PING server``: check the connection; the peer answers PONG."""
    return _request("PING", server, server2)


def PONG(daemon1: str, daemon2: str | None = None) -> request:
    """``PONG daemon``: answer a PING (:class:`~.protocol.IRC` does it for clients)."""
    return _request("PONG", daemon1, daemon2)


def QUIT(message: str | None = None) -> request:
    """``QUIT [:message]``: leave the network."""
    return _request("QUIT", message)


def JOIN(channels: str, keys: str | None = None) -> request:
    """``JOIN #a,#b [keys]``: join channels."""
    return _request("JOIN", channels, keys)


def PART(channels: str, message: str | None = None) -> request:
    """``PART #a,#b [:message]``: leave channels."""
    return _request("PART", channels, message)


def PRIVMSG(receivers: str, message: str) -> request:
    """``PRIVMSG target :text``: a message to a channel or a nick."""
    return _request("PRIVMSG", receivers, message)


def NOTICE(receivers: str, message: str) -> request:
    """``NOTICE target :text``: a notice (never answered automatically)."""
    return _request("NOTICE", receivers, message)


def CTCP(target: str, command: str, *params: str) -> request:
    """A CTCP request (``\\x01VERSION\\x01`` ...) in a PRIVMSG."""
    body = " ".join((command.upper(), *params))
    return _request("PRIVMSG", target, f"{_CTCP}{body}{_CTCP}")


def CTCPREPLY(target: str, command: str, *params: str) -> request:
    """A CTCP reply in a NOTICE."""
    body = " ".join((command.upper(), *params))
    return _request("NOTICE", target, f"{_CTCP}{body}{_CTCP}")


def KICK(channel: str, user: str, comment: str | None = None) -> request:
    """``KICK #channel nick [:comment]``."""
    return _request("KICK", channel, user, comment)


def TOPIC(channel: str, topic: str | None = None) -> request:
    """``TOPIC #channel [:topic]``: read or set a channel's topic."""
    return _request("TOPIC", channel, topic)


def MODE(target: str, *args: str) -> request:
    """``MODE target modes [params]``."""
    return _request("MODE", target, *args)


def INVITE(nickname: str, channel: str) -> request:
    """``INVITE nick #channel``."""
    return _request("INVITE", nickname, channel)


def NAMES(channels: str | None = None) -> request:
    """``NAMES [#a,#b]``: who is in those channels."""
    return _request("NAMES", channels)


def LIST(channels: str | None = None) -> request:
    """``LIST [#a,#b]``: the channels and their topics."""
    return _request("LIST", channels)


def WHO(name: str | None = None, o: str | None = None) -> request:
    """``WHO [mask [o]]``."""
    return _request("WHO", name, o)


def WHOIS(nickmasks: str, server: str | None = None) -> request:
    """``WHOIS [server] nick``: about a user."""
    if server is None:
        return _request("WHOIS", nickmasks)
    return _request("WHOIS", server, nickmasks)


def AWAY(message: str | None = None) -> request:
    """``AWAY [:message]``: mark (or, without a message, unmark) yourself away."""
    return _request("AWAY", message)
