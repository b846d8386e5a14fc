"""``Value``: the result of firing an event, filled in as its handlers finish.

A Value is plain data plus :meth:`Value.wait`.  The counters that decide when an
event (and the cascade it started) has finished live here too, driven by the
dispatcher; :mod:`trio_circuits.core._completion` holds the pure bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import trio

if TYPE_CHECKING:
    from .events import Event

__all__ = ["Value", "ValueObserver"]


class ValueObserver(Protocol):
    """What :meth:`Value.observe` reports to: the three moments of a fired event.

    Each method is called once, in the dispatcher, in this order:

    * :meth:`dispatched` -- the plain handlers have run and the ``async`` ones have
      been started;
    * :meth:`done` -- every handler has finished (the value is final);
    * :meth:`completed` -- the event and every event its handlers fired (and theirs,
      and so on) have all finished: its *cascade* has completed.
    """

    def dispatched(self, value: Value) -> None:
        """The event's plain handlers have run."""

    def done(self, value: Value) -> None:
        """Every handler of the event has finished."""

    def completed(self, value: Value) -> bool | None:
        """The event's whole cascade has finished; True if that woke a task."""


def _resolve(x: Any) -> Any:
    if isinstance(x, Value):
        return x.value
    return x


class Value:
    """The result of a fired event.

    Attributes:
        event: the event this is the value of.
        result: True once a handler stored a result (or an error).
        errors: True if a handler raised; its ``(type, value, traceback)`` triple is
            then stored as (one of) the results.
        notify: like ``event.notify``: fire ``<name>_value_changed(self)`` whenever a
            result is stored.

    ``value`` is what the handlers returned: the one non-``None`` result, or a list of
    them (in handler order) when two or more handlers returned something.  A handler
    that returns another event's Value makes that Value's value this one's, resolved
    when read.  ``in``, iteration, indexing and ``str()`` apply to ``value``.
    """

    # Per-fire state is created for every event, so only the three fields every Value
    # needs are set in __init__; the rest are class-level defaults, shadowed on the
    # instance only when they change.
    notify: bool | str = False
    result: bool = False
    errors: bool = False
    parent: Value | None = None
    _value: Any = None
    _count = 0
    _error: BaseException | None = None
    # Completion bookkeeping (see _completion.py).
    _pending = 0
    _done = False
    _done_event: trio.Event | None = None
    _effects = 0
    _cause: Value | None = None
    _completed = False
    _callbacks: list[Callable[[Value], None]] | None = None
    _done_callbacks: list[Callable[[Value], None]] | None = None
    _observer: ValueObserver | None = None
    _dispatched = False
    _dispatched_event: trio.Event | None = None
    #: True once dispatched if no handler received the event.
    unhandled: bool = False
    #: circuits' queue rank (``fire(event, priority=n)``): lower goes first.
    priority: int = 0
    # A detached subtree that also receives the event (``unregistered``).
    _extra: Any = None
    # The socket layer's note on the cascade rooted here: the connection it has
    # written to, or a marker once it has written to several (a broadcast).
    _fanout: Any = None

    def __init__(
        self,
        event: Event | None = None,
        manager: Any = None,
        channels: tuple[Hashable, ...] = (),
    ) -> None:
        self.event = event
        self._manager = manager
        self._channels = channels

    # -- reading ---------------------------------------------------------------------

    @property
    def value(self) -> Any:
        """The handlers' result (chained Values resolved, also inside a list)."""
        v = self._value
        if isinstance(v, Value):
            return v.value
        if self._count > 1:
            return [_resolve(x) for x in v]
        return v

    @value.setter
    def value(self, result: Any) -> None:
        self._store(result)

    @property
    def done(self) -> bool:
        """True once every handler of the event (``async`` ones included) has finished."""
        return self._done

    def __contains__(self, item: object) -> bool:
        v = self.value
        if isinstance(v, list):
            return item in v
        return bool(item == v)

    def __getitem__(self, index: Any) -> Any:
        return self.value[index]

    def __iter__(self) -> Iterator[Any]:
        v = self.value
        if isinstance(v, list):
            return iter(v)
        return iter(v)

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return (
            f"<Value ({self.value!r}) result={self.result}; errors={self.errors}; "
            f"for {self.event!r}>"
        )

    async def wait(self) -> Any:
        """Wait until every handler has finished; return :attr:`value`.

        Re-raises the exception of a handler that raised.  Chained Values (a handler
        returned another event's Value) are waited for as well.

        Cancellation: cancelling the wait does not affect the event.
        """
        await self._wait_done()
        if self._error is not None:
            raise self._error
        return self.value

    async def wait_done(self) -> None:
        """Wait until every handler has finished, without raising their errors.

        Cancellation: cancelling the wait does not affect the event.
        """
        await self._wait_done()

    async def _wait_done(self) -> None:
        if not self._done:
            if self._done_event is None:
                self._done_event = trio.Event()
            await self._done_event.wait()
        else:
            await trio.lowlevel.checkpoint()
        for chained in self._chained():
            await chained._wait_done()

    def _chained(self) -> list[Value]:
        v = self._value
        if isinstance(v, Value):
            return [v]
        if self._count > 1:
            return [x for x in v if isinstance(x, Value)]
        return []

    # -- writing (the dispatcher) ----------------------------------------------------

    def _store(self, result: Any) -> None:
        """Store one handler's result (``None`` is ignored)."""
        if result is None:
            return
        count = self._count
        if count == 0:
            self._value = result
        elif count == 1:
            self._value = [self._value, result]
        else:
            self._value.append(result)
        self._count = count + 1
        self.result = True
        if isinstance(result, Value):
            result.parent = self
        if self.notify or self.parent is not None or self.event is None or self.event.notify:
            self._inform()

    def _store_error(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
        self.errors = True
        self._store((type(exc), exc, exc.__traceback__))

    def _inform(self) -> None:
        """Fire ``value_changed`` for this Value and the Values chained onto it."""
        node: Value | None = self
        while node is not None:
            event = node.event
            notify = node.notify or (event.notify if event is not None else False)
            if notify and node._manager is not None and node.result:
                node._manager._notify_value(node, notify)
            node = node.parent

    def _set_done(self) -> None:
        self._done = True
        if self._done_event is not None:
            self._done_event.set()
        observer = self._observer
        if observer is not None:
            observer.done(self)
        if self._done_callbacks is not None:
            for callback in self._done_callbacks:
                callback(self)

    def _set_dispatched(self) -> None:
        self._dispatched = True
        if self._dispatched_event is not None:
            self._dispatched_event.set()
        observer = self._observer
        if observer is not None:
            observer.dispatched(self)

    def _set_completed(self) -> bool:
        """The cascade has completed: tell the observer (True if it woke a task)."""
        woke = False
        observer = self._observer
        if observer is not None:
            woke = bool(observer.completed(self))
        if self._callbacks is not None:
            for callback in self._callbacks:
                callback(self)
        return woke

    async def _wait_dispatched(self) -> None:
        """Wait until the dispatcher has run the plain handlers and started the async ones.

        Unlike :meth:`wait`, this does not wait for ``async`` handlers to finish (an
        async handler may itself be waiting for a later event).
        """
        if not self._dispatched:
            if self._dispatched_event is None:
                self._dispatched_event = trio.Event()
            await self._dispatched_event.wait()
        else:
            await trio.lowlevel.checkpoint()

    # -- hooks for the framework's own components ------------------------------------

    @property
    def dispatched(self) -> bool:
        """True once the plain handlers have run (and the ``async`` ones started)."""
        return self._dispatched

    def observe(self, observer: ValueObserver) -> None:
        """Report this event's dispatch, end and cascade to ``observer``.

        Call it in the application's thread right after firing, before the event can
        have been dispatched.  The event's cascade is followed from then on (as for an
        event with ``complete = True``, without the ``_complete`` event).  One
        observer per Value.
        """
        if self._dispatched:
            raise RuntimeError("observe() after the event was dispatched")
        if self._observer is not None:
            raise RuntimeError("this Value already has an observer")
        self._observer = observer
        if self._effects == 0:
            self._effects = 1

    def on_done(self, fn: Callable[[Value], None]) -> None:
        """Call ``fn(self)`` once every handler has finished (at once if they have).

        ``fn`` runs in the dispatcher's task, before the event's ``success``,
        ``failure`` and ``complete`` are fired and before the event is released:
        it must not block, and what it fires is queued after them.
        """
        if self._done:
            fn(self)
            return
        if self._done_callbacks is None:
            self._done_callbacks = []
        self._done_callbacks.append(fn)

    def on_complete(self, fn: Callable[[Value], None]) -> None:
        """Call ``fn(self)`` once the event's whole cascade has finished.

        Like :meth:`observe`, call it before the event can have been dispatched; its
        cascade is followed from then on.
        """
        if self._dispatched:
            raise RuntimeError("on_complete() after the event was dispatched")
        if self._effects == 0:
            self._effects = 1
        if self._callbacks is None:
            self._callbacks = []
        self._callbacks.append(fn)
