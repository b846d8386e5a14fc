"""trio_circuits.tools: inspect, graph, walk, edges, kill, tryimport, deprecated."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from trio_circuits import BaseComponent, Component, Manager, handler, open_app
from trio_circuits.testing import Watcher
from trio_circuits.tools import (
    deprecated,
    edges,
    findroot,
    graph,
    graph_ascii,
    inspect,
    kill,
    tryimport,
    walk,
)


class Alpha(Component):
    def ping(self) -> str:
        return "pong"

    @handler("ping", "pang", priority=2)
    def _twice(self) -> None:
        pass


class Beta(Component):
    channel = "beta"

    def ping(self) -> None:
        pass


class Gamma(BaseComponent):
    @handler()
    def _everything(self, *args: object) -> None:
        pass


def build() -> tuple[Alpha, Beta, Gamma, Beta]:
    a, b, c, d = Alpha(), Beta(), Gamma(), Beta()
    b.register(a)
    c.register(b)
    d.register(a)
    return a, b, c, d


def test_inspect_lists_children_and_handlers() -> None:
    a, b, _c, d = build()
    report = inspect(a)
    lines = report.splitlines()
    assert lines[0] == " Components: 2"
    assert lines[1] == f"  {b!r}"
    assert lines[2] == f"  {d!r}"
    # ping, pang, and circuits' own prepare_unregister_complete handler.
    assert " Event Handlers: 3" in lines
    assert "  ping; 2" in lines
    assert "  pang; 1" in lines
    assert "   <handler[*][ping] (Alpha.ping)>" in lines
    assert "   <handler[*][ping,pang][2.00] (Alpha._twice)>" in lines
    assert "  prepare_unregister_complete; 1" in lines
    assert (
        "   <handler[<instance of Alpha>][prepare_unregister_complete] "
        "(Alpha._on_prepare_unregister_complete)>"
    ) in lines


def test_inspect_groups_catch_all_handlers_under_star() -> None:
    report = inspect(Gamma())
    assert "  *; 1" in report.splitlines()


def test_walk_and_edges() -> None:
    a, b, c, d = build()
    assert list(walk(a, lambda depth, x: (depth, x))) == [(0, a), (1, b), (2, c), (1, d)]
    assert edges(a) == {(a, b, 1), (b, c, 2), (a, d, 1)}
    assert findroot(c) is a


def test_graph_ascii_and_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "")  # no Graphviz: the PNG depends on matplotlib only
    a, b, c, d = build()
    text = graph(a, "tree")
    assert text.splitlines() == [f"* {a!r}", f" * {b!r}", f"  * {c!r}", f" * {d!r}"]
    assert text == graph_ascii(a)
    dot = (tmp_path / "tree.dot").read_text()
    assert dot.startswith('digraph "tree" {')
    assert '"Alpha" -> "Beta";' in dot
    assert '"Beta" -> "Gamma";' in dot
    assert '"Alpha" -> "Beta_2";' in dot  # two Betas, two nodes
    png = tmp_path / "tree.png"
    assert png.exists() == (tryimport("matplotlib.pyplot") is not None)


def test_graph_names_the_file_after_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "")
    graph(Alpha())
    assert os.path.exists(tmp_path / "Alpha.dot")


async def test_kill_unregisters_a_subtree_bottom_up() -> None:
    a, b, c, d = build()
    watcher = Watcher(a)
    async with open_app(a):
        kill(b)
        for _ in range(2):
            await watcher.wait("unregistered")
        assert b not in a.components
        assert c.parent is c
        assert b.parent is b
        assert not b.components
        assert d in a.components
        kill(Manager())  # a lone root: nothing to do


def test_tryimport() -> None:
    import os.path as ospath

    assert tryimport("os") is os
    assert tryimport(["tc_no_such_module", "os"], "path") is ospath
    assert tryimport("tc_no_such_module") is None
    with pytest.warns(UserWarning, match="no such thing"):
        assert tryimport("tc_no_such_module", message="no such thing") is None


def test_deprecated_warns_and_calls() -> None:
    @deprecated
    def old(x: int) -> int:
        return x + 1

    with pytest.warns(DeprecationWarning, match="deprecated function old"):
        assert old(1) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert old.__name__ == "old"
