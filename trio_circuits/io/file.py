"""``File``: a file, a pipe or a standard stream as a component.

A File opens its file when the application runs (or when it is registered into a
running one), reads it in chunks that arrive as ``read(data)`` events, and writes what
``write`` events bring, in order.  The I/O is done by Trio streams or worker threads
(see :mod:`trio_circuits.io._handle`), never in the dispatcher.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Hashable
from typing import Any

import trio

from ..core.components import Component
from ..core.flow import cascade_root
from ..core.handlers import handler
from . import events as ev
from ._handle import Handle, StandardStream, open_handle
from ._outbox import Outbox
from ._pacer import ReadPacer

__all__ = ["BUFSIZE", "File"]

BUFSIZE = 4096


def _readable(mode: str) -> bool:
    return "r" in mode or "+" in mode


def _writable(mode: str) -> bool:
    return any(c in mode for c in "wax+")


class File(Component):
    """A file as a component: reads become ``read`` events, ``write`` events are written.

    Args:
        filename: a path, an open file object (text or binary), a Trio stream, or
            ``None`` to open nothing until an ``open(filename, mode)`` event.
        mode: as for :func:`open`; the data of ``read`` events is bytes in every mode.
        bufsize: the size of each read.
        encoding: how ``str`` passed to ``write`` is encoded (default: the
            interpreter's default encoding).
        channel: default ``"file"``.
        autoclose: at the end of the file, fire ``eof()`` and then close the file (as
            circuits does; files opened with ``a`` or ``+`` stay open but are read no
            further).  With ``autoclose=False`` the file stays open and is watched for
            more data, as ``tail -f`` does (polled every :attr:`poll_interval`
            seconds), firing ``eof()`` each time the reader catches up.

    Events handled on the channel: ``write(data)``, ``close()`` (after flushing),
    ``seek(offset, whence=0)`` and ``open(filename=None, mode=None, bufsize=None)``.
    Events fired: ``ready(file)``, ``opened(filename, mode)``, ``read(data)``,
    ``eof()``, ``error(exc)``, ``closed()`` and ``drain(file)``.

    Each ``read`` is fired once the cascade of the previous one has completed (its
    handlers, what they fired, and the writes they queued down to their Files' and
    connections' high-water marks: a ``write`` beyond :attr:`high_water` holds the
    writing cascade with a ``drain`` event until half of it is written), which keeps
    a fast file from flooding the queue or a slow sink.  If a read's own handlers
    are still running after :attr:`read_wait` seconds (an ``async`` handler waiting
    for the next read), reading goes on, with at most one such read outstanding.
    Stopping the application, or unregistering the file, flushes what is queued for
    writing (bounded by the application's close timeout) and closes it.  The
    standard streams (descriptors 0-2) are flushed but never closed.
    """

    channel: Hashable = "file"

    #: seconds between checks for new data at the end of a file (``autoclose=False``)
    poll_interval = 0.1
    #: seconds a read waits for the previous read's handlers before reading on
    read_wait = 0.5
    #: bytes queued for writing above which a cascade that writes more is held until
    #: half of it is written (``drain``)
    high_water = 65536

    def init(
        self,
        filename: Any = None,
        mode: str = "r",
        bufsize: int = BUFSIZE,
        encoding: str | None = None,
        channel: Hashable = "file",
        autoclose: bool = True,
    ) -> None:
        if isinstance(bufsize, bool) or not isinstance(bufsize, int) or bufsize < 1:
            raise ValueError(f"bufsize must be a positive int, not {bufsize!r}")
        self._filename: Any = filename
        self._mode = mode
        self._bufsize = bufsize
        self._encoding = (
            encoding or getattr(filename, "encoding", None) or (sys.getdefaultencoding())
        )
        self._autoclose = autoclose
        self._pending: Any = filename  # what run_io opens next (None: nothing)
        self._opening = False
        self._handle: Handle | None = None
        self._out = Outbox()
        self._coupled: tuple[File, ...] = ()
        self._pacer = ReadPacer()
        self._seeks: deque[tuple[int, int]] = deque()
        self._close_requested = False
        self._stopping = False
        self._kick: trio.Event | None = None
        self._io_lock: trio.Lock | None = None
        self._loop_thread: int | None = None

    # -- state -----------------------------------------------------------------------

    @property
    def filename(self) -> Any:
        """The file's name (a file object's ``name``; a pipe's descriptor number)."""
        return self._filename

    @property
    def mode(self) -> str:
        """The mode the file was opened with."""
        return self._mode

    @property
    def closed(self) -> bool:
        """True while no file is open."""
        return self._handle is None

    def _wake(self) -> None:
        if self._kick is not None:
            self._kick.set()

    async def _sleep_until_kicked(self) -> None:
        assert self._kick is not None
        await self._kick.wait()
        self._kick = trio.Event()

    def _foreign_thread(self) -> bool:
        return self._loop_thread is not None and self._loop_thread != threading.get_ident()

    # -- handlers --------------------------------------------------------------------

    def write(self, data: bytes | str) -> None:
        """Queue ``data`` to be written (in order; ``str`` is encoded)."""
        if not isinstance(data, bytes):
            data = str(data).encode(self._encoding)
        if self._handle is None and self._pending is None and not self._opening:
            self.fire(ev.error(ValueError("write to a File that is not open")))
            return
        if self._handle is not None and not _writable(self._mode):
            self.fire(ev.error(ValueError(f"File {self._filename!r} is not open for writing")))
            return
        self._out.put(data)
        self._wake()
        if self._out.size > self.high_water:
            root = cascade_root()
            if root is not None and not any(f._pacer.carries(root) for f in self._coupled):
                # Hold the cascade that is writing (a reader's: ``cat`` into a pipe
                # nobody reads) until the output drains: bounded, nothing dropped.
                self.fire(ev.drain(self))

    @handler(False)
    def couple(self, *sources: File) -> None:
        """Never hold the cascades of ``sources``' reads for what is written here.

        A process's stdin is coupled to its stdout and stderr: a child that reads its
        input only once its output has been read would otherwise wait for us while
        we wait for it.
        """
        self._coupled = sources

    @handler("drain")
    async def _on_drain(self, target: Any) -> None:
        if target is self:
            await self._out.wait_drained(self.high_water // 2)

    def close(self) -> None:
        """Close the file once the queued writes are flushed; ``closed()`` follows."""
        if self._handle is None and self._pending is None and not self._opening:
            return
        self._pending = None
        self._close_requested = True
        self._wake()

    def seek(self, offset: int, whence: int = 0) -> None:
        """Move the file's position (applied before the next read or write).

        May be called directly, also before the file is open (``File(...).seek(0, 2)``
        starts reading at the end).
        """
        if self._foreign_thread():
            self.fire(ev.seek(offset, whence))
            return
        self._seeks.append((offset, whence))
        self._wake()

    def open(
        self, filename: Any = None, mode: str | None = None, bufsize: int | None = None
    ) -> None:
        """(Re)open: close the current file (after flushing), then open ``filename``."""
        if mode is not None:
            self._mode = mode
        if bufsize is not None:
            self._bufsize = bufsize
        self._pending = filename if filename is not None else self._filename
        if self._handle is not None:
            self._close_requested = True
        self._wake()

    # -- the I/O task ----------------------------------------------------------------

    async def run_io(self, *, task_status: trio.TaskStatus[Any]) -> None:
        self._kick = trio.Event()
        self._io_lock = trio.Lock()
        self._loop_thread = threading.get_ident()
        self._stopping = False
        ready_value = self.fire(ev.ready(self))
        told = False
        try:
            while not self._stopping:
                target = self._pending
                if target is None:
                    if not told:
                        task_status.started(ready_value)
                        told = True
                    await self._sleep_until_kicked()
                    continue
                self._pending = None
                handle, value = await self._open(target)
                if not told:
                    task_status.started(value)
                    told = True
                if handle is not None:
                    await self._serve(handle)
        finally:
            self._kick = None
            self._loop_thread = None

    def stop_io(self) -> None:
        self._stopping = True
        self._pending = None
        self._close_requested = True
        self._wake()

    async def _open(self, target: Any) -> tuple[Handle | None, Any]:
        self._opening = True
        self._close_requested = False  # a close() from now on applies to this file
        try:
            handle, name, mode = await open_handle(target, self._mode, self._encoding)
        except (OSError, ValueError) as exc:
            self._out.drop()
            return None, self.fire(ev.error(exc))
        finally:
            self._opening = False
        self._filename = name if name is not None else target
        self._mode = mode
        self._handle = handle
        # Seeks asked for before the file was open apply before anyone hears it is.
        await self._apply_seeks(handle)
        return handle, self.fire(ev.opened(self._filename, self._mode))

    async def _serve(self, handle: Handle) -> None:
        """Read and write ``handle`` until it is closed; then fire ``closed()``."""
        try:
            async with trio.open_nursery() as nursery:
                if _readable(self._mode):
                    nursery.start_soon(self._read_loop, handle)
                await self._write_loop(handle)
                nursery.cancel_scope.cancel()
        finally:
            self._handle = None
            self._close_requested = False
            self._out.drop()
            with trio.move_on_after(1, shield=True):
                await handle.aclose()
            self.fire(ev.closed())

    async def _apply_seeks(self, handle: Handle) -> bool:
        while self._seeks:
            offset, whence = self._seeks.popleft()
            try:
                await handle.seek(offset, whence)
            except OSError as exc:
                self.fire(ev.error(exc))
                return False
        return True

    async def _write_loop(self, handle: Handle) -> None:
        assert self._io_lock is not None
        out = self._out
        while True:
            if out:
                chunk, size = out.take()
                try:
                    async with self._io_lock:
                        await self._apply_seeks(handle)
                        await handle.write(chunk)
                except OSError as exc:
                    self.fire(ev.error(exc))
                    return
                finally:
                    out.written(size, self.high_water // 2)
                continue
            if self._close_requested:
                return
            await self._sleep_until_kicked()

    async def _read_loop(self, handle: Handle) -> None:
        assert self._io_lock is not None
        mode = self._mode
        caught_up = False
        while True:
            try:
                async with self._io_lock:
                    await self._apply_seeks(handle)
                    data = await handle.read(self._bufsize)
            except OSError as exc:
                self.fire(ev.error(exc))
                self._close_requested = True
                self._wake()
                return
            if data:
                caught_up = False
                await self._pacer.fire(self.fire, ev.read(data), self.read_wait)
                continue
            if not caught_up:
                caught_up = True
                self.fire(ev.eof())
            if not self._autoclose:
                await trio.sleep(self.poll_interval)
                continue
            if "a" not in mode and "+" not in mode:
                self._close_requested = True
                self._wake()
            return


def _standard(name: str) -> File:
    return File(StandardStream(name), StandardStream(name).mode, channel=name)
