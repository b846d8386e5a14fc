"""The pure parts, driven without Trio: completion counting and handler lookup."""

from __future__ import annotations

from typing import Any

from trio_circuits import BaseComponent, Component, Event, Manager, handler
from trio_circuits.core import _completion
from trio_circuits.core._lookup import collect
from trio_circuits.core._tree import walk
from trio_circuits.core.handlers import reprhandler
from trio_circuits.core.values import Value


def test_untracked_values_complete_nothing() -> None:
    v = Value()
    _completion.track(v, None, complete=False)
    assert _completion.finish(v) == []


def test_three_level_cascade_completes_once_innermost_first() -> None:
    top = Value()
    _completion.track(top, None, complete=True)
    mid_a, mid_b = Value(), Value()
    _completion.track(mid_a, top, complete=False)
    _completion.track(mid_b, top, complete=False)
    leaf = Value()
    _completion.track(leaf, mid_a, complete=False)
    # The top's own handlers finish first: its effects are still running.
    assert _completion.finish(top) == []
    assert _completion.finish(mid_a) == []
    assert _completion.finish(mid_b) == [mid_b]
    # The last leaf completes its parent and then the top.
    assert _completion.finish(leaf) == [leaf, mid_a, top]
    assert top._completed
    # A late child of a completed cascade is not attached to it.
    late = Value()
    _completion.track(late, top, complete=False)
    assert late._cause is None
    assert _completion.finish(late) == []


class A(BaseComponent):
    channel = "a"

    @handler("x")
    def ax(self) -> None: ...

    @handler("x", priority=5)
    def ax_high(self) -> None: ...


class B(BaseComponent):
    channel = "b"

    @handler("x")
    def bx(self) -> None: ...

    @handler(channel="*")
    def anything(self, event: Event, *args: Any) -> None: ...


def _names(handlers: tuple[Any, ...]) -> list[str]:
    return [h.fn.__name__ for h in handlers]


def test_collect_matches_names_channels_and_priority() -> None:
    m = Manager()
    a, b = A(), B()
    m += a
    m += b
    assert list(walk(m)) == [m, a, b]
    assert _names(collect(m, "x", ("a",))) == ["ax_high", "ax", "anything"]
    assert _names(collect(m, "x", ("b",))) == ["bx", "anything"]
    assert _names(collect(m, "x", ("*",))) == ["ax_high", "ax", "bx", "anything"]
    assert _names(collect(m, "y", ("a",))) == ["anything"]
    assert _names(collect(m, "x", (a,))) == ["ax_high", "ax", "anything"]
    assert _names(collect(m, "x", ("a", "b"))) == ["ax_high", "ax", "anything", "bx", "anything"]


def test_reprhandler() -> None:
    class App(Component):
        def test(self) -> None: ...

        @handler("foo", channel="c", priority=1.5)
        def _foo(self) -> None: ...

    app = App()
    assert reprhandler(app.test) == "<handler[*][test] (App.test)>"
    assert reprhandler(app._foo) == "<handler[c][foo][1.50] (App._foo)>"
