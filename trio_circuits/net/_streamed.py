"""A connection served by tasks of its own: a reader and a writer over its stream.

The driver of TLS connections (``trio.SSLStream``), of clients, and of plain sockets
where there is no epoll.  The writer is the only task that sends; the reader
fires each chunk through the connection's read gate and reads the next only once
that read's cascade has completed and the output is under its high-water mark.

The application's intake is asked first: on a plain socket the reader waits until
the socket is readable, then for a grant (a fair share while the intake is
contended), then reads at most that much -- a grant is never held while waiting for
the peer.  A TLS stream cannot be read in parts of our choosing (records), so its
chunk is read first and admitted with its size.  ``starttls``: the writer sends what
is queued in plaintext, then does the handshake; the reader waits for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from ._connection import LINGER, LINGER_BYTES, READ_SIZE, peer_sent_eof
from ._gate import Wakeup
from ._state import Phase

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["StreamDriver"]


class StreamDriver:
    """Serves one :class:`~._connection.Connection` with its own two tasks."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._reader_wakeup = Wakeup()
        self._writer_wakeup = Wakeup()
        self._life: trio.CancelScope | None = None
        self._reading: trio.CancelScope | None = None
        conn._driver = self

    # -- the Driver protocol ----------------------------------------------------------

    def output_queued(self, conn: Connection) -> None:
        """Wake the writer."""
        self._writer_wakeup.poke()

    def resume_input(self, conn: Connection) -> bool:
        """Wake the reader."""
        return self._reader_wakeup.poke()

    def close_requested(self, conn: Connection) -> None:
        """Bound the close by ``close_timeout``; wake both tasks."""
        life = self._life
        if life is not None:
            deadline = trio.current_time() + conn._settings.close_timeout
            life.deadline = min(life.deadline, deadline)
        self._writer_wakeup.poke()
        self._reader_wakeup.poke()

    def upgrade_requested(self, conn: Connection) -> None:
        """The handshake reads the socket: stop the reader's receive (no data lost)."""
        if self._reading is not None:
            self._reading.cancel()
        self._writer_wakeup.poke()

    def shutdown_requested(self, conn: Connection) -> None:
        """``send_eof``: the writer sends EOF once the output is flushed."""
        self._writer_wakeup.poke()

    def abort_requested(self, conn: Connection) -> None:
        """Close now: both tasks are cancelled, the stream closed, the output dropped."""
        if self._life is not None:
            self._life.cancel()

    # -- the tasks ----------------------------------------------------------------------

    async def serve(self) -> None:
        """Run the reader and the writer until the connection has closed.

        Cancellation: closes the stream at once (unsent data is lost).
        """
        conn = self.conn
        reader_done = trio.Event()
        try:
            with trio.CancelScope() as life:
                self._life = life
                if conn._state.phase is Phase.CLOSING:
                    self.close_requested(conn)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._reader, reader_done)
                    graceful = await self._writer()
                    if graceful and isinstance(conn.stream, trio.abc.HalfCloseableStream):
                        # Our EOF is sent: let the reader drop input until the peer's.
                        with trio.move_on_after(LINGER):
                            await reader_done.wait()
                    nursery.cancel_scope.cancel()
                if graceful and not isinstance(conn.stream, trio.abc.HalfCloseableStream):
                    with trio.move_on_after(LINGER):
                        await conn.stream.aclose()  # TLS: close_notify
        finally:
            self._life = None
            conn._finished()
            await trio.aclose_forcefully(conn.stream)

    async def _reader(self, done: trio.Event) -> None:
        conn = self.conn
        state = conn._state
        try:
            while state.phase is Phase.OPEN or state.phase is Phase.UPGRADING:
                if state.phase is Phase.UPGRADING or conn._gate.pending:
                    await self._reader_wakeup.wait()
                    continue
                if state.buffered > state.high_water:
                    if conn._fd is not None and peer_sent_eof(conn._fd):
                        await self._at_eof()
                        break
                    await self._reader_wakeup.wait()
                    continue
                data = None
                granted = 0
                with trio.CancelScope() as reading:
                    self._reading = reading
                    data, granted = await self._receive()
                self._reading = None
                if reading.cancelled_caught or data is None:
                    continue  # starttls (the handshake takes the socket), or idle
                if not data:
                    if granted:
                        conn._intake.settle(granted, 0)
                    await self._at_eof()
                    break
                if granted:
                    conn._fire_granted(bytes(data), granted)
                elif state.phase is Phase.OPEN and not conn._fire_read(bytes(data)):
                    await conn._fire_read_later(bytes(data))
            if state.phase is Phase.CLOSING and not state.eof:
                await self._discard()
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._failed(exc)
        finally:
            done.set()

    async def _receive(self) -> tuple[bytes | bytearray | None, int]:
        """The next chunk (``b""``: EOF) and the grant it was read under (0: none yet).

        ``None`` if idle too long (then closing).

        Cancellation: nothing is read and no grant is kept.
        """
        conn = self.conn
        timeout = conn._settings.idle_timeout
        with trio.move_on_after(timeout if timeout is not None else float("inf")):
            if conn._fd is None:
                return await conn.stream.receive_some(READ_SIZE), 0
            await trio.lowlevel.wait_readable(conn._fd)
            return await self._receive_granted()
        conn.close()  # nothing received for idle_timeout while ready to read
        return None, 0

    async def _receive_granted(self) -> tuple[bytes | bytearray, int]:
        """A readable plain socket: wait for the intake's grant, then read that much.

        Cancellation: the grant, if any, is given back.
        """
        intake = self.conn._intake
        granted = intake.grant_now() or await intake.grant()
        try:
            return await self.conn.stream.receive_some(granted), granted
        except BaseException:
            intake.settle(granted, 0)
            raise

    async def _at_eof(self) -> None:
        """The peer sent EOF: let the last cascade complete, then close (or, with
        ``half_close``, fire ``eof`` and leave the writer running)."""
        conn = self.conn
        conn._state.peer_eof()
        while conn._gate.pending and conn._state.phase is Phase.OPEN:
            await self._reader_wakeup.wait()
        conn._peer_done()

    async def _discard(self) -> None:
        """Closing: read and drop input until the peer's EOF (or enough of it)."""
        conn = self.conn
        if not isinstance(conn.stream, trio.SocketStream):
            return  # TLS: close_notify instead; a cancelled TLS read breaks the stream
        dropped = 0
        while dropped < LINGER_BYTES:
            data = await conn.stream.receive_some(READ_SIZE)
            if not data:
                return
            dropped += len(data)

    async def _writer(self) -> bool:
        """Send what is queued until the close; True if it ended gracefully."""
        conn = self.conn
        state = conn._state
        try:
            while True:
                if state.upgrade_due:
                    await self._do_upgrade()
                elif state.has_output:
                    chunk = state.next_chunk()
                    await self._send(chunk)
                    state.sent(len(chunk))
                    conn._output_progress()
                    if state.drained:
                        self._reader_wakeup.poke()
                elif state.flushed:
                    break
                elif state.shutdown_due:
                    await self._half_close()
                else:
                    conn._direct = conn._fd is not None
                    try:
                        await self._writer_wakeup.wait()
                    finally:
                        conn._direct = False
            stream = conn.stream
            if isinstance(stream, trio.abc.HalfCloseableStream) and not state.eof_sent:
                await stream.send_eof()
            return True
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._failed(exc)
            return False
        except trio.TooSlowError as exc:
            # send_timeout: a peer that does not read; what is queued is dropped.
            self._failed(exc)
            return False

    async def _send(self, chunk: bytes | memoryview) -> None:
        """Send ``chunk``; it must go within ``send_timeout``.

        Raises ``trio.TooSlowError`` naming the peer if it does not.
        """
        conn = self.conn
        timeout = conn._settings.send_timeout
        if timeout is None:
            await conn.stream.send_all(chunk)
            return
        with trio.move_on_after(timeout):
            await conn.stream.send_all(chunk)
            return
        raise trio.TooSlowError(
            f"{conn.peer!r} is not reading: {conn._state.buffered} bytes queued made no "
            f"progress for {timeout} s (send_timeout)"
        )

    async def _half_close(self) -> None:
        """``send_eof``: our EOF; the reader goes on until the peer's."""
        conn = self.conn
        stream = conn.stream
        if isinstance(stream, trio.abc.HalfCloseableStream):
            await stream.send_eof()
        conn._eof_sent()

    async def _do_upgrade(self) -> None:
        conn = self.conn
        upgrade, conn._upgrade = conn._upgrade, None
        assert upgrade is not None
        conn._fd = None  # from now on every byte goes through the TLS stream
        try:
            conn.use(await upgrade(conn.stream))
        except (OSError, trio.BrokenResourceError, trio.TooSlowError) as exc:
            # A failed handshake leaves the stream unusable.
            raise trio.BrokenResourceError("starttls failed") from exc
        conn._state.upgraded()
        self._reader_wakeup.poke()

    def _failed(self, exc: BaseException) -> None:
        if self.conn._failed(exc) and self._life is not None:
            self._life.cancel()
