"""RESP, Redis's protocol, with no I/O: URLs, commands, replies, a connection's state.

:class:`Conversation` is the state of one connection (h11-style: bytes in, bytes
out, nothing else): commands are packed by ``hiredis.pack_command`` (a pipeline is
the packed commands joined), replies are parsed by ``hiredis.Reader`` and matched
to their requests by order.  A request whose replies will not be read (cancelled,
failed) breaks the conversation for good: its replies could otherwise be taken for
the next request's.
"""

from __future__ import annotations

import enum
import ssl
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import attrs
import hiredis

__all__ = [
    "ConnectionLost",
    "Conversation",
    "RedisError",
    "RedisURL",
    "ReplyError",
    "State",
    "entries",
    "pack",
    "read_reply",
    "xack",
    "xadd",
    "xautoclaim",
    "xdel",
    "xgroup_create",
    "xreadgroup",
]

#: One command: its name and arguments.
Command = Sequence[bytes | str | int | float]


class RedisError(Exception):
    """Redis refused a command, or the connection to it failed (the hiredis client)."""


class ReplyError(RedisError):
    """Redis answered with an error (``-ERR ...``, ``-WRONGPASS ...``); the text is the
    message."""


class ConnectionLost(RedisError, ConnectionError):
    """The connection to Redis failed, timed out or was abandoned; the outcome of the
    request in flight is unknown."""


class ProtocolError(RedisError):
    """What Redis sent is not RESP, or more replies came than were asked for."""


class State(enum.Enum):
    """The states of a :class:`Conversation`."""

    IDLE = "idle"  #: no request waits for replies
    WAITING = "waiting"  #: requests were sent; their replies are being read
    BROKEN = "broken"  #: a request was abandoned or the peer misbehaved: close it


_INCOMPLETE = object()


class Conversation:
    """The protocol state of one connection to Redis: requests out, replies in, in order.

    ``data = conversation.request(packed, count, token)`` gives the bytes to send for
    a request of ``count`` packed commands; requests may be pipelined (sent before
    the replies of earlier ones came).  ``conversation.receive(chunk)`` takes each
    chunk received and returns the requests it completed, oldest first, as
    ``(token, replies)``.  Error replies are :class:`ReplyError` instances in the
    list, not raised: one failed command of a pipeline does not hide the others'.

    Replies are matched to requests by their order alone, so a request whose
    replies will not be read (its reader was cancelled) must :meth:`abandon` the
    conversation: every later request then fails, and the connection is replaced.
    """

    def __init__(self) -> None:
        self._reader: hiredis.Reader | None = hiredis.Reader(
            protocolError=ProtocolError, replyError=ReplyError, notEnoughData=_INCOMPLETE
        )
        self._waiting: deque[tuple[int, Any]] = deque()
        self._replies: list[Any] = []

    @property
    def state(self) -> State:
        """Where the conversation stands."""
        if self._reader is None:
            return State.BROKEN
        return State.WAITING if self._waiting else State.IDLE

    @property
    def outstanding(self) -> int:
        """How many requests wait for their replies."""
        return len(self._waiting)

    def request(self, packed: bytes, count: int, token: Any = None) -> bytes:
        """Start a request of ``count`` packed commands; returns the bytes to send.

        ``token`` comes back with the request's replies from :meth:`receive`.

        Raises:
            ConnectionLost: the conversation is broken (reconnect).
            ValueError: ``count`` is less than 1.
        """
        if self._reader is None:
            raise ConnectionLost("the connection was abandoned mid-request; reconnect")
        if count < 1:
            raise ValueError("a request has at least one command")
        self._waiting.append((count, token))
        return packed

    def receive(self, data: bytes | bytearray) -> list[tuple[Any, list[Any]]]:
        """Take received bytes; return the requests they completed, ``(token, replies)``.

        ``b""`` (the peer closed) breaks the conversation.

        Raises:
            ConnectionLost: the peer closed the connection.
            ProtocolError: the bytes are not RESP, or replies came that nobody asked for.
        """
        reader = self._reader
        if reader is None:
            raise ConnectionLost("the connection was abandoned mid-request; reconnect")
        if not data:
            self.abandon()
            raise ConnectionLost("Redis closed the connection")
        done: list[tuple[Any, list[Any]]] = []
        waiting = self._waiting
        replies = self._replies
        try:
            reader.feed(data)  # type: ignore[arg-type]  # (a bytearray is fine)
            while waiting:
                count, token = waiting[0]
                while len(replies) < count:
                    reply = reader.gets()
                    if reply is _INCOMPLETE:
                        return done
                    replies.append(reply)
                waiting.popleft()
                done.append((token, replies))
                replies = self._replies = []
        except ProtocolError:
            self.abandon()
            raise
        if reader.has_data():
            self.abandon()
            raise ProtocolError("Redis sent replies nobody asked for")
        return done

    def abandon(self) -> None:
        """A request's replies will not be read: never use this conversation again."""
        self._reader = None
        self._waiting.clear()


# -- commands ----------------------------------------------------------------------


def pack(commands: Iterable[Command]) -> tuple[bytes, int]:
    """Pack commands into one pipeline: ``(bytes, number of commands)``."""
    # (hiredis's stub types the argument as a 1-tuple: any tuple is meant.)
    packed = [hiredis.pack_command(cast(Any, tuple(command))) for command in commands]
    return b"".join(packed), len(packed)


def xadd(key: str, fields: Mapping[bytes, bytes], maxlen: int | None = None) -> list[Any]:
    """``XADD key [MAXLEN ~ maxlen] * field value ...``."""
    command: list[Any] = ["XADD", key]
    if maxlen is not None:
        command += ["MAXLEN", "~", maxlen]
    command.append("*")
    for field, value in fields.items():
        command += (field, value)
    return command


def xack(key: str, group: str, ids: Iterable[bytes]) -> list[Any]:
    """``XACK key group id ...``."""
    return ["XACK", key, group, *ids]


def xdel(key: str, ids: Iterable[bytes]) -> list[Any]:
    """``XDEL key id ...``."""
    return ["XDEL", key, *ids]


def xgroup_create(key: str, group: str, start: str) -> list[Any]:
    """``XGROUP CREATE key group start MKSTREAM``."""
    return ["XGROUP", "CREATE", key, group, start, "MKSTREAM"]


def xreadgroup(
    key: str, group: str, consumer: str, cursor: bytes, count: int, block_ms: int | None
) -> list[Any]:
    """``XREADGROUP GROUP group consumer COUNT count [BLOCK ms] STREAMS key cursor``."""
    command: list[Any] = ["XREADGROUP", "GROUP", group, consumer, "COUNT", count]
    if block_ms is not None:
        command += ["BLOCK", block_ms]
    command += ["STREAMS", key, cursor]
    return command


def xautoclaim(
    key: str, group: str, consumer: str, idle_ms: int, start: bytes, count: int
) -> list[Any]:
    """``XAUTOCLAIM key group consumer min-idle-time start COUNT count``."""
    return ["XAUTOCLAIM", key, group, consumer, idle_ms, start, "COUNT", count]


def entries(raw: Any) -> list[tuple[bytes, dict[bytes, bytes] | None]]:
    """The entries of a stream reply: ``[(id, fields or None if deleted), ...]``."""
    out: list[tuple[bytes, dict[bytes, bytes] | None]] = []
    for item in raw or ():
        if item is None:  # an entry deleted while pending (XAUTOCLAIM, Redis 6.2)
            continue
        entry_id, flat = item
        if flat is None:
            out.append((entry_id, None))
        elif len(flat) == 4:  # the bridge's own entries: node and event
            out.append((entry_id, {flat[0]: flat[1], flat[2]: flat[3]}))
        else:
            it = iter(flat)  # (Redis sends field/value pairs: an even count)
            out.append((entry_id, dict(zip(it, it, strict=True))))
    return out


def read_reply(reply: Any) -> list[tuple[bytes, dict[bytes, bytes] | None]]:
    """The entries of an ``XREADGROUP`` reply on one stream (``None``: timed out)."""
    if reply is None:
        return []
    (_key, raw), *_ = reply
    return entries(raw)


# -- URLs --------------------------------------------------------------------------

_CERT_REQS = {
    "none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
}


@attrs.frozen
class RedisURL:
    """A parsed ``redis://``, ``rediss://`` (TLS) or ``unix://`` URL.

    ``redis://[[user]:password@]host[:port][/db][?param=value...]``;
    ``unix://[[user]:password@]/path/to/socket[?db=N&password=...]``.  TLS
    parameters: ``ssl_ca_certs`` (a CA file), ``ssl_cert_reqs`` (``none``,
    ``optional`` or ``required``, the default), ``ssl_certfile``/``ssl_keyfile``
    (a client certificate), ``ssl_check_hostname`` (``true``/``false``; default:
    true when certificates are required).
    """

    tls: bool
    host: str
    port: int
    path: str | None
    username: str | None
    password: str | None
    db: int
    params: Mapping[str, str]

    @classmethod
    def parse(cls, url: str) -> RedisURL:
        """Parse ``url``.

        Raises:
            ValueError: it is not a Redis URL, or its database is not a number.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"not a Redis URL: {url!r}")
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        password = params.get("password", password)
        username = params.get("username", username)
        path: str | None = None
        db_text = params.get("db", "0")
        if parts.scheme == "unix":
            path = unquote(parts.path)
            if not path:
                raise ValueError(f"no socket path in {url!r}")
        elif parts.path.strip("/"):
            db_text = parts.path.strip("/")
        try:
            db = int(db_text)
        except ValueError:
            raise ValueError(f"bad database number {db_text!r} in {url!r}") from None
        try:
            port = parts.port or 6379
        except ValueError as exc:
            raise ValueError(f"bad port in {url!r}: {exc}") from None
        return cls(
            tls=parts.scheme == "rediss",
            host=parts.hostname or "127.0.0.1",
            port=port,
            path=path,
            username=username or None,
            password=password or None,
            db=db,
            params=params,
        )

    @property
    def where(self) -> str:
        """``host:port``, or the socket's path."""
        return self.path if self.path is not None else f"{self.host}:{self.port}"

    def handshake(self) -> list[list[Any]]:
        """The commands a new connection sends first: ``AUTH`` and ``SELECT``, as needed."""
        commands: list[list[Any]] = []
        if self.password is not None:
            if self.username is not None:
                commands.append(["AUTH", self.username, self.password])
            else:
                commands.append(["AUTH", self.password])
        if self.db:
            commands.append(["SELECT", self.db])
        return commands

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context the URL's parameters describe.

        Raises:
            ValueError: ``ssl_cert_reqs`` is not ``none``, ``optional`` or ``required``.
            OSError: a certificate file cannot be read.
        """
        params = self.params
        reqs = params.get("ssl_cert_reqs", "required").lower()
        if reqs not in _CERT_REQS:
            raise ValueError(f"ssl_cert_reqs must be none, optional or required, not {reqs!r}")
        context = ssl.create_default_context(cafile=params.get("ssl_ca_certs"))
        check = params.get("ssl_check_hostname", "true" if reqs == "required" else "false")
        context.check_hostname = check.lower() in ("1", "true", "yes")
        context.verify_mode = _CERT_REQS[reqs]
        if "ssl_certfile" in params:
            context.load_cert_chain(params["ssl_certfile"], params.get("ssl_keyfile"))
        return context
