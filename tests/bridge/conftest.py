"""Fixtures for the bridge tests: a real redis-server per test, unique key prefixes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
import trio

from trio_circuits.testing import RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A throwaway redis-server on a free loopback port (AOF on, so restarts keep data)."""
    with RedisServer(aof=True) as server:
        yield server


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


async def eventually(check: Callable[[], bool], seconds: float = 10) -> None:
    """Wait until ``check()`` is true: polled every 10 ms, at most ``seconds``.

    Polling, because what is checked lives in Redis or in counters no event reports.
    """
    with trio.fail_after(seconds):
        while not check():  # noqa: ASYNC110
            await trio.sleep(0.01)
