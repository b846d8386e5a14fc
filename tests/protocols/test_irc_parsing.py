"""The IRC codec without sockets: Message, parsemsg, prefixes, tags, colours, commands."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_circuits.protocols import IRC as ReexportedIRC
from trio_circuits.protocols import Line
from trio_circuits.protocols.irc import (
    AWAY,
    CTCP,
    CTCPREPLY,
    ERR_NICKNAMEINUSE,
    IRC,
    JOIN,
    KICK,
    MODE,
    NAMES,
    NICK,
    NOTICE,
    PART,
    PASS,
    PING,
    PONG,
    PRIVMSG,
    QUIT,
    RPL_WELCOME,
    TOPIC,
    USER,
    WHOIS,
    IRCColor,
    IRCError,
    Message,
    colorize,
    irc_color_to_ansi,
    joinprefix,
    parse_tags,
    parsemsg,
    parseprefix,
    replies,
    request,
    strip,
)
from trio_circuits.protocols.line import Line as LineFromModule


def test_protocols_reexports() -> None:
    assert ReexportedIRC is IRC
    assert Line is LineFromModule


def test_prefixes() -> None:
    assert joinprefix("nick", "user", "host") == "nick!user@host"
    assert joinprefix("nick", None, None) == "nick!@"
    assert parseprefix("nick!user@host") == ("nick", "user", "host")
    assert parseprefix("irc.example.org") == ("irc.example.org", None, None)
    assert parseprefix("nick@host") == ("nick", None, "host")
    assert parseprefix("") == (None, None, None)


def test_parsemsg() -> None:
    assert parsemsg(b":n!u@h PRIVMSG #c :hello there") == (
        ("n", "u", "h"),
        "PRIVMSG",
        ["#c", "hello there"],
    )
    assert parsemsg(b"PING :irc.example.org\r\n") == (
        (None, None, None),
        "PING",
        ["irc.example.org"],
    )
    assert parsemsg(b"@time=x :srv 001 me :Welcome") == (
        ("srv", None, None),
        "001",
        ["me", "Welcome"],
    )
    assert parsemsg(b"") == ((None, None, None), None, [])
    assert parsemsg(b"\xff\xfe NICK x")[1] is not None  # undecodable bytes are replaced


def test_strip() -> None:
    assert strip(":hello") == "hello"
    assert strip("\x02bold\x02 \x0304,01red\x03 \x1dit\x1d\x0f", color=True) == "bold red it"
    assert strip(":\x01ACTION waves\x01", color=True) == "ACTION waves"


@pytest.mark.parametrize(
    ("message", "wire"),
    [
        (Message("NICK", "me"), b"NICK me\r\n"),
        (Message("PRIVMSG", "#c", "hi there"), b"PRIVMSG #c :hi there\r\n"),
        (Message("PRIVMSG", "#c", ":)"), b"PRIVMSG #c ::)\r\n"),
        (Message("TOPIC", "#c", ""), b"TOPIC #c :\r\n"),
        (Message("QUIT"), b"QUIT\r\n"),
        (Message("PING", b"bytes"), b"PING bytes\r\n"),
        (Message("PRIVMSG", "#c", "x", prefix="n!u@h"), b":n!u@h PRIVMSG #c x\r\n"),
        (
            Message("PRIVMSG", "#c", "x", tags={"time": "2024-01-01", "+a/b": "1;2 3\\"}),
            b"@time=2024-01-01;+a/b=1\\:2\\s3\\\\ PRIVMSG #c x\r\n",
        ),
        (Message("TAGMSG", "#c", tags={"+typing": ""}), b"@+typing TAGMSG #c\r\n"),
    ],
)
def test_message_wire_format(message: Message, wire: bytes) -> None:
    assert bytes(message) == wire
    assert Message.parse(wire) == message


@pytest.mark.parametrize(
    ("event", "wire"),
    [
        (PASS("secret"), b"PASS secret\r\n"),
        (USER("u", "h", "s", "Real Name"), b"USER u h s :Real Name\r\n"),
        (NICK("me"), b"NICK me\r\n"),
        (PING("srv"), b"PING srv\r\n"),
        (PONG("srv"), b"PONG srv\r\n"),
        (QUIT(), b"QUIT\r\n"),
        (QUIT("Gone fishing"), b"QUIT :Gone fishing\r\n"),
        (JOIN("#a,#b", "key"), b"JOIN #a,#b key\r\n"),
        (PART("#a", "bye now"), b"PART #a :bye now\r\n"),
        (PRIVMSG("you", "hello"), b"PRIVMSG you hello\r\n"),
        (NOTICE("you", "hello you"), b"NOTICE you :hello you\r\n"),
        (CTCP("you", "version"), b"PRIVMSG you \x01VERSION\x01\r\n"),
        (
            CTCPREPLY("you", "VERSION", "trio_circuits"),
            b"NOTICE you :\x01VERSION trio_circuits\x01\r\n",
        ),
        (KICK("#c", "bad", "go away"), b"KICK #c bad :go away\r\n"),
        (TOPIC("#c", "New topic"), b"TOPIC #c :New topic\r\n"),
        (MODE("#c", "+o", "me"), b"MODE #c +o me\r\n"),
        (NAMES(), b"NAMES\r\n"),
        (WHOIS("someone"), b"WHOIS someone\r\n"),
        (AWAY("not here"), b"AWAY :not here\r\n"),
        (AWAY(), b"AWAY\r\n"),
    ],
)
def test_commands_are_request_events(event: request, wire: bytes) -> None:
    assert isinstance(event, request)
    assert bytes(event.args[0]) == wire


@pytest.mark.parametrize(
    "make",
    [
        lambda: PRIVMSG("#c", "hi\r\nQUIT :pwned"),
        lambda: PRIVMSG("#c\n", "hi"),
        lambda: KICK("#c d", "x"),
        lambda: JOIN("#c", "k\x00"),
        lambda: Message("PRIVMSG", "", "x"),
        lambda: Message("PRIV MSG", "x"),
        lambda: Message("PRIVMSG", "#c", "x", prefix="a b"),
        lambda: Message("PRIVMSG", "#c", "x", tags={"bad key": "v"}),
    ],
)
def test_injection_and_bad_arguments_are_rejected(make: object) -> None:
    with pytest.raises(IRCError):
        make()  # type: ignore[operator]


def test_mutated_arguments_are_checked_when_formatted() -> None:
    message = Message("PRIVMSG", "#c", "fine")
    message.args.append("late\r\nQUIT")
    with pytest.raises(IRCError, match="CR, LF or NUL"):
        bytes(message)


def test_over_long_lines_are_rejected() -> None:
    with pytest.raises(IRCError, match="512"):
        bytes(PRIVMSG("#c", "x" * 600).args[0])
    assert len(bytes(PRIVMSG("#c", "x" * (512 - len("PRIVMSG #c \r\n"))).args[0])) == 512
    with pytest.raises(IRCError, match="longer"):
        Message.parse(b"PRIVMSG #c :" + b"x" * 600)
    with pytest.raises(IRCError, match="tags"):
        Message.parse(b"@k=" + b"v" * 9000 + b" PING x")


@pytest.mark.parametrize(
    "line", [b"", b"   ", b":prefixonly", b"@tag=1", b"PING x\x00y", b"x-y z"]
)
def test_invalid_lines_raise_irc_error(line: bytes) -> None:
    with pytest.raises(IRCError):
        Message.parse(line)


def test_tags() -> None:
    assert parse_tags("a=1;b;c=x\\sy\\:z\\\\;d=\\q") == {
        "a": "1",
        "b": "",
        "c": "x y;z\\",
        "d": "q",
    }
    message = Message.parse("@id=42;+draft/reply=7 :n!u@h PRIVMSG #c :hi")
    assert message.tags == {"id": "42", "+draft/reply": "7"}
    assert message.prefix == "n!u@h"


def test_replies_carry_add_nick() -> None:
    welcome = RPL_WELCOME_reply = replies.RPL_WELCOME("Test")
    assert welcome.add_nick
    welcome.args.insert(0, "me")
    welcome.prefix = "srv"
    assert bytes(RPL_WELCOME_reply) == b":srv 001 me :Welcome to the Test IRC Network\r\n"
    assert bytes(replies.RPL_NAMEREPLY("#c", ["a", "b"])) == b"353 = #c :a b\r\n"
    assert RPL_WELCOME == 1
    assert ERR_NICKNAMEINUSE == 433


@pytest.mark.parametrize(
    ("text", "ansi"),
    [
        ("\x02b\x02", "\x1b[01mb\x1b[22m"),
        (
            "\x1di\x1d\x1fu\x1f\x1es\x1e\x16r\x16",
            "\x1b[03mi\x1b[23m\x1b[04mu\x1b[24m\x1b[09ms\x1b[29m\x1b[07mr\x1b[27m",
        ),
        ("\x0304red\x03 x", "\x1b[31mred\x1b[39;49m x"),
        ("\x0301,02on blue\x03", "\x1b[30;44mon blue\x1b[39;49m"),
        ("\x0305,15x\x03", "\x1b[36;47mx\x1b[39;49m"),
        ("\x0352x", "\x1b[38;5;196mx\x1b[m"),
        ("\x0399,99x", "\x1b[39;49mx\x1b[m"),
        ("\x04ff8000,000000x", "\x1b[38;2;255;128;0;48;2;0;0;0mx\x1b[m"),
        ("\x0304,x", "\x1b[31m,x\x1b[m"),
        ("\x02open", "\x1b[01mopen\x1b[m"),
        ("\x0f", "\x1b[m"),
        ("mono\x11space", "monospace"),
    ],
)
def test_irc_colors_to_ansi(text: str, ansi: str) -> None:
    assert irc_color_to_ansi(text) == ansi


def test_no_reset_when_asked() -> None:
    assert irc_color_to_ansi("\x02open", reset=False) == "\x1b[01mopen"


def test_colorize_round_trips_through_strip() -> None:
    text = colorize("alert", IRCColor.RED, IRCColor.BLACK)
    assert text == "\x0304,01alert\x03"
    assert strip(text, color=True) == "alert"
    assert irc_color_to_ansi(colorize("x", IRCColor.GREEN)) == "\x1b[32mx\x1b[39;49m"


# -- properties ---------------------------------------------------------------------------

_middle = st.text(
    alphabet=st.characters(blacklist_characters=" \r\n\x00", codec="utf-8"),
    min_size=1,
    max_size=20,
).filter(lambda s: not s.startswith(":"))
_trailing = st.text(
    alphabet=st.characters(blacklist_characters="\r\n\x00", codec="utf-8"),
    max_size=40,
)
_command = st.one_of(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10
    ),
    st.integers(min_value=0, max_value=999).map(lambda n: f"{n:03d}"),
)
_tag_key = st.from_regex(r"\A\+?([a-z0-9]{1,5}(\.[a-z0-9]{1,5})?/)?[A-Za-z0-9-]{1,8}\Z")
_tags = st.dictionaries(_tag_key, _trailing, max_size=3)
_prefix = st.one_of(st.none(), _middle)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    middles = draw(st.lists(_middle, max_size=5))
    last = draw(st.one_of(st.none(), _trailing))
    params = [*middles, *([] if last is None else [last])]
    return Message(draw(_command), *params, prefix=draw(_prefix), tags=draw(_tags))


@given(messages())
def test_format_parse_round_trip(message: Message) -> None:
    try:
        wire = bytes(message)
    except IRCError:
        return  # too long for one line: refusing it is the contract
    assert Message.parse(wire) == message
    assert bytes(Message.parse(wire)) == wire


@given(st.binary(max_size=600))
def test_any_line_parses_or_raises_irc_error(data: bytes) -> None:
    try:
        message = Message.parse(data)
    except IRCError:
        return
    assert isinstance(message, Message)
    parsemsg(data)  # the lenient parser never raises


@given(st.text(max_size=200))
def test_colour_conversion_never_raises(text: str) -> None:
    assert isinstance(irc_color_to_ansi(text), str)
    assert isinstance(strip(text, color=True), str)
