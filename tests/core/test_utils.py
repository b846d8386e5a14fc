"""trio_circuits.core.utils: walking and searching a tree; safeimport."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from trio_circuits import Component
from trio_circuits.core.utils import findchannel, findcmp, findroot, findtype, flatten, safeimport


class Top(Component):
    channel = "top"


class Left(Component):
    channel = "left"


class Right(Component):
    channel = "right"


class Leaf(Left):
    channel = "leaf"


def tree() -> tuple[Top, Left, Right, Leaf]:
    top, left, right, leaf = Top(), Left(), Right(), Leaf()
    left.register(top)
    right.register(top)
    leaf.register(left)
    return top, left, right, leaf


def test_flatten_is_depth_first_parents_first() -> None:
    top, left, right, leaf = tree()
    assert list(flatten(top)) == [top, left, leaf, right]
    assert list(flatten(leaf)) == [leaf]


def test_findroot_from_every_depth() -> None:
    top, _left, right, leaf = tree()
    assert findroot(leaf) is top
    assert findroot(right) is top
    assert findroot(top) is top


def test_findchannel_first_and_all() -> None:
    top, _left, right, leaf = tree()
    assert findchannel(top, "right") is right
    assert findchannel(top, "nowhere") is None
    assert findchannel(top, "leaf", all=True) == [leaf]


def test_findtype_matches_subclasses() -> None:
    top, left, right, leaf = tree()
    assert findtype(top, Left) is left
    assert findtype(top, Left, all=True) == [left, leaf]
    assert findtype(top, Leaf) is leaf
    assert findcmp is findtype
    assert findtype(right, Left) is None


def write_module(directory: Path, name: str, body: str) -> None:
    (directory / f"{name}.py").write_text(textwrap.dedent(body))


@pytest.fixture
def on_path(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))


def test_safeimport_imports_then_reloads(on_path: Path) -> None:
    write_module(on_path, "tc_plugin_a", "def answer():\n    return 1\n")
    module = safeimport("tc_plugin_a")
    assert module is not None
    assert module.answer() == 1
    write_module(on_path, "tc_plugin_a", "def answer():\n    return 2  # edited\n")
    reloaded = safeimport("tc_plugin_a")
    assert reloaded is module
    assert module.answer() == 2
    del sys.modules["tc_plugin_a"]


def test_safeimport_failure_cleans_sys_modules(on_path: Path) -> None:
    write_module(on_path, "tc_helper_b", "VALUE = 3\n")
    write_module(on_path, "tc_plugin_b", "import tc_helper_b\ndef broken(:\n")
    assert safeimport("tc_plugin_b") is None
    assert "tc_plugin_b" not in sys.modules
    assert "tc_helper_b" not in sys.modules  # imported by the failed attempt only


def test_safeimport_failed_reload_drops_the_module(on_path: Path) -> None:
    write_module(on_path, "tc_plugin_c", "X = 1\n")
    assert safeimport("tc_plugin_c") is not None
    write_module(on_path, "tc_plugin_c", "raise RuntimeError('broken on purpose')\n")
    assert safeimport("tc_plugin_c") is None
    assert "tc_plugin_c" not in sys.modules


def test_safeimport_of_a_missing_module() -> None:
    assert safeimport("tc_no_such_module_anywhere") is None
