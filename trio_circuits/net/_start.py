"""What a socket component does when it cannot start (SPEC 5.1)."""

from __future__ import annotations

from ..core.components import BaseComponent
from ..core.events import exception
from ..core.flow import IOStatus
from ..core.values import Value
from .events import error


def cannot_start(component: BaseComponent, exc: OSError, status: IOStatus) -> None:
    """Fire ``error(exc)``; then fail the application's start, or report it.

    A component that started with the application raises ``exc``, which makes
    ``nursery.start(root.run)`` (and ``open_app``) raise it once the ``error`` event
    has been handled.  One registered while the application runs returns; if no
    handler receives its ``error``, the failure is reported like a handler's
    exception (an ``exception`` event; on stderr when nobody handles that).
    """
    value = component.fire(error(exc))
    if status.initial:
        raise exc

    def report(reported: Value) -> None:
        if reported.unhandled:
            root = component.root
            report = exception(
                type(exc), exc, exc.__traceback__, handler=None, fevent=reported.event
            )
            root.fire(report, root.channel)

    value.on_done(report)
