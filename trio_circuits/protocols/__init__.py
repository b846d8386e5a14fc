"""Protocols over the socket components: :class:`Line` and :class:`IRC`."""

from .irc import IRC as IRC
from .line import Line as Line

__all__ = ["IRC", "Line"]
