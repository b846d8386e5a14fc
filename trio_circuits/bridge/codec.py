"""Event codecs for the Redis bridge: an event to bytes and back, with no I/O.

The default, :class:`JSONCodec`, never executes anything it reads: a payload from
the network becomes an :class:`~trio_circuits.Event` built by name (or an event
class registered with the codec), with JSON arguments.  Pickle is deliberately not
offered.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any, Protocol

from ..core.events import Event

__all__ = ["Codec", "JSONCodec"]

_FLAGS = ("success", "failure", "complete")


class Codec(Protocol):
    """What the bridge needs from a codec (pluggable with ``RedisBridge(codec=...)``)."""

    def encode(self, event: Event) -> bytes:
        """Serialise ``event``; raise (``TypeError``, ``ValueError``) if it cannot be."""
        ...

    def decode(self, data: bytes) -> Event:
        """Build an event from ``data``; raise ``ValueError`` for a malformed payload."""
        ...


def _default(obj: Any) -> Any:
    # JSON has no bytes; networking programs send them all the time.
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return {"__bytes__": base64.b64encode(bytes(obj)).decode("ascii")}
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable: {obj!r}")


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "__bytes__" in obj:
        encoded = obj["__bytes__"]
        if not isinstance(encoded, str):
            raise ValueError(f"bad bytes: {encoded!r}")
        return base64.b64decode(encoded, validate=True)
    return obj


# Built once: json.dumps/loads with a hook would build a new encoder/decoder per call.
_encoder = json.JSONEncoder(default=_default, separators=(",", ":"), allow_nan=False)
_decoder = json.JSONDecoder(object_hook=_hook)


class JSONCodec:
    """Events as JSON: name, args, kwargs, channels and the follow-up flags.

    Arguments may be anything JSON holds, plus ``bytes``; tuples arrive as lists.
    Bytes travel as ``{"__bytes__": "<base64>"}``, so a dictionary whose only key is
    ``"__bytes__"`` is reserved.
    ``events`` lists event classes to re-create on decoding (matched by ``name``);
    any other name becomes ``Event.create(name, ...)``.
    """

    def __init__(self, events: Iterable[type[Event]] = ()) -> None:
        self._types = {cls.name: cls for cls in events}

    def encode(self, event: Event) -> bytes:
        """``event`` as compact UTF-8 JSON; ``TypeError``/``ValueError`` if impossible."""
        doc: dict[str, Any] = {"name": event.name, "args": event.args}
        if event.kwargs:
            doc["kwargs"] = event.kwargs
        channels = [c for c in event.channels if isinstance(c, str)]
        if channels:
            doc["channels"] = channels
        flags = [flag for flag in _FLAGS if getattr(event, flag)]
        if flags:
            doc["flags"] = flags
        return _encoder.encode(doc).encode()

    def decode(self, data: bytes) -> Event:
        """The event encoded in ``data``; ``ValueError`` if it is not one."""
        try:
            doc = _decoder.decode(data.decode())
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"not a JSON event: {exc}") from None
        if not isinstance(doc, dict):
            raise ValueError("not a JSON event: the payload is not an object")
        name = doc.get("name")
        args = doc.get("args", [])
        kwargs = doc.get("kwargs", {})
        flags = doc.get("flags", [])
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"not a JSON event: bad name {name!r}")
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise ValueError("not a JSON event: args must be a list, kwargs an object")
        if not isinstance(flags, list) or not set(flags) <= set(_FLAGS):
            raise ValueError(f"not a JSON event: bad flags {flags!r}")
        cls = self._types.get(name)
        event = Event.create(name) if cls is None else cls.__new__(cls)
        # Set the fields directly: a registered class's ``__init__`` may have a
        # different signature from its arguments list.
        Event.__init__(event, *args, **kwargs)
        channels = doc.get("channels")
        if isinstance(channels, list) and all(isinstance(c, str) for c in channels):
            event.channels = tuple(channels)
        for flag in flags:
            setattr(event, flag, True)
        return event
