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


# Built once: json.dumps/loads with options build a new encoder/decoder per call.
# No circular check (it costs half of an encoding): a circular argument raises
# RecursionError instead, turned into the ValueError the check would have raised.
_encoder = json.JSONEncoder(
    default=_default, separators=(",", ":"), allow_nan=False, check_circular=False
)
# Payloads without bytes (most of them) skip the per-object hook.
_plain_decoder = json.JSONDecoder()
_bytes_decoder = json.JSONDecoder(object_hook=_hook)
_BYTES_MARK = b'"__bytes__"'
_FLAG_SET = frozenset(_FLAGS)
#: Event classes made for names not registered with a codec, at most this many.
_CLASS_CACHE = 4096


class JSONCodec:
    """Events as JSON: name, args, kwargs, channels and the follow-up flags.

    Arguments may be anything JSON holds, plus ``bytes``; tuples arrive as lists.
    Bytes travel as ``{"__bytes__": "<base64>"}``, so a dictionary whose only key is
    ``"__bytes__"`` is reserved.
    ``events`` lists event classes to re-create on decoding (matched by ``name``);
    any other name becomes ``Event.create(name, ...)``.

    Args:
        events: event classes to re-create by name.
    """

    def __init__(self, events: Iterable[type[Event]] = ()) -> None:
        self._types = {cls.name: cls for cls in events}
        self._created: dict[str, type[Event]] = {}

    def encode(self, event: Event) -> bytes:
        """``event`` as compact UTF-8 JSON.

        Raises:
            TypeError: an argument is of a type JSON cannot hold.
            ValueError: an argument is ``nan``/``inf``, or refers to itself.
        """
        doc: dict[str, Any] = {"name": event.name, "args": event.args}
        if event.kwargs:
            doc["kwargs"] = event.kwargs
        channels = [c for c in event.channels if type(c) is str or isinstance(c, str)]
        if channels:
            doc["channels"] = channels
        if event.success or event.failure or event.complete:
            doc["flags"] = [flag for flag in _FLAGS if getattr(event, flag)]
        try:
            return _encoder.encode(doc).encode()
        except RecursionError:
            raise ValueError("an argument refers to itself (or nests too deep)") from None

    def decode(self, data: bytes) -> Event:
        """The event encoded in ``data``.

        Raises:
            ValueError: ``data`` is not an encoded event.
        """
        try:
            text = data.decode()
            decoder = _bytes_decoder if _BYTES_MARK in data else _plain_decoder
            try:
                # raw_decode skips decode's two whitespace scans; what it does not
                # take whole (whitespace around, trailing data) goes the long way.
                doc, end = decoder.raw_decode(text)
            except ValueError:
                doc = decoder.decode(text)
            else:
                if end != len(text):
                    doc = decoder.decode(text)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ValueError(f"not a JSON event: {exc}") from None
        if type(doc) is not dict:
            raise ValueError("not a JSON event: the payload is not an object")
        name = doc.get("name")
        args = doc.get("args", [])
        kwargs = doc.get("kwargs", {})
        if type(args) is not list or type(kwargs) is not dict:
            raise ValueError("not a JSON event: args must be a list, kwargs an object")
        cls = self._types.get(name) or self._created.get(name)  # type: ignore[arg-type]
        if cls is None:
            if type(name) is not str or not name.isidentifier():
                raise ValueError(f"not a JSON event: bad name {name!r}")
            cls = type(Event.create(name))
            if len(self._created) < _CLASS_CACHE:
                self._created[name] = cls
        # Set the fields directly: a registered class's ``__init__`` may have a
        # different signature from its arguments list.
        event = cls.__new__(cls)
        Event.__init__(event, *args, **kwargs)
        channels = doc.get("channels")
        if type(channels) is list:
            if len(channels) == 1:  # the common case, without a generator
                if type(channels[0]) is str:
                    event.channels = (channels[0],)
            elif all(type(c) is str for c in channels):
                event.channels = tuple(channels)
        flags = doc.get("flags")
        if flags is not None:
            if type(flags) is not list or not _FLAG_SET.issuperset(flags):
                raise ValueError(f"not a JSON event: bad flags {flags!r}")
            for flag in flags:
                setattr(event, flag, True)
        return event
