"""A fast file copied into a sink that does not read: bounded, and nothing lost.

``cat big | slow``: a File's reads write to another File (a pipe) whose reader is
away.  The writing cascade is held (``drain``) while the sink has more than its
``high_water`` queued, so the source reads no further; once the pipe is read again,
every byte arrives in order.  Real files and a real pipe.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import trio

from trio_circuits import Component, Event, Manager, handler, open_app
from trio_circuits.io import File, Process, close, write
from trio_circuits.testing import Watcher

MiB = 1 << 20


class Copier(Component):
    """Copies what the File on ``source`` reads into the File on ``sink``."""

    def init(self) -> None:
        self.read_bytes = 0

    @handler("read", channel="source")
    def _copy(self, data: bytes) -> None:
        self.read_bytes += len(data)
        self.fire(write(data), "sink")

    @handler("eof", channel="source")
    def _done(self) -> None:
        self.fire(close(), "sink")


def _drain(fd: int) -> bytes:
    parts = []
    while chunk := os.read(fd, 1 << 16):
        parts.append(chunk)
    return b"".join(parts)


async def test_a_file_copied_into_a_pipe_nobody_reads_stops_reading(tmp_path: Path) -> None:
    data = hashlib.sha256(b"file").digest() * (16 * MiB // 32)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    r, w = os.pipe()
    try:
        m = Manager()
        copier = Copier().register(m)
        File(str(path), "rb", bufsize=1 << 16, channel="source").register(m)
        sink = File(os.fdopen(w, "wb", buffering=0), "wb", channel="sink").register(m)
        w = -1  # the File owns it now
        async with open_app(m):
            await trio.sleep(1.0)  # nobody reads the pipe meanwhile
            # The pipe's buffer, the sink's high-water mark and a read or two: not 16 MiB.
            assert copier.read_bytes <= 2 * MiB, copier.read_bytes
            with trio.fail_after(30):
                got = await trio.to_thread.run_sync(_drain, r)
            assert got == data
            assert copier.read_bytes == len(data)
            assert sink.closed
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


_BLOCK_FILTER = """
import sys
out, inp = sys.stdout.buffer, sys.stdin.buffer
out.write(b"ready\\n"); out.flush()
while block := inp.read1(1 << 18):
    out.write(block); out.flush()  # blocks while its output is not read
"""


async def test_a_process_fed_from_its_own_output_does_not_deadlock() -> None:
    """Writes to a child's stdin in the cascade of its stdout are not held.

    The child reads its input only once its output is read; holding the stdout
    reader until stdin drained would make each wait for the other for ever.
    """
    payload = hashlib.sha256(b"child").digest() * (4 * MiB // 32)

    class Driver(Component):
        fed = False

        @handler("read", channel="*")
        def _feed(self, event: Event, data: bytes) -> None:
            if not self.fed and str(event.channels[0]).endswith(".stdout"):
                self.fed = True
                self.fire(write(payload), process._stdin)  # circuits kept _stdin
                self.fire(close(), process._stdin)

    m = Manager()
    Driver().register(m)
    process = Process([sys.executable, "-c", _BLOCK_FILTER]).register(m)
    w = Watcher(m)
    async with open_app(m):
        process.start()
        await w.wait("terminated", "process", timeout=30)
        assert process.stdout.getvalue() == b"ready\n" + payload
