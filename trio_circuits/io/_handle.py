"""How a :class:`~trio_circuits.io.File` reaches its bytes, without blocking Trio.

Three kinds of handle, chosen by what the file is:

* a Trio stream (a process's pipes): its own ``receive_some`` / ``send_all``;
* a regular file, a terminal or a standard stream: ``os.read`` / ``os.write`` in a
  worker thread (a regular file never blocks for long; a terminal read that is
  cancelled is abandoned, and such descriptors are never closed by us, so an
  abandoned read can never land on a re-used descriptor);
* anything else with a descriptor we own (a FIFO, a socket, a character device):
  ``trio.lowlevel.FdStream`` on a duplicate of the descriptor.

A file-like object without a usable descriptor (a test's captured ``sys.stdout``)
is read and written through its methods in a worker thread.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import IO, Any

import trio

__all__ = ["Handle", "StandardStream", "open_handle"]


class StandardStream:
    """Stands for ``sys.stdin`` / ``sys.stdout`` / ``sys.stderr``, looked up when opened.

    Looking the stream up late means that a test framework's replacement stream (or a
    script's reassignment) is what gets used.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def stream(self) -> Any:
        return getattr(sys, self.name)

    @property
    def mode(self) -> str:
        return "r" if self.name == "stdin" else "w"

    def __repr__(self) -> str:
        return f"<{self.name}>"


class Handle:
    """Reads, writes, seeks and closes one open file (internal)."""

    seekable = False

    async def read(self, size: int) -> bytes:
        raise OSError("not open for reading")

    async def write(self, data: bytes) -> None:
        raise OSError("not open for writing")

    async def seek(self, offset: int, whence: int) -> int:
        raise OSError("the file is not seekable")

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


class StreamHandle(Handle):
    """A Trio stream: a receive side, a send side, or one full stream."""

    def __init__(
        self,
        receive: trio.abc.ReceiveStream | None = None,
        send: trio.abc.SendStream | None = None,
    ) -> None:
        self._receive = receive
        self._send = send

    async def read(self, size: int) -> bytes:
        if self._receive is None:
            return await super().read(size)
        try:
            return bytes(await self._receive.receive_some(size))
        except trio.BrokenResourceError as exc:
            raise OSError(str(exc)) from exc

    async def write(self, data: bytes) -> None:
        if self._send is None:
            await super().write(data)
            return
        try:
            await self._send.send_all(data)
        except trio.BrokenResourceError as exc:
            raise BrokenPipeError(str(exc)) from exc

    async def aclose(self) -> None:
        for stream in {id(s): s for s in (self._receive, self._send) if s is not None}.values():
            await trio.aclose_forcefully(stream)


class ThreadHandle(Handle):
    """A descriptor read and written with blocking calls in worker threads."""

    def __init__(self, fd: int, owner: IO[Any] | None, abandon: bool, seekable: bool) -> None:
        self._fd = fd
        self._owner = owner  # the file object to close, or None: never close the fd
        self._abandon = abandon
        self.seekable = seekable

    async def read(self, size: int) -> bytes:
        return await trio.to_thread.run_sync(
            os.read, self._fd, size, abandon_on_cancel=self._abandon
        )

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = await trio.to_thread.run_sync(os.write, self._fd, view)
            view = view[written:]

    async def seek(self, offset: int, whence: int) -> int:
        if not self.seekable:
            return await super().seek(offset, whence)
        return await trio.to_thread.run_sync(os.lseek, self._fd, offset, whence)

    async def aclose(self) -> None:
        owner, self._owner = self._owner, None
        if owner is not None:
            await trio.to_thread.run_sync(owner.close)
        else:
            await trio.lowlevel.checkpoint()


class ObjectHandle(Handle):
    """A file-like object without a descriptor, used through its own methods."""

    def __init__(self, obj: Any, encoding: str) -> None:
        self._obj = obj
        self._encoding = encoding

    async def read(self, size: int) -> bytes:
        data = await trio.to_thread.run_sync(self._obj.read, size, abandon_on_cancel=True)
        return data if isinstance(data, bytes) else str(data).encode(self._encoding)

    async def write(self, data: bytes) -> None:
        def put() -> None:
            target = getattr(self._obj, "buffer", None)
            if target is not None:
                target.write(data)
            else:
                try:
                    self._obj.write(data)
                except TypeError:
                    self._obj.write(data.decode(self._encoding, "replace"))
            self._obj.flush()

        await trio.to_thread.run_sync(put)


def binary_mode(mode: str) -> str:
    """``mode`` for :func:`open` in binary, unbuffered form (``"r+"`` -> ``"rb+"``)."""
    base = mode.replace("t", "").replace("b", "").replace("U", "")
    return base[0] + "b" + base[1:] if base else "rb"


def _fd_of(obj: Any) -> int | None:
    try:
        fd = obj.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    return fd if isinstance(fd, int) else None


async def open_handle(target: Any, mode: str, encoding: str) -> tuple[Handle, Any, str]:
    """Open ``target`` (a path, a file object, a Trio stream, or a standard stream).

    Returns ``(handle, name, mode)``: the name and mode as circuits reports them.
    Raises ``OSError`` (or ``ValueError`` for a bad mode) when it cannot be opened.
    """
    if isinstance(target, (trio.abc.ReceiveStream, trio.abc.SendStream)):
        receive = target if isinstance(target, trio.abc.ReceiveStream) else None
        send = target if isinstance(target, trio.abc.SendStream) else None
        return StreamHandle(receive, send), _fd_of(target), mode
    owned = True
    if isinstance(target, StandardStream):
        obj, owned, mode = target.stream, False, target.mode
    elif isinstance(target, (str, bytes, os.PathLike)):
        flags = binary_mode(mode)
        # Closed by the handle (unbuffered: the handle does its own writes).
        obj = await trio.to_thread.run_sync(lambda: open(target, flags, buffering=0))  # noqa: SIM115
    else:
        obj = target
        mode = getattr(obj, "mode", mode)
    name = getattr(obj, "name", target)
    fd = _fd_of(obj)
    if fd is None:
        return ObjectHandle(obj, encoding), name, mode
    if fd <= 2:
        owned = False
    info = os.fstat(fd)
    regular = stat.S_ISREG(info.st_mode) or stat.S_ISBLK(info.st_mode)
    if regular or not owned or os.isatty(fd):
        handle = ThreadHandle(fd, obj if owned else None, abandon=not regular, seekable=regular)
        return handle, name, mode
    # A pipe, FIFO or socket of our own: Trio waits for it without a thread.
    stream = trio.lowlevel.FdStream(os.dup(fd))
    await trio.to_thread.run_sync(obj.close)
    return StreamHandle(stream, stream), name, mode
