"""Server replies: constructors of the :class:`~.message.Message` a server sends.

Each numeric reply is made with ``add_nick=True``: the server inserts the recipient's
nick as the first parameter when it sends it (and sets its own name as the prefix),
as circuits' ``ircd`` example does in its ``reply`` handler.  Texts are plain
parameters: the message adds the trailing ``:`` itself where IRC needs one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .message import Message

__all__ = [
    "ERROR",
    "ERR_CANNOTSENDTOCHAN",
    "ERR_CHANOPRIVSNEEDED",
    "ERR_ERRONEUSNICKNAME",
    "ERR_NEEDMOREPARAMS",
    "ERR_NICKNAMEINUSE",
    "ERR_NOMOTD",
    "ERR_NONICKNAMEGIVEN",
    "ERR_NOOPERHOST",
    "ERR_NOPRIVILEGES",
    "ERR_NOSUCHCHANNEL",
    "ERR_NOSUCHNICK",
    "ERR_NOTONCHANNEL",
    "ERR_NOTREGISTERED",
    "ERR_PASSWDMISMATCH",
    "ERR_TOOMANYCHANNELS",
    "ERR_UNKNOWNCOMMAND",
    "ERR_UNKNOWNMODE",
    "ERR_USERNOTINCHANNEL",
    "ERR_USERSDONTMATCH",
    "JOIN",
    "KICK",
    "MODE",
    "NICK",
    "NOTICE",
    "PART",
    "PING",
    "PONG",
    "PRIVMSG",
    "QUIT",
    "RPL_AWAY",
    "RPL_CHANNELMODEIS",
    "RPL_CREATED",
    "RPL_ENDOFMOTD",
    "RPL_ENDOFNAMES",
    "RPL_ENDOFWHO",
    "RPL_ENDOFWHOIS",
    "RPL_INVITING",
    "RPL_ISUPPORT",
    "RPL_LIST",
    "RPL_LISTEND",
    "RPL_LISTSTART",
    "RPL_LUSERCHANNELS",
    "RPL_LUSERCLIENT",
    "RPL_LUSERME",
    "RPL_LUSEROP",
    "RPL_LUSERUNKNOWN",
    "RPL_MOTD",
    "RPL_MOTDSTART",
    "RPL_MYINFO",
    "RPL_NAMEREPLY",
    "RPL_NOTOPIC",
    "RPL_NOWAWAY",
    "RPL_TOPIC",
    "RPL_TOPICWHOTIME",
    "RPL_UMODEIS",
    "RPL_UNAWAY",
    "RPL_VERSION",
    "RPL_WELCOME",
    "RPL_WHOISCHANNELS",
    "RPL_WHOISIDLE",
    "RPL_WHOISOPERATOR",
    "RPL_WHOISSERVER",
    "RPL_WHOISUSER",
    "RPL_WHOREPLY",
    "RPL_YOUREOPER",
    "RPL_YOURHOST",
    "TOPIC",
]  # fmt: skip


def _numeric(code: str, *params: Any) -> Message:
    return Message(code, *(None if p is None else str(p) for p in params), add_nick=True)


# -- commands relayed by a server (prefix: the user they come from) ----------------------


def ERROR(host: str, reason: str | None = None) -> Message:
    """``ERROR :Closing link: host (reason)`` -- sent before the server hangs up."""
    return Message("ERROR", f"Closing link: {host} ({reason or ''})")


def JOIN(name: str, prefix: str | None = None) -> Message:
    """``:nick!user@host JOIN #channel``."""
    return Message("JOIN", name, prefix=prefix)


def PART(
    channel: str, nick: str | None = None, reason: str | None = None, prefix: str | None = None
) -> Message:
    """``:prefix PART #channel [:reason]`` (``nick`` is accepted for circuits' signature)."""
    return Message("PART", channel, reason, prefix=prefix)


def KICK(channel: str, nick: str, reason: str | None = None, prefix: str | None = None) -> Message:
    """``:prefix KICK #channel nick [:reason]``."""
    return Message("KICK", channel, nick, reason, prefix=prefix)


def MODE(
    target: str, modes: str, params: Iterable[str] | None = None, prefix: str | None = None
) -> Message:
    """``:prefix MODE target modes [params...]``."""
    return Message("MODE", target, modes, *(params or ()), prefix=prefix)


def NICK(nick: str, prefix: str | None = None) -> Message:
    """``:old!user@host NICK new``."""
    return Message("NICK", nick, prefix=prefix)


def PRIVMSG(target: str, text: str, prefix: str | None = None) -> Message:
    """``:prefix PRIVMSG target :text``."""
    return Message("PRIVMSG", target, text, prefix=prefix)


def NOTICE(target: str, text: str, prefix: str | None = None) -> Message:
    """``:prefix NOTICE target :text``."""
    return Message("NOTICE", target, text, prefix=prefix)


def QUIT(reason: str = "Leaving", prefix: str | None = None) -> Message:
    """``:prefix QUIT :reason``."""
    return Message("QUIT", reason, prefix=prefix)


def TOPIC(channel: str, topic: str, prefix: str | None = None) -> Message:
    """``:prefix TOPIC #channel :topic``."""
    return Message("TOPIC", channel, topic, prefix=prefix)


def PING(server: str) -> Message:
    """``PING :server``."""
    return Message("PING", server)


def PONG(server: str, text: str) -> Message:
    """``PONG server :text``."""
    return Message("PONG", server, text)


# -- numeric replies ---------------------------------------------------------------------


def RPL_WELCOME(network: str) -> Message:
    return _numeric("001", f"Welcome to the {network} IRC Network")


def RPL_YOURHOST(host: str, version: str) -> Message:
    return _numeric("002", f"Your host is {host} running {version}")


def RPL_CREATED(date: str) -> Message:
    return _numeric("003", f"This server was created {date}")


def RPL_MYINFO(server: str, version: str, umodes: str, chmodes: str) -> Message:
    return _numeric("004", server, version, umodes, chmodes)


def RPL_ISUPPORT(features: Iterable[str]) -> Message:
    return _numeric("005", *features, "are supported by this server")


def RPL_UMODEIS(modes: str) -> Message:
    return _numeric("221", modes)


def RPL_LUSERCLIENT(nusers: int, nservices: int, nservers: int) -> Message:
    text = f"There are {nusers} users and {nservices} services on {nservers} servers"
    return _numeric("251", text)


def RPL_LUSEROP(noperators: int) -> Message:
    return _numeric("252", noperators, "operator(s) online")


def RPL_LUSERUNKNOWN(nunknown: int) -> Message:
    return _numeric("253", nunknown, "unknown connection(s)")


RPL_LUSERUNKOWN = RPL_LUSERUNKNOWN  # circuits' spelling


def RPL_LUSERCHANNELS(nchannels: int) -> Message:
    return _numeric("254", nchannels, "channels formed")


def RPL_LUSERME(nclients: int, nservers: int) -> Message:
    return _numeric("255", f"I have {nclients} clients and {nservers} servers")


def RPL_AWAY(nick: str, message: str) -> Message:
    return _numeric("301", nick, message)


def RPL_UNAWAY() -> Message:
    return _numeric("305", "You are no longer marked as being away")


def RPL_NOWAWAY() -> Message:
    return _numeric("306", "You have been marked as being away")


def RPL_WHOISUSER(nick: str, user: str, host: str, realname: str) -> Message:
    return _numeric("311", nick, user, host, "*", realname)


def RPL_WHOISSERVER(nick: str, server: str, server_info: str) -> Message:
    return _numeric("312", nick, server, server_info)


def RPL_WHOISOPERATOR(nick: str) -> Message:
    return _numeric("313", nick, "is an IRC operator")


def RPL_ENDOFWHO(mask: str) -> Message:
    return _numeric("315", mask, "End of WHO list")


def RPL_WHOISIDLE(nick: str, idle: int, signon: int) -> Message:
    return _numeric("317", nick, idle, signon, "seconds idle, signon time")


def RPL_ENDOFWHOIS(nick: str) -> Message:
    return _numeric("318", nick, "End of WHOIS list")


def RPL_WHOISCHANNELS(nick: str, channels: Iterable[str]) -> Message:
    return _numeric("319", nick, " ".join(channels))


def RPL_LISTSTART(header: str | None = None) -> Message:
    return _numeric("321", "Channel", header or "Users Name")


def RPL_LIST(channel: str, nvisible: int | str, topic: str) -> Message:
    return _numeric("322", channel, nvisible, topic)


def RPL_LISTEND() -> Message:
    return _numeric("323", "End of LIST")


def RPL_CHANNELMODEIS(channel: str, mode: str, params: str | None = None) -> Message:
    return _numeric("324", channel, mode, params)


def RPL_NOTOPIC(channel: str) -> Message:
    return _numeric("331", channel, "No topic is set")


def RPL_TOPIC(channel: str, topic: str) -> Message:
    return _numeric("332", channel, topic)


def RPL_TOPICWHOTIME(channel: str, setter: str, timestamp: int) -> Message:
    return _numeric("333", channel, setter, timestamp)


def RPL_INVITING(channel: str, nick: str) -> Message:
    return _numeric("341", nick, channel)


def RPL_VERSION(name: str, version: str, hostname: str, url: str) -> Message:
    return _numeric("351", f"{name}-{version}", hostname, url)


def RPL_WHOREPLY(
    channel: str, user: str, host: str, server: str, nick: str, status: str, hops: int, name: str
) -> Message:
    return _numeric("352", channel, user, host, server, nick, status, f"{hops} {name}")


def RPL_NAMEREPLY(channel: str, names: Iterable[str]) -> Message:
    return _numeric("353", "=", channel, " ".join(names))


def RPL_ENDOFNAMES(channel: str) -> Message:
    return _numeric("366", channel, "End of NAMES list")


def RPL_MOTD(text: str) -> Message:
    return _numeric("372", f"- {text}")


def RPL_MOTDSTART(server: str) -> Message:
    return _numeric("375", f"- {server} Message of the day -")


def RPL_ENDOFMOTD() -> Message:
    return _numeric("376", "End of MOTD command")


def RPL_YOUREOPER() -> Message:
    return _numeric("381", "You are now an IRC operator")


def ERR_NOSUCHNICK(nick: str) -> Message:
    return _numeric("401", nick, "No such nick/channel")


def ERR_NOSUCHCHANNEL(channel: str) -> Message:
    return _numeric("403", channel, "No such channel")


def ERR_CANNOTSENDTOCHAN(channel: str) -> Message:
    return _numeric("404", channel, "Cannot send to channel")


def ERR_TOOMANYCHANNELS(channel: str) -> Message:
    return _numeric("405", channel, "You have joined too many channels")


def ERR_UNKNOWNCOMMAND(command: str) -> Message:
    return _numeric("421", command, "Unknown command")


def ERR_NOMOTD() -> Message:
    return _numeric("422", "MOTD File is missing")


def ERR_NONICKNAMEGIVEN() -> Message:
    return _numeric("431", "No nickname given")


def ERR_ERRONEUSNICKNAME(nick: str) -> Message:
    return _numeric("432", nick, "Erroneous nickname")


def ERR_NICKNAMEINUSE(nick: str) -> Message:
    return _numeric("433", nick, "Nickname is already in use")


def ERR_USERNOTINCHANNEL(nick: str, channel: str) -> Message:
    return _numeric("441", nick, channel, "They aren't on that channel")


def ERR_NOTONCHANNEL(channel: str) -> Message:
    return _numeric("442", channel, "You're not on that channel")


def ERR_NOTREGISTERED() -> Message:
    return _numeric("451", "You have not registered")


def ERR_NEEDMOREPARAMS(command: str) -> Message:
    return _numeric("461", command, "Not enough parameters")


def ERR_PASSWDMISMATCH() -> Message:
    return _numeric("464", "Password incorrect")


def ERR_UNKNOWNMODE(mode: str, channel: str | None = None) -> Message:
    if channel is None:
        return _numeric("472", mode, "is unknown mode char to me")
    return _numeric("472", mode, f"is unknown mode char to me for {channel}")


def ERR_NOPRIVILEGES() -> Message:
    return _numeric("481", "Permission Denied- You're not an IRC operator")


def ERR_CHANOPRIVSNEEDED(channel: str) -> Message:
    return _numeric("482", channel, "You're not channel operator")


def ERR_NOOPERHOST() -> Message:
    return _numeric("491", "No O-lines for your host")


def ERR_USERSDONTMATCH() -> Message:
    return _numeric("502", "Cannot change mode for other users")
