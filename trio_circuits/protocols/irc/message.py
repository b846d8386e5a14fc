"""``Message``: one IRC message, validated, formatted and parsed (no I/O).

``str(message)`` is the wire form with its ``\\r\\n``; ``bytes(message)`` encodes it.
Every argument is checked when the message is made *and* when it is formatted (the
arguments are a public, mutable list): a line break or NUL in any argument -- the
classic command-injection hole -- raises :class:`~.utils.IRCError`, as does a space in
any argument but the last, or a line longer than IRC allows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .utils import IRCError, escape_tag_value, split_line

__all__ = ["MAX_LINE", "MAX_TAGS", "Error", "Message"]

#: the longest message, ``\\r\\n`` included (RFC 1459), tags excluded
MAX_LINE = 512
#: the longest tag section, ``@`` and the separating space included (IRCv3)
MAX_TAGS = 8191

Error = IRCError  # circuits' name

_COMMAND = re.compile(r"[A-Za-z]+|[0-9]{3}")
_FORBIDDEN = re.compile(r"[\r\n\x00]")
_TAG_KEY = re.compile(r"\+?(?:[A-Za-z0-9.-]+/)?[A-Za-z0-9-]+")


def _text(arg: Any, encoding: str) -> str:
    return arg.decode(encoding) if isinstance(arg, bytes) else str(arg)


class Message:
    """An IRC message: ``Message(command, *params, prefix=None, tags=None)``.

    Args:
        command: a command word (``"PRIVMSG"``) or a three-digit numeric.
        *params: the parameters; ``None`` ones are dropped (so optional arguments of
            the command helpers can be passed through); bytes are decoded.
        prefix: the source (``"nick!user@host"`` or a server name).
        tags: IRCv3 message tags (``{"time": "...", "+draft/reply": "id"}``).
        encoding: how :func:`bytes` encodes the message.
        add_nick: for servers: the reply is addressed to a client whose nick goes
            first (see ``replies``).

    The last parameter is sent as a trailing one (``:text``) when it must be: when it
    is empty, contains a space or starts with ``:``.

    Raises :class:`~.utils.IRCError` for an invalid command, prefix, tag or parameter.
    """

    def __init__(
        self,
        command: str,
        *args: Any,
        prefix: str | None = None,
        tags: Mapping[str, str] | None = None,
        encoding: str = "utf-8",
        add_nick: bool = False,
    ) -> None:
        self.command = _text(command, encoding) if command is not None else None
        self.prefix = None if prefix is None else _text(prefix, encoding)
        self.tags: dict[str, str] = dict(tags or {})
        self.encoding = encoding
        self.add_nick = add_nick
        self.args: list[str] = [_text(a, encoding) for a in args if a is not None]
        self._check()

    # -- validation ------------------------------------------------------------------

    def _check(self) -> None:
        if self.command is None or not _COMMAND.fullmatch(self.command):
            raise IRCError(f"invalid IRC command {self.command!r}")
        if self.prefix is not None and (
            not self.prefix or " " in self.prefix or _FORBIDDEN.search(self.prefix)
        ):
            raise IRCError(f"invalid IRC prefix {self.prefix!r}")
        for key, value in self.tags.items():
            if not _TAG_KEY.fullmatch(key):
                raise IRCError(f"invalid IRCv3 tag name {key!r}")
            if "\x00" in value:
                raise IRCError(f"NUL in the value of tag {key!r}")
        for i, arg in enumerate(self.args):
            if _FORBIDDEN.search(arg):
                raise IRCError(
                    f"argument {i} of {self.command} contains CR, LF or NUL "
                    f"(a line break would inject a second command): {arg!r}"
                )
            last = i == len(self.args) - 1
            if not last and (not arg or " " in arg or arg.startswith(":")):
                raise IRCError(
                    f"only the last argument of {self.command} may be empty, contain "
                    f"spaces or start with ':': {arg!r}"
                )

    # -- formatting --------------------------------------------------------------------

    def _tag_section(self) -> str:
        if not self.tags:
            return ""
        items = [k if v == "" else f"{k}={escape_tag_value(v)}" for k, v in self.tags.items()]
        return "@" + ";".join(items) + " "

    def __str__(self) -> str:
        self._check()
        words = [self.command or ""]
        args = list(self.args)
        if args and (not args[-1] or " " in args[-1] or args[-1].startswith(":")):
            args[-1] = ":" + args[-1]
        words.extend(args)
        body = (f":{self.prefix} " if self.prefix is not None else "") + " ".join(words)
        size = len(body.encode(self.encoding, "replace")) + 2
        if size > MAX_LINE:
            raise IRCError(f"{self.command} message is {size} bytes; IRC allows {MAX_LINE}")
        tags = self._tag_section()
        if len(tags.encode(self.encoding, "replace")) > MAX_TAGS:
            raise IRCError(f"the tags of {self.command} exceed {MAX_TAGS} bytes")
        return f"{tags}{body}\r\n"

    def __bytes__(self) -> bytes:
        return str(self).encode(self.encoding)

    def __repr__(self) -> str:
        return repr(str(self)[:-2])

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Message)
            and self.prefix == other.prefix
            and self.command == other.command
            and self.args == other.args
            and self.tags == other.tags
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    # -- parsing -----------------------------------------------------------------------

    @classmethod
    def parse(cls, line: bytes | str, encoding: str = "utf-8") -> Message:
        """Parse one line (with or without its ``\\r\\n``) into a Message.

        Raises :class:`~.utils.IRCError` if it is too long or not a valid message (no
        command, a NUL, a line break inside it); never any other exception.
        """
        raw = line if isinstance(line, bytes) else line.encode(encoding, "replace")
        raw = raw.rstrip(b"\r\n")
        text = raw.decode(encoding, "replace") if isinstance(line, bytes) else line.rstrip("\r\n")
        tag_part, body = b"", raw
        if raw.startswith(b"@"):
            tag_part, _sp, body = raw.partition(b" ")
        if len(tag_part) + 1 > MAX_TAGS:
            raise IRCError(f"IRCv3 tags longer than {MAX_TAGS} bytes")
        if len(body.lstrip(b" ")) + 2 > MAX_LINE:
            raise IRCError(f"IRC line longer than {MAX_LINE} bytes")
        if _FORBIDDEN.search(text):
            raise IRCError(f"CR, LF or NUL inside an IRC line: {text!r}")
        tags, prefix, command, params = split_line(text)
        if command is None:
            raise IRCError(f"IRC line without a command: {text!r}")
        try:
            return cls(command, *params, prefix=prefix or None, tags=tags, encoding=encoding)
        except IRCError:
            raise
        except Exception as exc:  # pragma: no cover - defensive: the contract is IRCError
            raise IRCError(f"cannot parse {text!r}: {exc}") from exc

    @staticmethod
    def from_string(s: bytes | str) -> Message:
        """circuits' name for :meth:`parse`."""
        return Message.parse(s)
