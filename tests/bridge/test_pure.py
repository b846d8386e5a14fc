"""The bridge's pure parts, without Redis: the JSON codec and the ack ledger."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_circuits import Event
from trio_circuits.bridge import JSONCodec, RemoteError
from trio_circuits.bridge.calls import Call, error_answer, result_answer
from trio_circuits.bridge.ledger import Ledger


class greet(Event):
    """A registered event class."""

    def __init__(self, who: str, *, loud: bool = False) -> None:
        super().__init__(who, loud=loud)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.binary()
    | st.floats(allow_nan=False, allow_infinity=False),
    # ``{"__bytes__": ...}`` alone is the codec's reserved form for bytes.
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text().filter(lambda k: k != "__bytes__"), inner, max_size=4)
    ),
    max_leaves=20,
)


keys = st.text().filter(lambda k: k != "__bytes__")


@given(args=st.lists(json_values, max_size=4), kwargs=st.dictionaries(keys, json_values))
def test_json_round_trip(args: list[Any], kwargs: dict[str, Any]) -> None:
    codec = JSONCodec()
    event = Event.create("anything", *args, **kwargs)
    event.channels = ("remote",)
    back = codec.decode(codec.encode(event))
    assert back.name == "anything"
    assert back.args == args
    assert back.kwargs == kwargs
    assert back.channels == ("remote",)


def test_flags_travel_and_registered_classes_come_back() -> None:
    codec = JSONCodec(events=[greet])
    event = greet("you", loud=True)
    event.success = event.complete = True
    back = codec.decode(codec.encode(event))
    assert type(back) is greet
    assert back.args == ["you"]
    assert back.kwargs == {"loud": True}
    assert back.success
    assert back.complete
    assert not back.failure
    # Unregistered names are re-created by name.
    plain = JSONCodec().decode(codec.encode(event))
    assert type(plain) is not greet
    assert plain.name == "greet"


@pytest.mark.parametrize("arg", [object(), {1, 2}, float("nan"), {(1, 2): "tuple key"}])
def test_what_json_cannot_hold_fails_to_encode(arg: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        JSONCodec().encode(Event.create("x", arg))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff",
        b"[]",
        b'{"args": []}',
        b'{"name": "a b"}',
        b'{"name": "__import__(\'os\')"}',
        b'{"name": "x", "args": 1}',
        b'{"name": "x", "kwargs": []}',
        b'{"name": "x", "flags": ["explode"]}',
        b'{"name": "x", "args": [{"__bytes__": "not base64!"}]}',
        b'{"name": "x", "args": [{"__bytes__": null}]}',
        b'{"name": "x"} trailing',
        b'{"name": "x"}{"name": "y"}',
    ],
)
def test_malformed_payloads_are_value_errors(data: bytes) -> None:
    with pytest.raises(ValueError):
        JSONCodec().decode(data)


def test_whitespace_around_a_payload_is_fine() -> None:
    event = JSONCodec().decode(b' \n {"name": "x", "args": [1], "channels": ["a", "b"]} \r\n')
    assert event.name == "x"
    assert event.args == [1]
    assert event.channels == ("a", "b")


def test_an_argument_that_refers_to_itself_is_a_value_error() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="refers to itself"):
        JSONCodec().encode(Event.create("x", loop))


def test_the_ledger_fires_each_entry_once_until_acknowledged() -> None:
    ledger = Ledger(["s"])
    assert ledger.take("s", b"1-0")
    assert not ledger.take("s", b"1-0")  # a re-read while handling
    ledger.handled("s", b"1-0")
    assert ledger.has_due
    due = ledger.due()
    assert due == {"s": [b"1-0"]}
    assert ledger.due() == {}
    ledger.unsent(due)  # the connection failed
    assert not ledger.take("s", b"1-0")  # still ours
    due = ledger.due()
    assert ledger.confirmed(due) == 1
    assert ledger.in_flight == 0
    assert ledger.take("s", b"1-0")  # a re-delivery after confirmation is new work


def test_unsent_acks_keep_their_order() -> None:
    ledger = Ledger(["s"])
    for i in range(3):
        ledger.take("s", b"%d" % i)
        ledger.handled("s", b"%d" % i)
    first = ledger.due()
    ledger.take("s", b"9")
    ledger.handled("s", b"9")
    ledger.unsent(first)
    assert ledger.due() == {"s": [b"0", b"1", b"2", b"9"]}


def test_call_answers() -> None:
    ok = Call()
    ok.answer(result_answer([1, 2]))
    assert ok.done.is_set()
    assert ok.result == [1, 2]
    try:
        raise KeyError("k")
    except KeyError as exc:
        triple = (type(exc), exc, exc.__traceback__)
    failed = Call()
    failed.answer(error_answer(triple))
    assert isinstance(failed.error, RemoteError)
    assert failed.error.type_name == "KeyError"
    assert "raise KeyError" in failed.error.traceback
    odd = Call()
    odd.answer(error_answer("not a triple"))
    assert odd.error is not None
    assert odd.error.type_name == "Exception"
