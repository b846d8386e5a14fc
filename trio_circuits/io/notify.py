"""``Notify``: file system events from Linux's inotify, as component events.

The kernel API is used through ``inotify_simple`` (a thin ctypes binding): the
inotify descriptor is waited for by Trio and read without blocking, so an event
reaches the handlers as soon as the dispatcher gets to it -- nothing is debounced or
coalesced.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Hashable
from typing import Any

import trio
from inotify_simple import INotify, flags

from ..core.components import BaseComponent
from ..core.events import Event
from . import events as ev

__all__ = ["EVENT_MAP", "MASK", "Notify"]

#: every inotify event (the default ``mask`` of :meth:`Notify.add_path`)
MASK = int(flags.ACCESS | flags.MODIFY | flags.ATTRIB | flags.CLOSE_WRITE)
MASK |= int(flags.CLOSE_NOWRITE | flags.OPEN | flags.MOVED_FROM | flags.MOVED_TO)
MASK |= int(flags.CREATE | flags.DELETE | flags.DELETE_SELF | flags.MOVE_SELF)

#: which event each inotify flag fires (one event per flag set)
EVENT_MAP: tuple[tuple[int, type[Event]], ...] = (
    (flags.MOVED_TO, ev.moved),
    (flags.MOVE_SELF, ev.moved),
    (flags.MOVED_FROM, ev.moved),
    (flags.CLOSE_WRITE, ev.closed),
    (flags.CLOSE_NOWRITE, ev.closed),
    (flags.OPEN, ev.opened),
    (flags.DELETE_SELF, ev.deleted),
    (flags.DELETE, ev.deleted),
    (flags.CREATE, ev.created),
    (flags.ACCESS, ev.accessed),
    (flags.MODIFY, ev.modified),
    (flags.ATTRIB, ev.modified),
    (flags.UNMOUNT, ev.unmounted),
)

_NEW_DIR = int(flags.CREATE | flags.MOVED_TO)


class _Watch:
    __slots__ = ("auto_add", "mask", "path")

    def __init__(self, path: str, mask: int, auto_add: bool) -> None:
        self.path = path
        self.mask = mask
        self.auto_add = auto_add


class Notify(BaseComponent):
    """Fire file system events for watched paths (Linux inotify).

    Args:
        channel: default ``"notify"``.

    Each event is fired on the channel with ``(name, path, pathname, is_dir)``: the
    name of the entry (``""`` for the watched path itself), the watched directory, the
    full path, and whether the entry is a directory.  Events: ``created``,
    ``deleted``, ``modified`` (content or metadata), ``moved``, ``accessed``,
    ``opened``, ``closed`` and ``unmounted``.

    :meth:`add_path` and :meth:`remove_path` may be called from any thread, before or
    while the application runs.  ``ready(notify)`` is fired once the component is
    reading events, ``error(OverflowError)`` if the kernel had to drop events.
    Stopping the application (or unregistering) closes the inotify descriptor; the
    paths added are watched again when it runs again.
    """

    channel: Hashable = "notify"

    def __init__(self, channel: Hashable = "notify") -> None:
        super().__init__(channel=channel)
        self._watch_lock = threading.Lock()
        self._inotify: INotify | None = None
        self._watches: dict[int, _Watch] = {}
        self._paths: dict[str, int] = {}
        # What the user asked for, to watch again after a restart.
        self._wanted: dict[str, tuple[int, bool, bool]] = {}

    # -- watches (any thread) --------------------------------------------------------

    def add_path(
        self, path: str, mask: int | None = None, recursive: bool = False, auto_add: bool = True
    ) -> None:
        """Watch ``path`` (a file or a directory) for the events in ``mask``.

        Args:
            path: what to watch; a directory's entries are reported.
            mask: inotify flags (default :data:`MASK`, every event).
            recursive: also watch every directory below ``path`` as it is now.
            auto_add: watch directories created (or moved) later in watched
                directories as well; with ``False`` they are reported but not watched.

        Raises ``OSError`` if the path cannot be watched (it does not exist, ...).
        """
        path = os.fspath(path)
        mask = MASK if mask is None else int(mask)
        with self._watch_lock:
            self._wanted[path] = (mask, recursive, auto_add)
            self._add_locked(path, mask, recursive, auto_add)

    def remove_path(self, path: str, recursive: bool = False) -> None:
        """Stop watching ``path`` (and, with ``recursive``, every watch below it).

        No event of a removed watch is fired after this returns.
        """
        path = os.fspath(path)
        prefix = path.rstrip(os.sep) + os.sep
        with self._watch_lock:
            self._wanted.pop(path, None)
            doomed = [p for p in self._paths if p == path or (recursive and p.startswith(prefix))]
            for p in doomed:
                self._wanted.pop(p, None)
                wd = self._paths.pop(p)
                self._watches.pop(wd, None)
                if self._inotify is not None:
                    try:
                        self._inotify.rm_watch(wd)
                    except OSError:  # already gone with its directory
                        pass

    def _add_locked(self, path: str, mask: int, recursive: bool, auto_add: bool) -> None:
        inotify = self._open_locked()
        self._watch_locked(inotify, path, mask, auto_add)
        if recursive and os.path.isdir(path):
            for top, dirs, _files in os.walk(path):
                for name in dirs:
                    self._watch_locked(inotify, os.path.join(top, name), mask, auto_add)

    def _watch_locked(self, inotify: INotify, path: str, mask: int, auto_add: bool) -> None:
        wd = inotify.add_watch(path, mask)
        self._watches[wd] = _Watch(path, mask, auto_add)
        self._paths[path] = wd

    def _open_locked(self) -> INotify:
        if self._inotify is None:
            self._inotify = INotify()
            self._watches.clear()
            self._paths.clear()
            for path, (mask, recursive, auto_add) in list(self._wanted.items()):
                try:
                    self._add_locked(path, mask, recursive, auto_add)
                except OSError:
                    self._wanted.pop(path, None)
        return self._inotify

    # -- the I/O task ----------------------------------------------------------------

    async def run_io(self, *, task_status: trio.TaskStatus[Any]) -> None:
        with self._watch_lock:
            inotify = self._open_locked()
        try:
            task_status.started(self.fire(ev.ready(self)))
            while True:
                await trio.lowlevel.wait_readable(inotify.fileno())
                for event in inotify.read(timeout=0):
                    self._dispatch(event.wd, event.mask, event.name)
        finally:
            with self._watch_lock:
                self._inotify = None
                self._watches.clear()
                self._paths.clear()
            trio.lowlevel.notify_closing(inotify.fileno())
            inotify.close()

    def _dispatch(self, wd: int, mask: int, name: str) -> None:
        if mask & flags.Q_OVERFLOW:
            # The kernel's queue filled up (fs.inotify.max_queued_events): say so.
            self.fire(ev.error(OverflowError("inotify queue overflow: events were lost")))
            return
        with self._watch_lock:
            watch = self._watches.get(wd)
            if watch is None:
                return  # removed: its last events are dropped
            if mask & flags.IGNORED:
                self._watches.pop(wd, None)
                if self._paths.get(watch.path) == wd:
                    del self._paths[watch.path]
                return
            is_dir = bool(mask & flags.ISDIR)
            pathname = os.path.join(watch.path, name) if name else watch.path
            if is_dir and name and mask & _NEW_DIR and watch.auto_add:
                # Watch it before its event is handled: a handler that reacts by
                # creating files there must see them reported.
                assert self._inotify is not None
                try:
                    self._watch_locked(self._inotify, pathname, watch.mask, True)
                except OSError:  # gone again already
                    pass
        for flag, event in EVENT_MAP:
            if mask & flag:
                self.fire(event(name, watch.path, pathname, is_dir))
