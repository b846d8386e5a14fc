"""``Timer``: fire an event after an interval, once or periodically, on Trio's clock."""

from __future__ import annotations

import math
from collections.abc import Hashable
from datetime import datetime
from typing import Any

import trio

from .components import BaseComponent
from .events import Event
from .flow import IOStatus

__all__ = ["Timer"]


def _check_interval(interval: float | datetime) -> float | datetime:
    if isinstance(interval, datetime):
        return interval
    if isinstance(interval, bool) or not isinstance(interval, (int, float)):
        raise TypeError(f"Timer interval must be seconds or a datetime, not {interval!r}")
    if not math.isfinite(interval) or interval < 0:
        raise ValueError(f"Timer interval must be finite and >= 0, not {interval!r}")
    return float(interval)


class Timer(BaseComponent):
    """Fire ``event`` on ``channels`` after ``interval`` (seconds, or a ``datetime``).

    Args:
        interval: seconds from the start, or the wall-clock ``datetime`` to fire at
            (naive datetimes are local time).
        event: the event to fire (the same instance each time).
        *channels: where to fire it (default: the event's channels, else ``"*"``).
        persist: fire every ``interval`` seconds instead of once.  Deadlines do not
            drift: each is the previous one plus the interval.

    The countdown starts when the application runs (or when the timer is registered
    into a running one) and follows Trio's clock, so ``MockClock`` makes it instant.
    A one-shot timer unregisters itself after firing; unregistering stops any timer.
    """

    def __init__(
        self,
        interval: float | datetime,
        event: Event,
        *channels: Hashable,
        persist: bool = False,
        **kwargs: Any,
    ) -> None:
        self._interval = _check_interval(interval)
        if not isinstance(event, Event):
            raise TypeError(f"Timer needs an Event to fire, not {event!r}")
        super().__init__(**kwargs)
        self.event = event
        self.channels = channels
        self.persist = persist
        self._deadline: float | None = None
        self._sleep: trio.CancelScope | None = None

    @property
    def expiry(self) -> float | None:
        """When the timer fires next, on Trio's clock (``None`` while not running)."""
        return self._deadline

    def _seconds(self) -> float:
        interval = self._interval
        if isinstance(interval, datetime):
            now = datetime.now(interval.tzinfo)
            return max(0.0, (interval - now).total_seconds())
        return interval

    def reset(self, interval: float | datetime | None = None) -> None:
        """Restart the countdown from now (with a new ``interval``, if given)."""
        if interval is not None:
            self._interval = _check_interval(interval)
        if self._sleep is not None:
            self._deadline = trio.current_time() + self._seconds()
            self._sleep.deadline = self._deadline

    async def run_io(self, *, task_status: IOStatus) -> None:
        """Fire the event at each deadline until unregistered or stopped."""
        self._deadline = trio.current_time() + self._seconds()
        task_status.started()
        try:
            while True:
                with trio.CancelScope(deadline=self._deadline) as sleep:
                    self._sleep = sleep
                    await trio.sleep_forever()
                self._sleep = None
                if task_status.stopping:
                    return  # stopping: no tick after stop() was asked for
                self.fire(self.event, *self.channels)
                if not self.persist:
                    self.unregister()
                    return
                step = self._seconds()
                now = trio.current_time()
                self._deadline += step
                if self._deadline <= now:
                    # Fell behind (a long pause): skip the missed ticks, no burst.
                    self._deadline = now + step
        finally:
            self._sleep = None
            self._deadline = None
