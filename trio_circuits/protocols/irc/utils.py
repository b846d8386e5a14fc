"""IRC helpers: prefixes, line parsing, IRCv3 tags, colours and formatting codes.

Everything here is plain functions on strings and bytes (no I/O).  :func:`parsemsg`
never raises: malformed input gives empty parts.  The strict parser is
:meth:`trio_circuits.protocols.irc.Message.parse`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import IntEnum

__all__ = [
    "IRCColor",
    "IRCError",
    "colorize",
    "escape_tag_value",
    "irc_color_to_ansi",
    "joinprefix",
    "parse_tags",
    "parsemsg",
    "parseprefix",
    "strip",
    "unescape_tag_value",
]


class IRCError(ValueError):
    """A message that is not valid IRC: too long, an injected line break, a bad argument."""


Prefix = tuple[str | None, str | None, str | None]


class IRCColor(IntEnum):
    """The sixteen mIRC colours (the numbers after ``\\x03``), and the default."""

    WHITE = 0
    BLACK = 1
    BLUE = 2
    GREEN = 3
    RED = 4
    BROWN = 5
    MAGENTA = 6
    ORANGE = 7
    YELLOW = 8
    LIGHT_GREEN = 9
    CYAN = 10
    LIGHT_CYAN = 11
    LIGHT_BLUE = 12
    PINK = 13
    GREY = 14
    LIGHT_GREY = 15
    DEFAULT = 99


# Formatting control characters.
BOLD = "\x02"
COLOR = "\x03"
HEX_COLOR = "\x04"
RESET = "\x0f"
MONOSPACE = "\x11"
REVERSE = "\x16"
ITALIC = "\x1d"
STRIKETHROUGH = "\x1e"
UNDERLINE = "\x1f"
CTCP = "\x01"

_COLOR_RE = re.compile(r"\x03(\d{1,2})?(?:,(\d{1,2}))?")
_COLOR_ARGS = re.compile(r"(\d{1,2})?(?:,(\d{1,2}))?")
_HEX_ARGS = re.compile(r"([0-9a-fA-F]{6})?(?:,([0-9a-fA-F]{6}))?")
_HEX_RE = re.compile(r"\x04([0-9a-fA-F]{6})?(?:,([0-9a-fA-F]{6}))?")
_STRIPPED = str.maketrans(
    "",
    "",
    CTCP
    + BOLD
    + COLOR
    + HEX_COLOR
    + RESET
    + MONOSPACE
    + REVERSE
    + ITALIC
    + STRIKETHROUGH
    + UNDERLINE,
)


def strip(s: str, color: bool = False) -> str:
    """Drop one leading ``:``; with ``color=True`` also every colour and format code."""
    if s.startswith(":"):
        s = s[1:]
    if color:
        s = _HEX_RE.sub("", _COLOR_RE.sub("", s)).translate(_STRIPPED)
    return s


def colorize(text: str, fg: int, bg: int | None = None) -> str:
    """``text`` in mIRC colours ``fg`` (and ``bg``), reset to the default after it."""
    code = f"{int(fg):02d}" if bg is None else f"{int(fg):02d},{int(bg):02d}"
    return f"{COLOR}{code}{text}{COLOR}"


def joinprefix(nick: str | None, user: str | None, host: str | None) -> str:
    """``nick!user@host`` (missing parts are empty)."""
    return f"{nick or ''}!{user or ''}@{host or ''}"


def parseprefix(prefix: str | None) -> Prefix:
    """Split ``nick!user@host`` into ``(nick, user, host)``.

    A server name (or a bare nick) gives ``(name, None, None)``; ``nick@host`` gives
    ``(nick, None, host)``; an empty prefix gives ``(None, None, None)``.
    """
    if not prefix:
        return None, None, None
    nick, bang, rest = prefix.partition("!")
    if bang:
        user, at, host = rest.rpartition("@")
        if at:
            return nick, user, host
        return nick, rest, None
    nick, at, host = prefix.partition("@")
    if at and nick:
        return nick, None, host
    return prefix, None, None


_TAG_ESCAPES = {";": r"\:", " ": r"\s", "\\": "\\\\", "\r": r"\r", "\n": r"\n"}
_TAG_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


def escape_tag_value(value: str) -> str:
    """Escape an IRCv3 tag value (``;``, space, ``\\``, CR, LF)."""
    return "".join(_TAG_ESCAPES.get(c, c) for c in value)


def unescape_tag_value(raw: str) -> str:
    """Undo :func:`escape_tag_value` (unknown escapes drop the backslash, per IRCv3)."""
    out: list[str] = []
    chars = iter(raw)
    for c in chars:
        if c != "\\":
            out.append(c)
            continue
        nxt = next(chars, "")
        out.append(_TAG_UNESCAPES.get(nxt, nxt))
    return "".join(out)


def parse_tags(raw: str) -> dict[str, str]:
    """Parse the IRCv3 tags of a line (without the leading ``@``) into a dict.

    A tag without a value maps to ``""``; the last of repeated keys wins.
    """
    tags: dict[str, str] = {}
    for item in raw.split(";"):
        if not item:
            continue
        key, _eq, value = item.partition("=")
        tags[key] = unescape_tag_value(value)
    return tags


def split_line(s: str) -> tuple[dict[str, str], str, str | None, list[str]]:
    """Split a decoded line into ``(tags, prefix, command, params)`` without validation."""
    s = s.rstrip("\r\n")
    tags: dict[str, str] = {}
    if s.startswith("@"):
        raw, _sp, s = s[1:].partition(" ")
        tags = parse_tags(raw)
        s = s.lstrip(" ")
    prefix = ""
    if s.startswith(":"):
        prefix, _sp, s = s[1:].partition(" ")
        s = s.lstrip(" ")
    trailing: str | None = None
    head, sep, tail = s.partition(" :")
    if sep:
        s, trailing = head, tail
    elif s.startswith(":"):
        s, trailing = "", s[1:]
    words = [w for w in s.split(" ") if w]  # only spaces separate (not tabs)
    command = words[0] if words else None
    params = words[1:]
    if trailing is not None:
        if command is None:
            command, trailing = trailing or None, None
        else:
            params.append(trailing)
    return tags, prefix, command, params


def parsemsg(s: bytes | str, encoding: str = "utf-8") -> tuple[Prefix, str | None, list[str]]:
    """Parse an IRC line into ``((nick, user, host), command, params)``.

    Bytes are decoded with ``encoding`` (undecodable bytes replaced); IRCv3 tags are
    skipped; the trailing parameter (after `` :``) is the last of ``params``.  An
    empty line gives ``((None, None, None), None, [])``.  Never raises.
    """
    text = s.decode(encoding, "replace") if isinstance(s, bytes) else str(s)
    _tags, prefix, command, params = split_line(text)
    return parseprefix(prefix), command, params


# -- colours to ANSI -------------------------------------------------------------------

# The sixteen basic mIRC colours as ANSI foreground codes (background: +10).
_ANSI_FG = (37, 30, 34, 32, 31, 36, 35, 33, 93, 92, 36, 96, 94, 95, 90, 37)
# mIRC's extended colours 16-98 as xterm-256 colour numbers (the mIRC colour table).
_XTERM_256 = (
    52, 94, 100, 58, 22, 29, 23, 24, 17, 54, 53, 89,
    88, 130, 142, 64, 28, 35, 30, 25, 18, 91, 90, 125,
    124, 166, 184, 106, 34, 49, 37, 33, 19, 129, 127, 161,
    196, 208, 226, 154, 46, 86, 51, 75, 21, 171, 201, 198,
    203, 215, 227, 191, 83, 122, 87, 111, 63, 177, 207, 205,
    217, 223, 229, 193, 157, 158, 159, 153, 147, 183, 219, 212,
    16, 233, 235, 237, 239, 241, 244, 247, 250, 254, 231,
)  # fmt: skip
_TOGGLES = {BOLD: (1, 22), ITALIC: (3, 23), UNDERLINE: (4, 24), STRIKETHROUGH: (9, 29)}
_TOGGLES[REVERSE] = (7, 27)


def _sgr(*codes: int | str) -> str:
    shown = [c if isinstance(c, str) else f"{c:02d}" for c in codes if c]
    return f"\x1b[{';'.join(shown)}m"


def _color_code(n: int, background: bool) -> int | str:
    if n == IRCColor.DEFAULT:
        return 49 if background else 39
    if n < 16:
        return _ANSI_FG[n] + (10 if background else 0)
    if n < 99:
        return f"{48 if background else 38};5;{_XTERM_256[n - 16]}"
    return 49 if background else 39


def _hex_code(rgb: str, background: bool) -> str:
    r, g, b = (int(rgb[i : i + 2], 16) for i in (0, 2, 4))
    return f"{48 if background else 38};2;{r};{g};{b}"


def _to_ansi(data: str, reset: bool) -> Iterator[str]:
    active: list[str] = []  # toggles (and COLOR) currently on
    i, n = 0, len(data)
    while i < n:
        c = data[i]
        i += 1
        if c == RESET:
            active.clear()
            yield _sgr(0)
        elif c in _TOGGLES:
            on, off = _TOGGLES[c]
            if c in active:
                active.remove(c)
                yield _sgr(off)
            else:
                active.append(c)
                yield _sgr(on)
        elif c in (COLOR, HEX_COLOR):
            pattern = _COLOR_ARGS if c == COLOR else _HEX_ARGS
            m = pattern.match(data, i)
            fg, bg = (m.group(1), m.group(2)) if m else (None, None)
            codes: list[int | str] = []
            if fg is not None:
                codes.append(_color_code(int(fg), False) if c == COLOR else _hex_code(fg, False))
            if fg is not None and bg is not None:  # (bg without fg is plain text)
                codes.append(_color_code(int(bg), True) if c == COLOR else _hex_code(bg, True))
            if m is not None and fg is not None:
                i = m.end()  # a colour needs a foreground; ",BG" alone is text
            if COLOR in active:
                active.remove(COLOR)
            if codes:
                active.append(COLOR)
                yield _sgr(*codes)
            else:
                yield _sgr(39, 49)
        elif c == MONOSPACE:
            continue  # a terminal has one font
        else:
            yield c
    if active and reset:
        yield _sgr(0)


def irc_color_to_ansi(data: str, reset: bool = True) -> str:
    """Translate mIRC colour and formatting codes to ANSI terminal escape sequences.

    Bold, italic, underline, strikethrough and reverse toggle; ``\\x03FG[,BG]`` sets
    colours (the sixteen basic ones as ANSI colours, 16-98 as xterm-256 colours, 99
    the default) and a bare ``\\x03`` restores the default colours; ``\\x04RRGGBB``
    sets a true colour; ``\\x0f`` resets everything.  With ``reset``, formatting still
    on at the end is reset.
    """
    return "".join(_to_ansi(data, reset))
