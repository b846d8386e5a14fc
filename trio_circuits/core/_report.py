"""The text of a handler-error report, as circuits writes it (shared by the
runtime's fallback and :class:`~trio_circuits.Debugger`), and where it goes when no
``exception`` handler takes it: the ``trio_circuits`` logger if logging is
configured, else stderr."""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType
from typing import Any

from ._repr import short_repr
from .handlers import is_handler, reprhandler

log = logging.getLogger("trio_circuits")

# A report stays a few KiB: long arguments are abbreviated (see _repr.py), the
# exception's own message is cut, and a runaway recursion shows its last frames.
_MAX_LINE = 2048
_MAX_FRAMES = 50


def format_error(
    handler: Any,
    fevent: Any,
    etype: type[BaseException],
    evalue: BaseException,
    tb: TracebackType | list[str] | None,
) -> str:
    """``ERROR <handler> (<event>) (<type>): <value>`` followed by the traceback."""
    if handler is None:
        shown = ""
    elif is_handler(handler):
        shown = reprhandler(handler)
    else:  # e.g. an I/O component's run_io
        shown = f"<{getattr(handler, '__qualname__', handler)}>"
    lines = tb if isinstance(tb, list) else traceback.format_tb(tb)
    summary = traceback.format_exception_only(etype, evalue)
    if not lines and handler is None and fevent is not None:
        # A failure reported by a component (a client's connect), not a handler's
        # exception: its message says what failed, and no frame of the user's is
        # involved.  One line: ``ERROR <error[client]> gaierror: cannot resolve ...``.
        where = ",".join(map(str, getattr(fevent, "channels", ())))
        return f"ERROR <{getattr(fevent, 'name', fevent)}[{where}]> " + "".join(
            _cut(line) for line in summary
        )
    parts = [
        f"ERROR {shown} ({fevent!r}) ({etype!r}): {short_repr(evalue)}\n",
        "Traceback (most recent call last):\n",
        *lines[-_MAX_FRAMES:],
        *(_cut(line) for line in summary),
        "\n",
    ]
    return "".join(parts)


def _cut(line: str) -> str:
    if len(line) <= _MAX_LINE:
        return line
    return f"{line[: _MAX_LINE // 2]}...({len(line)} chars)\n"


def write_report(text: str) -> None:
    """Write a report to the ``trio_circuits`` logger if configured, else to stderr."""
    if log.hasHandlers():
        log.error("%s", text.rstrip("\n"))
    else:
        sys.stderr.write(text)


def write_unhandled(event: Any) -> None:
    """Report an ``exception`` event that no handler received."""
    etype, evalue, lines = event.args[:3]
    kwargs = event.kwargs
    write_report(format_error(kwargs.get("handler"), kwargs.get("fevent"), etype, evalue, lines))
