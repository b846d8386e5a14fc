"""``IRC``: the IRC protocol over a socket client or server.

``read`` -> ``line`` (a :class:`~trio_circuits.protocols.line.Line` child) -> one
``response`` event per message, named after its command in lower case; outgoing
``request`` events (the command helpers) become ``write`` events.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from ...core.components import Component
from ...core.events import Event
from ...core.handlers import handler
from ...net.events import error, write
from ..line import Line
from .commands import PONG
from .events import response
from .message import MAX_LINE, MAX_TAGS, Message
from .utils import IRCError

__all__ = ["IRC"]


class IRC(Component):
    """The IRC protocol component: messages in as events, ``request`` events out.

    Args:
        channel: the channel of the socket component it serves (default ``"*"``).
        encoding: the text encoding of the connection (default UTF-8; undecodable bytes
            are replaced).
        getBuffer, updateBuffer: passed to the :class:`~trio_circuits.protocols.line.Line`
            child, for circuits compatibility.

    Each incoming message fires ``response.create(command, prefix, *params)`` (server
    side: ``(sock, prefix, *params)``), ``prefix`` being ``(nick, user, host)``; a
    numeric fires ``numeric(prefix, number, *params)``.  The parsed
    :class:`~.message.Message` (with its IRCv3 ``tags``) is the event's ``message``
    attribute.  A line that is not valid IRC fires ``error(IRCError)`` (server side:
    ``error(sock, IRCError)``) and is dropped; a line longer than IRC's limits (512
    bytes plus 8191 of tags) closes that connection (``Line``'s rule).

    ``request(message)`` is written with ``write(bytes(message))`` (client side); a
    client answers ``PING`` with ``PONG`` unless another handler stops the event.
    """

    def __init__(
        self,
        *,
        channel: Hashable = "*",
        encoding: str = "utf-8",
        getBuffer: Any = None,
        updateBuffer: Any = None,
    ) -> None:
        super().__init__(channel=channel)
        self.encoding = encoding
        Line(
            channel=channel,
            encoding=encoding,
            max_line_length=MAX_TAGS + MAX_LINE,
            getBuffer=getBuffer,
            updateBuffer=updateBuffer,
        ).register(self)

    def line(self, *args: Any) -> None:
        """Parse one line and fire its ``response`` event (see the class docstring)."""
        sock, data = (None, args[0]) if len(args) == 1 else (args[0], args[1])
        try:
            message = Message.parse(data, self.encoding)
        except IRCError as exc:
            self.fire(error(exc) if sock is None else error(sock, exc))
            return
        event = _response_event(message, sock)
        self.fire(event)

    def request(self, event: Event, message: Message) -> None:
        """Write ``message`` to the connection (the default ``request`` handler)."""
        event.stop()
        message.encoding = self.encoding
        self.fire(write(bytes(message)))

    def ping(self, event: Event, *args: Any) -> None:
        """Answer a server's PING (client side)."""
        if len(args) == 2:  # (prefix, server): a client connection
            self.fire(PONG(args[1]))
            event.stop()

    @handler(False)
    def parse(self, data: bytes) -> Event:
        """The ``response`` event for one line (no firing; raises ``IRCError``)."""
        return _response_event(Message.parse(data, self.encoding), None)


def _response_event(message: Message, sock: Any) -> Event:
    from .utils import parseprefix

    prefix = parseprefix(message.prefix)
    command = (message.command or "").lower()
    params: list[Any] = list(message.args)
    if command.isdigit():
        params.insert(0, int(command))
        command = "numeric"
    event = response.create(command, *((sock,) if sock is not None else ()), prefix, *params)
    event.message = message  # type: ignore[attr-defined]
    return event
