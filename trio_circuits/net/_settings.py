"""A component's settings for each of its connections (checked once, at construction)."""

from __future__ import annotations

import attrs

__all__ = ["HIGH_WATER", "SLOW_RECEIVERS", "Settings"]

# Stop reading a connection while more than this is queued for it: asyncio's
# default too.  Memory per connection stays near one read, and the socket's own
# send buffer keeps the link busy.
HIGH_WATER = 1 << 16

#: What a connection does when a cascade of another source's writes more than its
#: high-water mark to it (``slow_receivers=``; see the networking docs).
SLOW_RECEIVERS = ("auto", "hold", "close")


@attrs.frozen
class Settings:
    """A component's settings for each of its connections.

    Attributes:
        high_water: stop reading while more bytes than this are queued for sending.
        idle_timeout: close a connection that receives nothing for this many seconds
            while it is ready to read (``None``: never).
        close_timeout: seconds a close may take to flush, send EOF and linger.
        handshake_timeout: seconds a TLS handshake may take.
        drain_timeout: seconds a connection may keep another's cascade waiting for
            its output to drain (``drain``) before it is closed as a peer that does
            not read (``None``: as long as it stays connected).
        send_timeout: seconds queued output may make no progress before the
            connection is closed as stuck (``None``: never).
        max_buffered: the most bytes that may be queued for a connection (``None``:
            four times ``high_water``).  Past it, the rest of a read's ``Line``
            batches wait (the connection's own cascade is held), and a receiver of a
            broadcast is closed as too slow.
        slow_receivers: ``"hold"`` (a cascade of another source that writes past the
            high-water mark waits for this connection's output to drain: a tunnel),
            ``"close"`` (it never waits: the connection is closed as too slow once
            past ``max_buffered``: a broadcast), or ``"auto"``: hold while the cascade
            writes to this connection alone, close when it writes to several.
        half_close: the peer's EOF fires ``eof`` and leaves the connection open for
            writing (``send_eof`` ends our side), instead of closing it.
    """

    high_water: int = HIGH_WATER
    idle_timeout: float | None = None
    close_timeout: float = 5.0
    handshake_timeout: float = 10.0
    drain_timeout: float | None = None
    send_timeout: float | None = 60.0
    max_buffered: int | None = None
    slow_receivers: str = "auto"
    half_close: bool = False

    def __attrs_post_init__(self) -> None:
        if isinstance(self.high_water, bool) or self.high_water < 1:
            raise ValueError(f"high_water must be >= 1, not {self.high_water!r}")
        for name in ("close_timeout", "handshake_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        for name in ("idle_timeout", "drain_timeout", "send_timeout"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0 (or None)")
        limit = self.max_buffered
        if limit is not None and (isinstance(limit, bool) or limit < self.high_water):
            raise ValueError(f"max_buffered must be >= high_water, not {limit!r}")
        if self.slow_receivers not in SLOW_RECEIVERS:
            raise ValueError(
                f"slow_receivers must be one of {', '.join(SLOW_RECEIVERS)}, "
                f"not {self.slow_receivers!r}"
            )

    @property
    def buffer_limit(self) -> int:
        """``max_buffered``, or its default."""
        return self.max_buffered if self.max_buffered is not None else 4 * self.high_water
