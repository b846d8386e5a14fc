"""Networking fixtures."""

from __future__ import annotations

import pytest

from trio_circuits.net import _serving


@pytest.fixture(params=["reactor", "tasks"])
def serving_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the reactor, and again with per-connection tasks (no epoll)."""
    if request.param == "tasks":
        monkeypatch.setattr(_serving, "available", lambda: False)
    return str(request.param)
