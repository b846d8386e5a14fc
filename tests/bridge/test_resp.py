"""The lean client's protocol state, commands, replies and URLs: pure, no sockets."""

from __future__ import annotations

import ssl
from typing import Any, cast

import hiredis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_circuits.bridge.resp import (
    ConnectionLost,
    Conversation,
    ProtocolError,
    RedisURL,
    ReplyError,
    State,
    entries,
    pack,
    read_reply,
    xack,
    xadd,
    xautoclaim,
    xgroup_create,
    xreadgroup,
)


def state(conversation: Conversation) -> State:
    return conversation.state


def test_a_request_and_its_replies() -> None:
    conversation = Conversation()
    assert state(conversation) is State.IDLE
    packed, count = pack([["PING"], ["ECHO", b"hi"]])
    data = conversation.request(packed, count, "first")
    assert data == b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n"
    assert state(conversation) is State.WAITING
    assert conversation.outstanding == 1
    assert conversation.receive(b"+PONG\r\n$2\r\nh") == []  # one and a half replies
    assert conversation.receive(b"i\r\n") == [("first", [b"PONG", b"hi"])]
    assert state(conversation) is State.IDLE
    # The next request starts afresh.
    conversation.request(*pack([["PING"]]))
    assert conversation.receive(b"+PONG\r\n") == [(None, [b"PONG"])]


def test_pipelined_requests_get_their_own_replies_in_order() -> None:
    conversation = Conversation()
    conversation.request(*pack([["SET", "a", "1"], ["SET", "b", "2"]]), "one")
    conversation.request(*pack([["GET", "a"]]), "two")
    conversation.request(*pack([["GET", "b"]]), "three")
    assert conversation.outstanding == 3
    # The first request's replies and half of the second's...
    assert conversation.receive(b"+OK\r\n+OK\r\n$1\r") == [("one", [b"OK", b"OK"])]
    # ...then the rest of the second and all of the third in one chunk.
    assert conversation.receive(b"\n1\r\n$1\r\n2\r\n") == [("two", [b"1"]), ("three", [b"2"])]
    assert state(conversation) is State.IDLE


def test_error_replies_are_values_not_raised() -> None:
    conversation = Conversation()
    conversation.request(*pack([["SET", "k", "v"], ["NOPE"], ["GET", "k"]]))
    ((_, replies),) = conversation.receive(b"+OK\r\n-ERR unknown command 'NOPE'\r\n$1\r\nv\r\n")
    assert replies[0] == b"OK"
    assert isinstance(replies[1], ReplyError)
    assert str(replies[1]) == "ERR unknown command 'NOPE'"
    assert replies[2] == b"v"
    assert state(conversation) is State.IDLE


def test_a_request_has_commands() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Conversation().request(b"", 0)


def test_an_abandoned_request_breaks_the_conversation_for_good() -> None:
    # A cancelled command: its reply must never be read as the next command's.
    conversation = Conversation()
    conversation.request(*pack([["BLPOP", "queue", 0]]))
    conversation.abandon()
    assert state(conversation) is State.BROKEN
    with pytest.raises(ConnectionLost, match="reconnect"):
        conversation.request(*pack([["GET", "k"]]))
    with pytest.raises(ConnectionLost, match="reconnect"):
        conversation.receive(b"*-1\r\n")  # the BLPOP's late reply is never taken


def test_the_peer_closing_mid_request_is_connection_lost() -> None:
    conversation = Conversation()
    conversation.request(*pack([["PING"]]))
    assert conversation.receive(b"+PO") == []
    with pytest.raises(ConnectionLost, match="closed"):
        conversation.receive(b"")
    assert state(conversation) is State.BROKEN


def test_bytes_nobody_asked_for_are_a_protocol_error() -> None:
    conversation = Conversation()
    with pytest.raises(ProtocolError, match="nobody asked"):
        conversation.receive(b"+OK\r\n")
    assert state(conversation) is State.BROKEN
    conversation = Conversation()
    conversation.request(*pack([["PING"]]))
    with pytest.raises(ProtocolError, match="nobody asked"):
        conversation.receive(b"+PONG\r\n+PONG\r\n")
    assert state(conversation) is State.BROKEN


def test_garbage_is_a_protocol_error() -> None:
    conversation = Conversation()
    conversation.request(*pack([["PING"]]))
    with pytest.raises(ProtocolError):
        conversation.receive(b"?what\r\n")
    assert state(conversation) is State.BROKEN


replies = st.recursive(
    st.binary(max_size=40) | st.integers(-(2**63), 2**63 - 1) | st.none(),
    lambda inner: st.lists(inner, max_size=5),
    max_leaves=12,
)


def _resp(value: Any) -> bytes:
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, bytes):
        return b"$%d\r\n%s\r\n" % (len(value), value)
    return b"*%d\r\n" % len(value) + b"".join(_resp(v) for v in value)


@given(values=st.lists(replies, min_size=1, max_size=6), data=st.data())
def test_replies_cut_anywhere_come_back_whole(values: list[Any], data: st.DataObject) -> None:
    wire = b"".join(_resp(v) for v in values)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    chunks = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True)]
    chunks = [chunk for chunk in chunks if chunk]
    conversation = Conversation()
    for i in range(len(values)):  # one request per reply, pipelined
        conversation.request(*pack([["PING"]]), i)
    got: list[tuple[Any, list[Any]]] = []
    for chunk in chunks:
        got += conversation.receive(chunk)
    assert got == [(i, [value]) for i, value in enumerate(values)]
    assert state(conversation) is State.IDLE


# -- commands --------------------------------------------------------------------


def test_stream_commands() -> None:
    fields = {b"n": b"node", b"e": b"{}"}
    assert xadd("k", fields) == ["XADD", "k", "*", b"n", b"node", b"e", b"{}"]
    assert xadd("k", fields, maxlen=100)[:6] == ["XADD", "k", "MAXLEN", "~", 100, "*"]
    assert xack("k", "g", [b"1-0", b"2-0"]) == ["XACK", "k", "g", b"1-0", b"2-0"]
    assert xgroup_create("k", "g", "$") == ["XGROUP", "CREATE", "k", "g", "$", "MKSTREAM"]
    assert xreadgroup("k", "g", "c", b">", 10, 2000) == [
        *("XREADGROUP", "GROUP", "g", "c", "COUNT", 10, "BLOCK", 2000, "STREAMS", "k", b">")
    ]
    assert "BLOCK" not in xreadgroup("k", "g", "c", b"0", 10, None)
    assert xautoclaim("k", "g", "c", 500, b"0-0", 10) == [
        *("XAUTOCLAIM", "k", "g", "c", 500, b"0-0", "COUNT", 10)
    ]
    packed, count = pack([xack("k", "g", [b"1-0"]), ["PING"]])
    assert count == 2
    assert (
        packed
        == hiredis.pack_command(cast(Any, ("XACK", "k", "g", b"1-0"))) + b"*1\r\n$4\r\nPING\r\n"
    )


def test_stream_replies() -> None:
    raw = [[b"1-0", [b"a", b"1", b"b", b"2"]], [b"2-0", None], None]
    assert entries(raw) == [(b"1-0", {b"a": b"1", b"b": b"2"}), (b"2-0", None)]
    assert entries(None) == []
    assert read_reply(None) == []  # a BLOCK that timed out
    assert read_reply([[b"k", [[b"3-0", [b"x", b"y"]]]]]) == [(b"3-0", {b"x": b"y"})]


# -- URLs ------------------------------------------------------------------------


def test_urls() -> None:
    url = RedisURL.parse("redis://127.0.0.1:6390/3")
    assert (url.host, url.port, url.db, url.tls, url.path) == ("127.0.0.1", 6390, 3, False, None)
    assert url.handshake() == [["SELECT", 3]]
    assert url.where == "127.0.0.1:6390"
    plain = RedisURL.parse("redis://localhost")
    assert (plain.port, plain.db, plain.password) == (6379, 0, None)
    assert plain.handshake() == []
    secret = RedisURL.parse("rediss://:p%40ss%3Aword@h:1/0")
    assert secret.tls
    assert secret.password == "p@ss:word"
    assert secret.handshake() == [["AUTH", "p@ss:word"]]
    acl = RedisURL.parse("redis://alice:wonder@h/1")
    assert acl.handshake() == [["AUTH", "alice", "wonder"], ["SELECT", 1]]
    unix = RedisURL.parse("unix:///tmp/redis.sock?db=2&password=pw")
    assert (unix.path, unix.db, unix.password) == ("/tmp/redis.sock", 2, "pw")
    assert unix.where == "/tmp/redis.sock"


@pytest.mark.parametrize(
    "url",
    ["http://h", "redis://h/zero", "redis://h:99999/0", "unix://", "redis://h?db=x"],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(ValueError, match=r"URL|database|port|path"):
        RedisURL.parse(url)


def test_tls_parameters() -> None:
    default = RedisURL.parse("rediss://h").ssl_context()
    assert default.verify_mode is ssl.CERT_REQUIRED
    assert default.check_hostname
    lax = RedisURL.parse("rediss://h?ssl_cert_reqs=none").ssl_context()
    assert lax.verify_mode is ssl.CERT_NONE
    assert not lax.check_hostname
    unchecked = RedisURL.parse("rediss://h?ssl_check_hostname=false").ssl_context()
    assert unchecked.verify_mode is ssl.CERT_REQUIRED
    assert not unchecked.check_hostname
    with pytest.raises(ValueError, match="ssl_cert_reqs"):
        RedisURL.parse("rediss://h?ssl_cert_reqs=maybe").ssl_context()
    with pytest.raises(OSError):
        RedisURL.parse("rediss://h?ssl_ca_certs=/no/such/file.pem").ssl_context()
