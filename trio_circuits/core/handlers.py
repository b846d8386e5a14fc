"""The ``@handler`` decorator and the record of a handler bound to a component.

Nothing here does I/O: marking functions, discovering them on classes and describing
them is plain data work, unit-tested without Trio.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["Handler", "handler", "reprhandler"]

F = TypeVar("F", bound=Callable[..., Any])


def handler(
    *names: str | bool,
    channel: Hashable | None = None,
    priority: float = 0,
    override: bool = False,
) -> Callable[[F], F]:
    """Mark a method (plain ``def`` or ``async def``) as a handler of the named events.

    Args:
        *names: the event names handled.  No names (or ``"*"``) handles every event on
            the handler's channel.  ``handler(False)`` marks a public method of a
            :class:`~trio_circuits.Component` as *not* a handler.
        channel: the channel listened on; ``None`` (the default) uses the owning
            component's ``channel``; ``"*"`` listens on every channel.
        priority: handlers with a higher priority run first.
        override: replace a base class's handler of the same method name instead of
            running both.

    If the first parameter after ``self`` is named ``event``, the handler receives the
    event object before the event's arguments.
    """
    if names and names[0] is False:

        def disable(f: F) -> F:
            f.handler = False  # type: ignore[attr-defined]
            return f

        return disable

    clean: tuple[str, ...] = tuple(str(n) for n in names if n != "*")
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"handler names must be str, not {name!r}")

    def mark(f: F) -> F:
        if not callable(f):
            raise TypeError(f"@handler decorates functions, not {f!r}")
        f.handler = True  # type: ignore[attr-defined]
        f.names = clean  # type: ignore[attr-defined]
        f.channel = channel  # type: ignore[attr-defined]
        f.priority = priority  # type: ignore[attr-defined]
        f.override = override  # type: ignore[attr-defined]
        f.event = _takes_event(f)  # type: ignore[attr-defined]
        return f

    return mark


def _takes_event(f: Callable[..., Any]) -> bool:
    """True if the first parameter after ``self`` is named ``event``."""
    try:
        params = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        return False
    if params and params[0] in ("self", "cls"):
        params = params[1:]
    return bool(params) and params[0] == "event"


def is_handler(f: object) -> bool:
    """True if ``f`` was marked with :func:`handler` (and not disabled)."""
    return getattr(f, "handler", False) is True


class Handler:
    """A handler bound to the component that owns it (internal record).

    ``fn`` is the bound method; the other fields are copied from its marks so the
    dispatcher reads plain attributes.
    """

    __slots__ = (
        "channel",
        "component",
        "fn",
        "is_async",
        "name",
        "names",
        "priority",
        "takes_event",
    )

    def __init__(self, fn: Callable[..., Any], component: Any, name: str) -> None:
        self.fn = fn
        self.component = component
        self.name = name
        self.names: tuple[str, ...] = getattr(fn, "names", ())
        self.channel: Hashable | None = getattr(fn, "channel", None)
        self.priority: float = getattr(fn, "priority", 0)
        self.takes_event: bool = getattr(fn, "event", False)
        self.is_async = inspect.iscoroutinefunction(fn)

    def matches_name(self, name: str) -> bool:
        """True if this handler handles events called ``name``."""
        return not self.names or name in self.names

    def __repr__(self) -> str:
        return reprhandler(self.fn)


class _Unknown:
    pass


def reprhandler(fn: Any) -> str:
    """Describe a handler as circuits does: ``<handler[channel][names][prio] (Cls.meth)>``."""
    channel = getattr(fn, "channel", "*")
    if channel is None:
        channel = "*"
    from .manager import Manager

    if isinstance(channel, Manager):
        channel = f"<instance of {type(channel).__name__}>"
    names = ",".join(getattr(fn, "names", ()))
    owner = type(getattr(fn, "__self__", _Unknown())).__name__
    priority = getattr(fn, "priority", 0)
    shown = f"[{priority:0.2f}]" if priority else ""
    return f"<handler[{channel}][{names}]{shown} ({owner}.{getattr(fn, '__name__', fn)})>"
