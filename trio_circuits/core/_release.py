"""Releasing an event and its Value without the garbage collector.

An event and its Value refer to each other (``event.value`` / ``value.event``), so
when nobody else holds them only the cyclic garbage collector frees them; with
events fired by the hundred thousand, that collector becomes a large share of the
dispatcher's time.  When the dispatcher is done with an event and nothing but the
dispatcher's own frames refers to the pair, cutting the link is invisible to the
application and lets reference counting free both at once.

"Nothing else" is decided with ``sys.getrefcount``, compared with the counts seen
at the same call site for a probe pair known to be unshared.  The counts are
*measured from the functions that call* :meth:`Releaser.release`: the dispatcher
runs a probe event through its real code paths once (:meth:`Releaser.calibrate`),
so a change to those functions' locals changes the expected counts with it.  Any
reference the application keeps makes a count larger, so the link is then left
alone and the collector frees the pair as before: the check errs only on the safe
side.  A call site that was never calibrated never releases.  Only CPython with the
GIL has reference counts this check can rely on.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from sys import getrefcount
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events import Event
    from .values import Value

__all__ = ["Releaser"]


def _counts_reliable() -> bool:
    gil = getattr(sys, "_is_gil_enabled", None)
    return sys.implementation.name == "cpython" and (gil is None or gil())


class Releaser:
    """Cuts ``event.value`` for pairs nobody else can see (see the module docs)."""

    __slots__ = ("_calibrating", "_event_refs", "_expected", "_value_refs", "enabled")

    def __init__(self) -> None:
        self.enabled = _counts_reliable()
        self._expected: dict[str, tuple[int, int]] = {}
        self._calibrating: str | None = None
        # The "dispatch" site's counts (-1: not calibrated: never equal).
        self._event_refs = -1
        self._value_refs = -1

    def calibrate(self, site: str, run_probe: Callable[[], object]) -> None:
        """Record the counts that :meth:`release` sees at ``site`` during ``run_probe``.

        ``run_probe`` must pass an unshared probe pair through the real code path
        that ends in ``release(site, event, value)``.
        """
        if not self.enabled:
            return
        self._calibrating = site
        try:
            run_probe()
        finally:
            self._calibrating = None

    def calibrating(self, site: str) -> Callable[[], None]:
        """Like :meth:`calibrate`, for a probe run by the caller (an ``await``).

        Returns the function to call once the probe has run.
        """
        self._calibrating = site if self.enabled else None

        def done() -> None:
            self._calibrating = None

        return done

    def release(self, site: str, event: Event, value: Value) -> None:
        """Cut ``event.value`` if nothing but the callers' frames refers to the pair."""
        counts = (getrefcount(event), getrefcount(value))
        if self._calibrating == site:
            self._expected[site] = counts
            self._cut(event)
            return
        if counts == self._expected.get(site):
            self._cut(event)

    def release_dispatched(self, event: Event, value: Value) -> None:
        """:meth:`release` at the ``"dispatch"`` site (the common one), without lookups.

        Measured where it is called from, as ``release`` is: the dispatcher calls
        only this at that site, calibration included.
        """
        event_refs = getrefcount(event)
        value_refs = getrefcount(value)
        if event_refs == self._event_refs and value_refs == self._value_refs:
            if event.parent is None:
                event.value = None  # _cut's common case, without the call
            else:
                self._cut(event)
        elif self._calibrating == "dispatch":
            self._event_refs, self._value_refs = event_refs, value_refs
            self._cut(event)

    def _cut(self, event: Event) -> None:
        event.value = None
        parent = event.parent
        if parent is not None:
            # Nobody can see the child any more, so its links to the parent can go
            # now, rather than when it is freed; the parent may have been waiting
            # only for this child to go.
            event.parent = None
            event._args = ()
            value = parent.value
            if value is not None and value.event is parent:
                self.release("parent", parent, value)
