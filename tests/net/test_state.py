"""The pure parts of a connection, driven without sockets: its state and the intake."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trio_circuits.core.flow import Intake, weight
from trio_circuits.net._state import COALESCE, ConnectionState, Phase


def may_read(state: ConnectionState) -> bool:
    # A function, not the property inline: mypy would narrow the property's type
    # after the first assert about it.
    return state.may_read


def phase(state: ConnectionState) -> Phase:
    return state.phase


def upgrade_due(state: ConnectionState) -> bool:
    return state.upgrade_due


def test_writes_coalesce_and_drain() -> None:
    state = ConnectionState(high_water=100, low_water=50)
    for _ in range(3):
        state.queue(b"x" * 40)
    assert state.buffered == 120
    assert not may_read(state)  # over the high-water mark
    chunk = state.next_chunk()
    assert chunk == b"x" * 120
    state.sent(len(chunk))
    assert state.drained
    assert may_read(state)
    state.queue(b"a" * COALESCE)
    state.queue(b"b")
    assert state.next_chunk() == b"a" * COALESCE  # never joined past the limit
    assert state.next_chunk() == b"b"


def test_unsent_bytes_go_back_first() -> None:
    state = ConnectionState(100, 50)
    state.queue(b"abcdef")
    state.queue(b"gh")
    chunk = state.next_chunk()
    state.sent(2)
    state.unsend(chunk[2:])
    assert state.next_chunk() == b"cdefgh"


def test_starttls_holds_later_writes_until_upgraded() -> None:
    state = ConnectionState(100, 50)
    state.queue(b"plain")
    state.start_upgrade()
    assert phase(state) is Phase.UPGRADING
    assert not may_read(state)
    state.queue(b"secret")
    assert not upgrade_due(state)  # the plaintext goes first
    assert state.next_chunk() == b"plain"
    state.sent(5)
    assert upgrade_due(state)
    assert not state.has_output
    state.upgraded()
    assert phase(state) is Phase.OPEN
    assert state.next_chunk() == b"secret"
    with pytest.raises(RuntimeError):
        state.upgraded()


def test_a_close_while_upgrading_waits_for_the_upgrade() -> None:
    state = ConnectionState(100, 50)
    state.start_upgrade()
    state.queue(b"after")
    state.request_close()
    assert phase(state) is Phase.UPGRADING
    assert state.accepts_input
    state.upgraded()
    assert phase(state) is Phase.CLOSING
    assert not state.flushed
    assert state.next_chunk() == b"after"
    assert state.flushed


def test_closing_refuses_writes_and_reads_and_closed_drops_everything() -> None:
    state = ConnectionState(100, 50)
    state.queue(b"queued")
    state.request_close()
    state.request_close()
    assert not state.writable
    assert not state.accepts_input
    assert not may_read(state)
    with pytest.raises(ValueError, match="closing"):
        state.queue(b"late")
    with pytest.raises(RuntimeError):
        state.start_upgrade()
    state.finished()
    assert phase(state) is Phase.CLOSED
    assert state.buffered == 0
    assert not state.has_output


def test_eof_pauses_reading() -> None:
    state = ConnectionState(100, 50)
    state.peer_eof()
    assert not may_read(state)
    assert state.writable  # the answers still go out


def test_intake_bounds_inputs_in_flight() -> None:
    queued = [0]
    intake = Intake(1000, lambda: queued[0])
    assert weight(0) == 1
    assert weight(64) == 9
    # Nothing in flight: even a large input is admitted.
    assert intake.admit_now(65536)
    assert not intake.admit_now(8)  # 8193 + 2 > 1000
    intake.release(65536)
    assert intake.in_flight == 0
    for _ in range(100):
        assert intake.admit_now(64)  # 100 * 9 = 900
    assert not intake.admit_now(1000)
    queued[0] = 1001
    for _ in range(100):
        intake.release(64)
    assert not intake.admit_now(1)  # the queue itself is over the bound
    queued[0] = 0
    assert intake.admit_now(1)
    with pytest.raises(ValueError):
        Intake(0, lambda: 0)


async def test_waiting_inputs_are_admitted_in_order() -> None:
    queued = [5000]
    intake = Intake(20, lambda: queued[0])
    admitted: list[int] = []

    async def source(n: int) -> None:
        await intake.admit(64)
        admitted.append(n)

    async with trio.open_nursery() as nursery:
        for n in range(5):
            nursery.start_soon(source, n)
            await trio.testing.wait_all_tasks_blocked()
        assert intake.waiting == 5
        intake.poll()  # still over the bound
        assert intake.waiting == 5
        queued[0] = 0
        intake.poll()  # room for two inputs of weight 9: the two that asked first
        await trio.testing.wait_all_tasks_blocked()
        assert sorted(admitted) == [0, 1]
        assert intake.waiting == 3
        for _ in range(5):
            intake.release(64)  # each release admits the next in line
            await trio.testing.wait_all_tasks_blocked()
    assert admitted[2:] == [2, 3, 4]


async def test_a_cancelled_wait_takes_nothing() -> None:
    intake = Intake(10, lambda: 100)
    with trio.move_on_after(0.01):
        await intake.admit(1)
    assert intake.waiting == 0
    assert intake.in_flight == 0
