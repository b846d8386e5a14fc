"""trio_circuits.io.notify.Notify on the real inotify API."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import trio

from trio_circuits import Component, Event, Manager, handler, open_app
from trio_circuits.io.notify import Notify
from trio_circuits.testing import Watcher

# SPEC: an event reaches the handlers within half a second of the change.
PROMPT = 0.5


async def expect(watcher: Watcher, name: str, pathname: Path) -> Event:
    """The next ``name`` event about ``pathname`` (others are skipped), within PROMPT."""
    with trio.fail_after(PROMPT):
        while True:
            event = await watcher.wait(name, "notify")
            if event.args[2] == str(pathname):
                return event


async def expect_nothing(watcher: Watcher, name: str, pathname: Path) -> None:
    with trio.move_on_after(PROMPT):
        await expect(watcher, name, pathname)
        pytest.fail(f"unexpected {name} for {pathname}")


async def test_file_lifecycle(tmp_path: Path) -> None:
    root = Manager()
    watcher = Watcher(root)
    notify = Notify().register(root)
    notify.add_path(str(tmp_path))
    async with open_app(root):
        target = tmp_path / "a.txt"
        target.write_text("hello")
        created = await expect(watcher, "created", target)
        assert created.args == ["a.txt", str(tmp_path), str(target), False]
        await expect(watcher, "modified", target)
        await expect(watcher, "closed", target)
        target.read_text()
        await expect(watcher, "opened", target)
        await expect(watcher, "accessed", target)
        target.rename(tmp_path / "b.txt")
        await expect(watcher, "moved", target)
        await expect(watcher, "moved", tmp_path / "b.txt")
        (tmp_path / "b.txt").unlink()
        await expect(watcher, "deleted", tmp_path / "b.txt")


async def test_remove_path_stops_events(tmp_path: Path) -> None:
    root = Manager()
    watcher = Watcher(root)
    notify = Notify().register(root)
    async with open_app(root):
        notify.add_path(str(tmp_path))
        (tmp_path / "one").write_text("1")
        await expect(watcher, "created", tmp_path / "one")
        notify.remove_path(str(tmp_path))
        (tmp_path / "two").write_text("2")
        await expect_nothing(watcher, "created", tmp_path / "two")


async def test_directories_are_flagged(tmp_path: Path) -> None:
    root = Manager()
    watcher = Watcher(root)
    notify = Notify().register(root)
    async with open_app(root):
        notify.add_path(str(tmp_path))
        (tmp_path / "sub").mkdir()
        event = await expect(watcher, "created", tmp_path / "sub")
        assert event.args[3] is True


async def test_recursive_watches_existing_subdirectories(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    root = Manager()
    watcher = Watcher(root)
    notify = Notify().register(root)
    async with open_app(root):
        notify.add_path(str(tmp_path), recursive=True)
        deep = tmp_path / "a" / "b" / "deep.txt"
        deep.write_text("x")
        event = await expect(watcher, "created", deep)
        assert event.args[:2] == ["deep.txt", str(tmp_path / "a" / "b")]
        notify.remove_path(str(tmp_path), recursive=True)
        (tmp_path / "a" / "b" / "later.txt").write_text("x")
        await expect_nothing(watcher, "created", tmp_path / "a" / "b" / "later.txt")


@pytest.mark.parametrize("auto_add", [True, False])
async def test_auto_add(tmp_path: Path, auto_add: bool) -> None:
    root = Manager()
    watcher = Watcher(root)
    notify = Notify().register(root)
    async with open_app(root):
        notify.add_path(str(tmp_path), recursive=True, auto_add=auto_add)
        (tmp_path / "new").mkdir()
        await expect(watcher, "created", tmp_path / "new")
        inner = tmp_path / "new" / "inner.txt"
        inner.write_text("x")
        if auto_add:
            await expect(watcher, "created", inner)
        else:
            await expect_nothing(watcher, "created", inner)


async def test_a_handler_creating_files_in_a_new_directory_sees_them(tmp_path: Path) -> None:
    class Populate(Component):
        channel = "notify"

        @handler("created")
        def _populate(self, name: str, path: str, pathname: str, is_dir: bool) -> None:
            if is_dir:
                Path(pathname, "inside.txt").write_text("x")

    root = Manager()
    watcher = Watcher(root)
    Populate().register(root)
    notify = Notify().register(root)
    async with open_app(root):
        notify.add_path(str(tmp_path))
        (tmp_path / "fresh").mkdir()
        await expect(watcher, "created", tmp_path / "fresh" / "inside.txt")


async def test_mask_selects_events(tmp_path: Path) -> None:
    from inotify_simple import flags

    root = Manager()
    watcher = Watcher(root)
    notify = Notify().register(root)
    async with open_app(root):
        notify.add_path(str(tmp_path), mask=flags.DELETE)
        victim = tmp_path / "v.txt"
        victim.write_text("x")
        victim.unlink()
        await expect(watcher, "deleted", victim)
        assert not [e for e in watcher.seen if e.name == "created"]


async def test_missing_path_raises(tmp_path: Path) -> None:
    notify = Notify()
    with pytest.raises(OSError):
        notify.add_path(str(tmp_path / "absent"))


async def test_paths_survive_a_restart(tmp_path: Path) -> None:
    root = Manager()
    watcher = Watcher(root)
    notify = Notify().register(root)
    notify.add_path(str(tmp_path))
    async with open_app(root):
        (tmp_path / "first").write_text("1")
        await expect(watcher, "created", tmp_path / "first")
    async with open_app(root):
        (tmp_path / "second").write_text("2")
        await expect(watcher, "created", tmp_path / "second")


def test_add_and_remove_from_another_thread(tmp_path: Path) -> None:
    class Seen(Component):
        channel = "notify"

        def init(self) -> None:
            self.names: list[str] = []
            self.arrived = threading.Event()

        def created(self, name: str, path: str, pathname: str, is_dir: bool) -> None:
            self.names.append(name)
            self.arrived.set()

    root = Seen()
    notify = Notify().register(root)
    root.start()
    try:
        notify.add_path(str(tmp_path))
        (tmp_path / "seen.txt").write_text("x")
        assert root.arrived.wait(PROMPT * 4)
        notify.remove_path(str(tmp_path))
        (tmp_path / "unseen.txt").write_text("x")
        threading.Event().wait(PROMPT)
        assert root.names == ["seen.txt"]
    finally:
        root.stop()
        root.join(10)
    assert os.path.exists(tmp_path / "unseen.txt")


def _queue_limit() -> int:
    return int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())


async def test_a_kernel_queue_overflow_is_reported(tmp_path: Path) -> None:
    limit = _queue_limit()

    class Stall(Component):
        """Blocks the application's thread (on purpose) while files are created."""

        channel = "notify"

        def init(self) -> None:
            self.stalled = False

        @handler("created")
        def _stall(self, name: str, path: str, pathname: str, is_dir: bool) -> None:
            if not self.stalled:
                self.stalled = True
                for i in range(limit // 3 + 100):  # create + open + close each
                    (tmp_path / f"f{i}").touch()

    root = Manager()
    watcher = Watcher(root)
    Stall().register(root)
    notify = Notify().register(root)
    async with open_app(root):
        notify.add_path(str(tmp_path))
        (tmp_path / "first").touch()
        with trio.fail_after(20):
            while True:
                event = await watcher.wait("error", "notify", timeout=20)
                if isinstance(event.args[0], OverflowError):
                    break
