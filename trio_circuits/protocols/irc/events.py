"""The IRC protocol's own events.

* ``response`` -- the base of the events :class:`~.protocol.IRC` fires for incoming
  messages (``response.create("privmsg", prefix, target, text)``, ...).
* ``request`` -- an outgoing message, ``request(message)``; :class:`~.protocol.IRC`
  writes it to the connection (client side).  The command helpers return these.
* ``reply`` -- an outgoing message for one connection of a server,
  ``reply(sock, message)`` (handled by the server application, as circuits' ``ircd``
  example does).
"""

from __future__ import annotations

from ...core.events import Event

__all__ = ["reply", "request", "response"]


class response(Event):
    """An incoming message, named after its command in lower case (``numeric`` for numerics)."""


class reply(Event):
    """Server side: send ``message`` to ``sock``: ``reply(sock, message)``."""


class request(Event):
    """Client side: send ``message`` to the server: ``request(message)``."""
