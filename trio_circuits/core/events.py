"""Events: what is fired on channels, and the core events the framework fires itself.

An :class:`Event` is a plain object: a name, positional and keyword arguments, and a
few flags that ask for follow-up events.  Declaring an event is subclassing::

    class ping(Event):
        success = True

The class name is the event name, so events are conventionally lower-case.
"""

from __future__ import annotations

import traceback as _traceback
from collections.abc import Hashable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._repr import short_repr

if TYPE_CHECKING:
    from .values import Value

__all__ = [
    "Event",
    "exception",
    "prepare_unregister",
    "registered",
    "signal",
    "started",
    "stopped",
    "unregistered",
]

# Classes made by ``Event.create`` are cached: the follow-up events
# (``<name>_success`` and friends) are created for every tracked event, and building a
# class is far slower than looking one up.
_created: dict[tuple[type[Event], str], type[Event]] = {}
# ``(parent name, suffix)`` -> the class of :meth:`Event.child`, without the name's
# formatting: the same classes as ``Event.create`` makes.
_children: dict[tuple[str, str], type[Event]] = {}


class Event:
    """An event: a name, arguments, and the flags that ask for follow-up events.

    Args:
        *args: positional arguments handed to every handler.
        **kwargs: keyword arguments handed to every handler.

    Class attributes (each may also be set on an instance before firing):

    * ``channels`` -- the channels :meth:`Manager.fire` uses when none are given.
    * ``success`` -- fire ``<name>_success(event, value)`` once every handler finished
      without error.
    * ``failure`` -- fire ``<name>_failure(event, (type, value, traceback))`` for each
      handler that raised.
    * ``complete`` -- fire ``<name>_complete(event, value)`` once the event and every
      event its handlers fired (transitively) have finished.
    * ``success_channels``, ``failure_channels``, ``complete_channels`` -- where those
      follow-ups go (default: the channels the event was fired on).
    * ``notify`` -- fire ``<name>_value_changed(value)`` whenever a result is stored.
    """

    name: str = "Event"
    channels: tuple[Hashable, ...] = ()
    success: bool = False
    failure: bool = False
    complete: bool = False
    notify: bool | str = False
    success_channels: tuple[Hashable, ...] | None = None
    failure_channels: tuple[Hashable, ...] | None = None
    complete_channels: tuple[Hashable, ...] | None = None

    # Per-event state.  Only the arguments are set in ``__init__``; the rest are
    # class-level defaults, shadowed on the instance when they change: events are
    # created by the hundred thousand, and each attribute set costs time.
    kwargs: dict[str, Any]
    value: Value | None = None
    handler: Any = None
    stopped: bool = False
    cancelled: bool = False
    parent: Event | None = None
    # The positional arguments as given (a tuple) until :attr:`args` is first read.
    _args: tuple[Any, ...] | list[Any] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # An explicit ``name`` anywhere below Event wins; otherwise the class name.
        if not any("name" in c.__dict__ for c in cls.__mro__ if c is not Event):
            cls.name = cls.__name__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args
        self.kwargs = kwargs

    @property
    def args(self) -> list[Any]:
        """The positional arguments (a list: handlers may change it for later ones)."""
        args = self._args
        if type(args) is not list:
            # Made on first use: most events are never inspected, and an event
            # without arguments then allocates nothing for them.
            args = self._args = list(args)
        return args

    @args.setter
    def args(self, args: list[Any]) -> None:
        self._args = args

    @classmethod
    def create(cls, _name: str, /, *args: Any, **kwargs: Any) -> Event:
        """Build an event named ``_name`` on the fly (an instance of a subclass of ``cls``)."""
        key = (cls, _name)
        created = _created.get(key)
        if created is None:
            created = type(_name, (cls,), {"name": _name})
            _created[key] = created
        return created(*args, **kwargs)

    def child(self, suffix: str, *args: Any, **kwargs: Any) -> Event:
        """An event named ``f"{name}_{suffix}"`` whose ``parent`` is this event.

        The child is a plain :class:`Event`: it does not inherit this event's
        ``success``/``failure``/``complete`` flags.
        """
        try:
            kind = _children[(self.name, suffix)]
        except KeyError:
            kind = type(Event.create(f"{self.name}_{suffix}"))
            _children[(self.name, suffix)] = kind
        child = kind(*args, **kwargs)
        child.parent = self
        return child

    @property
    def waitingHandlers(self) -> int:
        """circuits' count of handlers still running: 0 once every one has finished.

        Also 0 for an event that was never fired.
        """
        value = self.value
        if value is None or value.done:
            return 0
        return max(1, value._pending)

    def stop(self) -> None:
        """No later handler of this event runs (follow-up events still fire)."""
        self.stopped = True

    def cancel(self) -> None:
        """If the event is still queued, it is not dispatched at all."""
        self.cancelled = True

    def __repr__(self) -> str:
        channels: tuple[Hashable, ...] = tuple(getattr(self, "channels", ()))
        if len(channels) > 1:
            shown = repr(channels)
        elif len(channels) == 1:
            shown = str(channels[0])
        else:
            shown = ""
        # Bounded: a 64 KiB read shows its first bytes and its length.
        args = ", ".join(short_repr(arg) for arg in self._args)
        kwargs = ", ".join(f"{k}={short_repr(v)}" for k, v in self.kwargs.items())
        return f"<{self.name}[{shown}] ({args} {kwargs})>"

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, int):
            return self.args[key]
        if isinstance(key, str):
            return self.kwargs[key]
        raise TypeError(f"event indices must be int (args) or str (kwargs), not {type(key)!r}")

    def __setitem__(self, key: int | str, value: Any) -> None:
        if isinstance(key, int):
            self.args[key] = value
        elif isinstance(key, str):
            self.kwargs[key] = value
        else:
            raise TypeError(f"event indices must be int (args) or str (kwargs), not {type(key)!r}")


class exception(Event):
    """Fired on the root's channel when a handler raises.

    Arguments: ``(type, value, traceback_lines, handler=bound_method, fevent=event)``;
    ``traceback_lines`` is ``traceback.format_tb(tb)``, a list of str.
    """

    def __init__(
        self,
        type: type[BaseException],
        value: BaseException,
        traceback: TracebackType | list[str] | None,
        handler: Any = None,
        fevent: Event | None = None,
    ) -> None:
        lines = traceback if isinstance(traceback, list) else _traceback.format_tb(traceback)
        super().__init__(type, value, lines, handler=handler, fevent=fevent)


class started(Event):
    """Fired once the application runs: ``started(root)``."""

    def __init__(self, manager: Any) -> None:
        super().__init__(manager)


class stopped(Event):
    """Fired when the application is asked to stop: ``stopped(root)``."""

    def __init__(self, manager: Any) -> None:
        super().__init__(manager)


class signal(Event):
    """Fired by :func:`trio_circuits.run` for SIGINT/SIGTERM: ``signal(signo, stack)``."""

    def __init__(self, signo: int, stack: Any = None) -> None:
        super().__init__(signo, stack)


class registered(Event):
    """Fired after ``component.register(manager)``: ``registered(component, manager)``."""

    def __init__(self, component: Any, manager: Any) -> None:
        super().__init__(component, manager)


class unregistered(Event):
    """Fired once a component has left the tree: ``unregistered(component, manager)``.

    The component itself receives it too, although by then it is no longer in its
    former parent's ``components``.
    """

    def __init__(self, component: Any, manager: Any) -> None:
        super().__init__(component, manager)


class prepare_unregister(Event):
    """Fired before a component leaves the tree: ``prepare_unregister(component)``.

    The component is detached once this event and everything it caused has finished.
    """

    complete = True

    def __init__(self, component: Any) -> None:
        super().__init__(component)

    def in_subtree(self, component: Any) -> bool:
        """True if ``component`` is the component being removed or one of its descendants."""
        target = self.args[0]
        node = component
        while True:
            if node is target:
                return True
            parent = node.parent
            if parent is node:
                return False
            node = parent
