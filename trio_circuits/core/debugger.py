"""``Debugger``: log every event the tree sees, one line each, and handler errors."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import IO, Any

from ._report import format_error
from .components import BaseComponent
from .events import Event
from .handlers import handler

__all__ = ["Debugger"]


class Debugger(BaseComponent):
    """Write ``repr(event)`` of every event dispatched in the tree, one line each.

    Args:
        errors: also report handler errors (the ``exception`` event), in circuits'
            ``ERROR <handler> (<event>) ...`` format.
        events: log events.
        file: a path (opened for appending) or a writable object; default stderr.
        logger: an object with ``debug``/``error`` methods (e.g. a ``logging.Logger``)
            used instead of ``file``.
        prefix: a string, or a callable returning one, written before each line.
        trim: cut each line to this many characters.
        IgnoreEvents: event names not logged.
        IgnoreChannels: events fired only on these channels are not logged.

    ``_events`` and ``_errors`` switch logging on and off while running.
    """

    IgnoreEvents: list[str] = ["generate_events"]
    IgnoreChannels: list[Any] = []

    def __init__(
        self,
        errors: bool = True,
        events: bool = True,
        file: str | IO[str] | None = None,
        logger: Any = None,
        prefix: str | Callable[[], str] | None = None,
        trim: int | None = None,
        IgnoreEvents: Iterable[str] = (),
        IgnoreChannels: Iterable[Any] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._errors = errors
        self._events = events
        self._owned: IO[str] | None = None
        if isinstance(file, str):
            self._owned = open(os.path.abspath(os.path.expanduser(file)), "a")  # noqa: SIM115
            self.file: IO[str] = self._owned
        elif file is not None:
            self.file = file
        else:
            self.file = sys.stderr
        self.logger = logger
        self.prefix = prefix
        self.trim = trim
        # Per instance: circuits shared (and mutated) these lists across instances.
        self.IgnoreEvents = [*type(self).IgnoreEvents, *IgnoreEvents]
        self.IgnoreChannels = [*type(self).IgnoreChannels, *IgnoreChannels]

    def close(self) -> None:
        """Close the log file if the Debugger opened it (from a path)."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __del__(self) -> None:
        self.close()

    def _write(self, text: str) -> None:
        try:
            self.file.write(text)
            self.file.flush()
        except (OSError, ValueError):
            pass

    @handler("exception", channel="*", priority=100.0)
    def _on_exception(
        self,
        error_type: type[BaseException],
        value: BaseException,
        traceback: list[str],
        handler: Any = None,
        fevent: Event | None = None,
    ) -> None:
        if not self._errors:
            return
        report = format_error(handler, fevent, error_type, value, traceback)
        if self.logger is not None:
            self.logger.error(report)
        else:
            self._write(report)

    @handler(channel="*", priority=101.0)
    def _on_event(self, event: Event, *args: Any, **kwargs: Any) -> None:
        if not self._events or event.name in self.IgnoreEvents:
            return
        channels = event.channels
        if channels and all(c in self.IgnoreChannels for c in channels):
            return
        line = repr(event)
        if self.prefix:
            prefix = self.prefix() if callable(self.prefix) else self.prefix
            line = f"{prefix}: {line}"
        if self.trim:
            line = f"{line[: self.trim]} ...>"
        if self.logger is not None:
            self.logger.debug(line)
        else:
            self._write(line + "\n")
