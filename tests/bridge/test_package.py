"""The bridge package's shape: its parts import no circle, use no private attribute of
core, stay small; its options; the optional dependencies."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import trio_circuits
from trio_circuits import Component, Event, Manager
from trio_circuits.bridge import JSONCodec, RedisBridge
from trio_circuits.testing import RedisServer, Watcher

from .conftest import eventually

PACKAGE = Path(trio_circuits.__file__).parent
BRIDGE = PACKAGE / "bridge"


def _modules(folder: Path) -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text()) for path in sorted(folder.glob("*.py"))}


def _local_imports(tree: ast.Module) -> set[str]:
    """The sibling modules a module imports (``from .x import``), typing-only included."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_the_parts_import_no_circle() -> None:
    graph = {name: _local_imports(tree) for name, tree in _modules(BRIDGE).items()}
    graph.pop("__init__")
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for dep in sorted(graph.get(name, ())):
            if state.get(dep) == "open":
                raise AssertionError("import circle: " + " -> ".join([*path, name, dep]))
            if dep not in state:
                visit(dep, [*path, name])
        state[name] = "done"

    for name in graph:
        if name not in state:
            visit(name, [])


@pytest.mark.parametrize("folder", ["bridge", "testing"])
def test_no_private_attribute_of_core_is_used(folder: str) -> None:
    for name, tree in _modules(PACKAGE / folder).items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 2:
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{folder}/{name}: imports {private} from core"
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                if node.attr.startswith("__"):
                    continue
                # Private attributes are read on the object's own ``self`` only.
                owner = node.value
                where = f"{folder}/{name}.py:{node.lineno}: {ast.unparse(node)}"
                assert isinstance(owner, ast.Name), where
                assert owner.id in ("self", "cls"), where


def test_modules_and_classes_stay_small() -> None:
    for path in sorted(BRIDGE.glob("*.py")):
        lines = path.read_text().count("\n")
        assert lines <= 400, f"{path.name}: {lines} lines"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                assert size <= 250, f"{path.name}: class {node.name} has {size} lines"


@pytest.mark.parametrize("missing", ["coredis", "hiredis"])
def test_without_a_dependency_the_import_error_names_the_extra(missing: str) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules[{missing!r}] = None
        try:
            import trio_circuits.bridge
        except ImportError as exc:
            print(exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert missing in out
    assert "trio-circuits[redis]" in out


def test_the_hiredis_path_does_not_import_coredis() -> None:
    code = (
        "import sys, trio_circuits.bridge as b; b.RedisBridge(); print('coredis' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "False"


def test_client_options() -> None:
    assert RedisBridge().config.client == "hiredis"
    assert RedisBridge(cluster=True).config.client == "coredis"
    assert RedisBridge(client="coredis").config.client == "coredis"
    with pytest.raises(ValueError, match="cluster=True needs client='coredis'"):
        RedisBridge(cluster=True, client="hiredis")
    with pytest.raises(ValueError, match="client must be one of"):
        RedisBridge(client="redis-py")
    with pytest.raises(ValueError, match="connect_timeout must be > 0"):
        RedisBridge(connect_timeout=0)
    with pytest.raises(ValueError, match="call_timeout must be > 0"):
        RedisBridge(call_timeout=-1)


class CountingCodec(JSONCodec):
    """JSON, counting what it encodes."""

    def __init__(self) -> None:
        super().__init__()
        self.encoded = 0

    def encode(self, event: Event) -> bytes:
        self.encoded += 1
        return super().encode(event)


class hello(Event):
    """Bridged on two channels at once."""


class Got(Component):
    channel = "*"

    def init(self) -> None:
        self.got: list[tuple[Any, ...]] = []

    def hello(self, event: Event, n: int) -> None:
        self.got.append(event.channels)


async def test_an_event_on_two_bridged_channels_is_encoded_once(
    app: Any, redis_server: RedisServer, prefix: str, client: str
) -> None:
    codec = CountingCodec()
    a, b = Manager(), Manager()
    sender = RedisBridge(
        redis_server.url, node="a", prefix=prefix, channels=("x", "y"), codec=codec, client=client
    ).register(a)
    RedisBridge(
        redis_server.url, node="b", prefix=prefix, channels=("x", "y"), client=client
    ).register(b)
    got = Got().register(b)
    watcher = Watcher(b)
    await app(a)
    await app(b)
    a.fire(hello(1), "x", "y")
    await eventually(lambda: len(got.got) == 2)
    assert sorted(got.got) == [("x",), ("y",)]  # one entry per stream, each on its channel
    assert codec.encoded == 1
    assert sender.statistics()["sent"] == 2
    # The bridge keeps its bookkeeping to itself: nothing was set on the events.
    for event in watcher.seen:
        if event.name == "hello":
            assert not [k for k in vars(event) if "bridge" in k or "origin" in k]
