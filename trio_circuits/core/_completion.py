"""Pure bookkeeping for ``<name>_complete``: which events belong to which cascade.

An event fired while a *tracked* event is being handled (in its plain handlers, or in
its ``async`` handlers and the tasks they spawn, through a context variable that Trio
copies into child tasks) becomes an *effect* of that event.  Every tracked Value
counts itself plus its unfinished effects; when the count reaches zero the Value's
cascade has completed and its cause loses one effect.  An event with
``complete = True`` starts tracking even when nothing tracks its firer.

No I/O and no Trio here: ``fire`` calls :func:`track` when an event is fired, the
dispatcher sets :data:`current_cause` while a tracked event's handlers run and calls
:func:`finish` when its own handlers have all returned.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .values import Value

__all__ = ["current_cause", "finish", "track"]

#: The Value of the tracked event whose handlers are running, if any.
current_cause: ContextVar[Value | None] = ContextVar("trio_circuits_cause", default=None)


def track(child: Value, cause: Value | None, complete: bool) -> None:
    """Attach a newly fired ``child`` to the cascade of ``cause`` (if any).

    ``cause`` is ignored once its cascade has completed (a task it spawned fired late).
    """
    if cause is not None and cause._effects > 0:
        child._cause = cause
        cause._effects += 1
        child._effects = 1
    elif complete:
        child._effects = 1


def finish(value: Value) -> list[Value]:
    """Record that ``value``'s own handlers are done.

    Returns the Values whose whole cascade has now completed, innermost first.
    Untracked Values return ``[]``.
    """
    completed: list[Value] = []
    node: Value | None = value
    while node is not None and node._effects > 0:
        node._effects -= 1
        if node._effects:
            break
        node._completed = True
        completed.append(node)
        node = node._cause
    return completed
