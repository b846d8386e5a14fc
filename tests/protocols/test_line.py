"""The Line protocol: the pure splitter (with property tests) and the component."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from trio_circuits import Component, Manager, open_app
from trio_circuits.net.events import read, write
from trio_circuits.net.sockets import Connection, TCPServer
from trio_circuits.protocols.line import Line, LineBuffer, split_lines
from trio_circuits.testing import Watcher


def test_split_lines() -> None:
    assert split_lines(b"a\nb\r\nc") == ([b"a", b"b"], b"c")
    assert split_lines(b"\n\n") == ([b"", b""], b"")
    assert split_lines(b"x\ry") == ([], b"x\ry")
    assert split_lines(b"\nz", b"tail") == ([b"tail"], b"z")


def test_line_buffer_limits() -> None:
    buf = LineBuffer(max_line_length=4)
    assert buf.feed(b"abcd\nab") == [b"abcd"]
    with pytest.raises(ValueError):
        buf.feed(b"cde")
    assert buf.rest == b""
    with pytest.raises(ValueError):
        LineBuffer(0)
    with pytest.raises(TypeError):
        LineBuffer(10, splitter="no")  # type: ignore[arg-type]


lines_st = st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=20)


@given(lines=lines_st, cuts=st.lists(st.integers(min_value=0, max_value=1000), max_size=10))
def test_any_chunking_gives_the_same_lines(lines: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(x + b"\n" for x in lines)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    buf = LineBuffer()
    got: list[bytes] = []
    for chunk in chunks:
        got += buf.feed(chunk)
    # A trailing \r before \n is a terminator too.
    expected = [x[:-1] if x.endswith(b"\r") else x for x in lines]
    assert got == expected
    assert buf.rest == b""
    assert all(b"\n" not in x for x in got)


@given(size=st.integers(min_value=11, max_value=200))
def test_over_long_lines_are_rejected(size: int) -> None:
    buf = LineBuffer(max_line_length=10)
    with pytest.raises(ValueError):
        buf.feed(b"x" * size)


class Collector(Component):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[Any, ...]] = []

    def line(self, *args: Any) -> None:
        self.lines.append(args)


async def test_client_and_server_modes_without_sockets() -> None:
    m = Manager()
    Line().register(m)
    got = Collector().register(m)
    async with open_app(m):
        m.fire(read(b"one\ntw"))
        m.fire(read(b"o\n"))
        m.fire(read("sockA", b"a1\na"))
        m.fire(read("sockB", b"b1\n"))
        m.fire(read("sockA", b"2\n"))
        await m.wait("line", timeout=5)
        with trio.fail_after(5):
            while len(got.lines) < 5:  # noqa: ASYNC110 (bounded poll)
                await trio.sleep(0.01)
    assert got.lines == [
        (b"one",),
        (b"two",),
        ("sockA", b"a1"),
        ("sockB", b"b1"),
        ("sockA", b"a2"),
    ]


async def test_end_to_end_over_tcp_with_a_too_long_line() -> None:
    class LineEcho(Component):
        channel = "server"

        def line(self, sock: Connection, data: bytes) -> None:
            self.fire(write(sock, b"<" + data + b">\n"))

    m = Manager()
    server = TCPServer(("127.0.0.1", 0)).register(m)
    Line(channel="server", max_line_length=100).register(m)
    LineEcho().register(m)
    w = Watcher(m)
    async with open_app(m):
        good = await trio.open_tcp_stream("127.0.0.1", server.port)
        bad = await trio.open_tcp_stream("127.0.0.1", server.port)
        await good.send_all(b"hello\r\nwor")
        await good.send_all(b"ld\n")
        await bad.send_all(b"x" * 500)
        ev = await w.wait("error", "server")
        assert isinstance(ev.args[1], ValueError)
        with trio.fail_after(5):
            assert await bad.receive_some(100) == b""  # closed
            got = b""
            while got.count(b"\n") < 2:
                got += await good.receive_some(100)
        assert got == b"<hello>\n<world>\n"
        await good.send_all(b"still\n")
        with trio.fail_after(5):
            assert await good.receive_some(100) == b"<still>\n"
        await good.aclose()
        await bad.aclose()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Line(max_line_length=0)
    with pytest.raises(ValueError):
        Line(getBuffer=lambda s: b"")


def test_splitting_is_linear_however_the_bytes_are_cut() -> None:
    import time

    size = 65_000
    line = b"z" * size + b"\n"

    def feed(step: int) -> float:
        buf = LineBuffer(max_line_length=size)
        start = time.perf_counter()
        got: list[bytes] = []
        for i in range(0, len(line), step):
            got += buf.feed(line[i : i + step])
        elapsed = time.perf_counter() - start
        assert got == [line[:-1]]
        return elapsed

    whole = feed(len(line))
    byte_by_byte = feed(1)
    # One call per byte costs a constant per call; re-scanning the pending line on
    # every call would cost ~size/2 times more (about two billion byte copies here).
    assert byte_by_byte < 0.5, byte_by_byte
    assert whole < 0.01, whole


@given(
    data=st.binary(max_size=300).map(lambda b: b.replace(b"x", b"\n")),
    cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=12),
)
def test_any_cut_of_any_bytes_gives_the_lines_of_the_whole(data: bytes, cuts: list[int]) -> None:
    whole = LineBuffer()
    expected = whole.feed(data)
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    buf = LineBuffer()
    got: list[bytes] = []
    for chunk in chunks:
        got += buf.feed(chunk)
    assert got == expected
    assert buf.rest == whole.rest
    assert (expected, whole.rest) == split_lines(data)
