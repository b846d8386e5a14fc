"""circuits' background mode: run an application in a thread of its own."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from .manager import Manager


def start_in_thread(
    root: Manager,
    created: Callable[[threading.Thread | None], None],
) -> None:
    """Run ``root`` under ``trio.run`` in a new thread; return once it has started.

    ``created(thread)`` is called before the thread starts and ``created(None)`` once
    it has ended.  An error raised before the application started is re-raised here.
    """
    if root.running:
        raise RuntimeError(f"{root!r} is already running")
    started = threading.Event()
    failure: list[BaseException] = []

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(root.run)
            started.set()

    def target() -> None:
        try:
            trio.run(main)
        except BaseException as exc:
            if started.is_set():
                raise
            failure.append(exc)
        finally:
            started.set()
            created(None)

    thread = threading.Thread(target=target, name=f"{type(root).__name__}-app", daemon=True)
    created(thread)
    thread.start()
    started.wait()
    if failure:
        raise failure[0]
