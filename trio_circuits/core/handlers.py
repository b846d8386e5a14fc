"""The ``@handler`` decorator and the record of a handler bound to a component.

Nothing here does I/O: marking functions, discovering them on classes and describing
them is plain data work, unit-tested without Trio.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable
from types import MethodType
from typing import Any, TypeVar

__all__ = [
    "Handler",
    "class_handlers",
    "event_names",
    "handler",
    "hybridmethod",
    "is_handler",
    "reprhandler",
]

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
    """A handler function bound to its component (internal record).

    ``fn`` is the bound method; the other fields are copied from its marks so the
    dispatcher reads plain attributes.
    """

    __slots__ = ("channel", "fn", "is_async", "names", "priority", "takes_event")

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.names: tuple[str, ...] = getattr(fn, "names", ())
        self.channel: Hashable | None = getattr(fn, "channel", None)
        self.priority: float = getattr(fn, "priority", 0)
        self.takes_event: bool = getattr(fn, "event", False)
        self.is_async = inspect.iscoroutinefunction(fn)

    def __repr__(self) -> str:
        return reprhandler(self.fn)


def class_handlers(cls: type) -> list[tuple[str, Callable[..., Any]]]:
    """The handler functions of a class, each with the name it is registered under.

    A method that redefines a base class's handler runs alongside it unless it was
    marked ``override=True``.  Computed once per class.
    """
    cached = cls.__dict__.get("_tc_class_handlers")
    if cached is not None:
        return list(cached)
    found: list[tuple[str, Callable[..., Any]]] = []
    seen: set[str] = set()
    for klass in cls.__mro__:
        for attr in klass.__dict__:
            if attr in seen:
                continue
            seen.add(attr)
            first = True
            for owner in cls.__mro__:
                definition = owner.__dict__.get(attr)
                if definition is None or not is_handler(definition):
                    continue
                found.append((attr if first else f"{owner.__name__}_{attr}", definition))
                first = False
                if getattr(definition, "override", False):
                    break
    cls._tc_class_handlers = tuple(found)  # type: ignore[attr-defined]
    return found


def event_names(functions: list[Callable[..., Any]]) -> list[str]:
    """The public event names that ``functions`` handle, in order, once each."""
    names: list[str] = []
    for fn in functions:
        for n in getattr(fn, "names", ()):
            if not n.startswith("_") and n not in names:
                names.append(n)
    return names


class hybridmethod:
    """A method that works on the class and on instances (``handles`` and friends)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Any, cls: type) -> Callable[..., Any]:
        return MethodType(self.fn, obj if obj is not None else cls)


class _Unknown:
    pass


def reprhandler(fn: Any) -> str:
    """Describe a handler as circuits does: ``<handler[channel][names][prio] (Cls.meth)>``.

    Raises ``AttributeError`` for a function that is not a handler.
    """
    if not is_handler(fn):
        raise AttributeError(f"{fn!r} is not a handler (it has no handler marks)")
    channel = getattr(fn, "channel", "*")
    if channel is None:
        channel = "*"
    if callable(getattr(channel, "fire", None)):  # a component used as a channel
        channel = f"<instance of {type(channel).__name__}>"
    names = ",".join(getattr(fn, "names", ()))
    owner = type(getattr(fn, "__self__", _Unknown())).__name__
    priority = getattr(fn, "priority", 0)
    shown = f"[{priority:0.2f}]" if priority else ""
    return f"<handler[{channel}][{names}]{shown} ({owner}.{getattr(fn, '__name__', fn)})>"
