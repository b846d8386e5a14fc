"""trio_circuits.core.loader.Loader: plugins loaded by module name."""

from __future__ import annotations

import textwrap
import threading
from pathlib import Path

import trio

from trio_circuits import Event, Loader, Manager, open_app
from trio_circuits.core.loader import load

PLUGIN = """
from trio_circuits import Component
from trio_circuits.core.utils import findroot  # imported names are not candidates


class Greeter(Component):
    def init(self, greeting="Hello"):
        self.greeting = greeting

    def hello(self, who):
        return f"{self.greeting} {who}!"
"""


class hello(Event):
    pass


def plugin_dir(tmp_path: Path, name: str, body: str = PLUGIN) -> str:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    return str(tmp_path)


async def test_load_event_registers_the_component(tmp_path: Path) -> None:
    root = Manager()
    loader = Loader(paths=[plugin_dir(tmp_path, "tc_loader_one")]).register(root)
    async with open_app(root):
        value = await root.call(load("tc_loader_one"), "loader")
        component = value.value
        assert type(component).__name__ == "Greeter"
        assert component.parent is loader
        with trio.fail_after(5):
            answer = await root.call(hello("world"))
        assert answer.value == "Hello world!"


async def test_init_arguments_and_no_auto_register(tmp_path: Path) -> None:
    root = Manager()
    loader = Loader(
        auto_register=False,
        init_kwargs={"greeting": "Hi"},
        paths=[plugin_dir(tmp_path, "tc_loader_two")],
    ).register(root)
    async with open_app(root):
        component = loader.load("tc_loader_two")
        assert component is not None
        assert getattr(component, "greeting", None) == "Hi"
        assert component.parent is component


async def test_missing_or_empty_modules_give_none(tmp_path: Path) -> None:
    root = Manager()
    path = plugin_dir(tmp_path, "tc_loader_empty", "X = 1\n")
    loader = Loader(paths=[path]).register(root)
    async with open_app(root):
        assert (await root.call(load("tc_loader_nowhere"), "loader")).value is None
        assert loader.load("tc_loader_empty") is None


def test_load_from_another_thread_in_start_mode(tmp_path: Path) -> None:
    root = Manager()
    loader = Loader(paths=[plugin_dir(tmp_path, "tc_loader_three")]).register(root)
    root.start()
    try:
        assert threading.current_thread() is threading.main_thread()
        component = loader.load("tc_loader_three")
        assert component is not None
        value = root.fire(hello("thread"))
        for _ in range(500):
            if value.result:
                break
            threading.Event().wait(0.01)
        assert value.value == "Hello thread!"
    finally:
        root.stop()
        root.join(10)
