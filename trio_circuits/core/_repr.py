"""Bounded ``repr``: what event lines and error reports show of their arguments.

A 64 KiB ``read`` would otherwise put 64 KiB (and four times that, escaped) into
every Debugger line and error report.  Long strings and bytes are shown by their
first characters and their length; containers by their first items; anything else
is cut at a few hundred characters.  Short values look exactly like ``repr``.
"""

from __future__ import annotations

import reprlib
from typing import Any

__all__ = ["short_repr"]

_HEAD = 64


class _Short(reprlib.Repr):
    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 4
        self.maxtuple = self.maxlist = self.maxarray = 16
        self.maxdict = self.maxset = self.maxfrozenset = self.maxdeque = 16
        self.maxstring = 256
        self.maxlong = 256
        self.maxother = 512

    def repr_str(self, x: str, level: int) -> str:
        if len(x) <= self.maxstring:
            return repr(x)
        return f"{x[:_HEAD]!r}...({len(x)} chars)"

    def repr_bytes(self, x: bytes, level: int) -> str:
        if len(x) <= self.maxstring:
            return repr(x)
        return f"{x[:_HEAD]!r}...({len(x)} bytes)"

    def repr_bytearray(self, x: bytearray, level: int) -> str:
        if len(x) <= self.maxstring:
            return repr(x)
        return f"bytearray({bytes(x[:_HEAD])!r}...({len(x)} bytes))"

    def repr_instance(self, x: Any, level: int) -> str:
        try:
            text = repr(x)
        except Exception:  # a broken __repr__ must not break a report
            return f"<{type(x).__name__} object (repr failed)>"
        if len(text) > self.maxother:
            return f"{text[: self.maxother // 2]}...({len(text)} chars)"
        return text


short_repr = _Short().repr
