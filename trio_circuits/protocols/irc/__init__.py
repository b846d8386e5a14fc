"""The IRC protocol: :class:`IRC`, :class:`Message`, the command events, numerics,
replies and helpers, all importable from here as from circuits'
``circuits.protocols.irc``.

The parsing and formatting are plain functions and classes (no I/O), usable on their
own: ``Message.parse(b"...")``, ``str(Message("PRIVMSG", "#c", "hi"))``.
"""

from __future__ import annotations

from . import numerics as numerics
from . import replies as replies
from .commands import *  # noqa: F403
from .commands import __all__ as _commands
from .events import reply as reply
from .events import request as request
from .events import response as response
from .message import MAX_LINE as MAX_LINE
from .message import MAX_TAGS as MAX_TAGS
from .message import Message as Message
from .numerics import *  # noqa: F403
from .numerics import __all__ as _numerics
from .protocol import IRC as IRC
from .utils import IRCColor as IRCColor
from .utils import IRCError as IRCError
from .utils import colorize as colorize
from .utils import irc_color_to_ansi as irc_color_to_ansi
from .utils import joinprefix as joinprefix
from .utils import parse_tags as parse_tags
from .utils import parsemsg as parsemsg
from .utils import parseprefix as parseprefix
from .utils import strip as strip

sourceJoin = joinprefix
sourceSplit = parseprefix

__all__ = [
    "IRC",
    "MAX_LINE",
    "MAX_TAGS",
    "IRCColor",
    "IRCError",
    "Message",
    "colorize",
    "irc_color_to_ansi",
    "joinprefix",
    "numerics",
    "parse_tags",
    "parsemsg",
    "parseprefix",
    "replies",
    "reply",
    "request",
    "response",
    "sourceJoin",
    "sourceSplit",
    "strip",
    *_commands,
    *_numerics,
]
