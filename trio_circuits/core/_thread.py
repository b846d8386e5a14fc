"""circuits' background mode: run an application in a thread of its own."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import trio

if TYPE_CHECKING:
    from typing_extensions import Self

    from .manager import Manager

T = TypeVar("T")


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


class BackgroundMode:
    """circuits' background mode, a base class of :class:`~trio_circuits.Manager`."""

    #: The application's thread while :meth:`start` runs it (circuits' attribute
    #: name, which its tests watch become ``None`` again).
    _Manager__thread: threading.Thread | None = None

    def start(self) -> Self:
        """Run the application in a new thread (circuits' background mode).

        Returns once it has started, as ``nursery.start`` would.  Then ``fire`` and
        ``stop`` work from the calling thread; :meth:`join` waits for the thread to
        end.
        """
        start_in_thread(cast("Manager", self), self._set_thread)
        return self

    def _set_thread(self, thread: threading.Thread | None) -> None:
        self._Manager__thread = thread

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread started by :meth:`start` to end."""
        thread = self._Manager__thread
        if thread is not None:
            thread.join(timeout)

    def call_in_app(self: Any, fn: Callable[..., T], *args: Any) -> T:
        """Call ``fn(*args)`` in the application's thread; return its result.

        For code in other threads (``start()`` mode): it blocks until ``fn`` has run
        in the application's thread.  Called from that thread, or while the
        application is not running, ``fn`` runs at once.
        """
        result: T = self._node.tree.queue.run_in_loop(fn, *args)
        return result
