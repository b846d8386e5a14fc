"""The text of a handler-error report, as circuits writes it (shared by the
runtime's fallback and :class:`~trio_circuits.Debugger`)."""

from __future__ import annotations

import traceback
from types import TracebackType
from typing import Any

from .handlers import reprhandler


def format_error(
    handler: Any,
    fevent: Any,
    etype: type[BaseException],
    evalue: BaseException,
    tb: TracebackType | list[str] | None,
) -> str:
    """``ERROR <handler> (<event>) (<type>): <value>`` followed by the traceback."""
    shown = "" if handler is None else reprhandler(handler)
    lines = tb if isinstance(tb, list) else traceback.format_tb(tb)
    parts = [
        f"ERROR {shown} ({fevent!r}) ({etype!r}): {evalue!r}\n",
        "Traceback (most recent call last):\n",
        *lines,
        *traceback.format_exception_only(etype, evalue),
        "\n",
    ]
    return "".join(parts)
