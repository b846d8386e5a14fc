"""Pure handler lookup: which handlers of a component tree receive an event.

For an event fired on channels ``(c1, c2, ...)`` the handlers are, channel by channel,
those of every component in the tree (depth first, in registration order) that handle
the event's name (or every name) and whose effective channel -- the handler's own
``channel``, else its component's -- is ``"*"`` or equal to the channel; firing on
``"*"`` reaches every channel, and firing on a component instance reaches all of that
component's handlers.  The per-channel lists are chained and then stably sorted by
priority, highest first, so equal priorities keep the order of the channels fired on.
A handler that matches two channels runs twice, as in circuits.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

from ._tree import walk

if TYPE_CHECKING:
    from .handlers import Handler
    from .manager import Manager

__all__ = ["HandlerCache", "collect", "lookup"]

#: Handlers by ``(event name, channels)``, for one tree; cleared when it changes.
HandlerCache = dict[tuple[str, tuple[Hashable, ...]], "tuple[Handler, ...]"]


def _priority(h: Handler) -> float:
    return -h.priority


def collect(root: Manager, name: str, channels: tuple[Hashable, ...]) -> tuple[Handler, ...]:
    """The handlers of the tree under ``root`` for ``name`` fired on ``channels``."""
    found: list[Handler] = []
    nodes = list(walk(root))
    for channel in channels:
        star = channel == "*"
        for node in nodes:
            node_channel = node.channel
            for h in node._node.handlers:
                if h.names and name not in h.names:
                    continue
                hc = node_channel if h.channel is None else h.channel
                if star or hc == "*" or hc == channel or channel is node:
                    found.append(h)
    found.sort(key=_priority)
    return tuple(found)


def lookup(
    cache: HandlerCache, root: Manager, name: str, channels: tuple[Hashable, ...]
) -> tuple[Handler, ...]:
    """The handlers for ``name`` on ``channels``, cached unless a channel is unhashable."""
    key = (name, channels)
    try:
        return cache[key]
    except KeyError:
        found = cache[key] = collect(root, name, channels)
        return found
    except TypeError:  # an unhashable channel
        return collect(root, name, channels)
