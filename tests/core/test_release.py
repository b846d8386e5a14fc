"""An event and its Value are freed by reference counting once nobody can see them.

The pair refers to itself (``event.value`` / ``value.event``); the dispatcher cuts that
link only when nothing else holds either object.  These tests run with the cyclic
garbage collector switched off, so a pair that was not released stays alive, and
check that whatever the application keeps still sees the whole pair.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
import trio

from trio_circuits import Component, Event, Value, handler, open_app
from trio_circuits.core._release import Releaser

pytestmark = pytest.mark.skipif(
    not Releaser().enabled, reason="reference counts are only relied on under CPython"
)


class plain(Event):
    """Handled by a plain handler."""


class later(Event):
    """Handled by an async handler."""


class flagged(Event):
    """Asks for success and complete."""

    success = True
    complete = True


class App(Component):
    def plain(self, *args: Any) -> int:
        return len(args)

    async def later(self) -> str:
        await trio.lowlevel.checkpoint()
        return "later"

    def flagged(self) -> int:
        return 1

    def flagged_success(self, evt: Event, value: Any) -> None:
        pass

    def flagged_complete(self, evt: Event, value: Any) -> None:
        pass


@pytest.fixture
def no_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _settle() -> None:
    # Plenty of scheduling rounds for the dispatcher and the handler tasks.
    for _ in range(20):
        await trio.lowlevel.checkpoint()


@pytest.mark.parametrize("kind", [plain, later, flagged])
@pytest.mark.usefixtures("no_gc")
async def test_forgotten_event_is_freed_without_the_collector(kind: type[Event]) -> None:
    app = App()
    async with open_app(app):
        refs = []
        for _ in range(10):
            event = kind()
            app.fire(event)
            refs.append(weakref.ref(event))
            del event
        await _settle()
        assert [r() for r in refs] == [None] * 10


@pytest.mark.parametrize("kind", [plain, later, flagged])
@pytest.mark.usefixtures("no_gc")
async def test_a_kept_value_still_has_its_event(kind: type[Event]) -> None:
    app = App()
    async with open_app(app):
        kept: list[Value] = [app.fire(kind()) for _ in range(10)]
        await _settle()
        for value in kept:
            assert value.done
            assert value.event is not None
            assert value.event.value is value


@pytest.mark.parametrize("kind", [plain, later, flagged])
@pytest.mark.usefixtures("no_gc")
async def test_a_kept_event_still_has_its_value(kind: type[Event]) -> None:
    app = App()
    async with open_app(app):
        kept = [kind() for _ in range(10)]
        for event in kept:
            app.fire(event)
        await _settle()
        for event in kept:
            assert event.value is not None
            assert event.value.event is event
            assert event.value.done


@pytest.mark.usefixtures("no_gc")
async def test_an_event_kept_by_a_handler_keeps_its_value() -> None:
    stored: list[Event] = []

    class Keeper(Component):
        def plain(self, *args: Any) -> int:
            stored.extend(args)
            return 7

    app = Keeper()
    async with open_app(app):
        inner = plain()
        app.fire(plain(inner))
        app.fire(inner)
        await _settle()
        assert stored[0] is inner
        assert inner.value is not None
        assert inner.value.value == 7


@pytest.mark.usefixtures("no_gc")
async def test_a_kept_follow_up_keeps_its_parent_linked() -> None:
    successes: list[Event] = []

    class Keeper(App):
        def flagged_success(self, evt: Event, value: Any) -> None:
            successes.append(evt)

    app = Keeper()
    async with open_app(app):
        for _ in range(5):
            app.fire(flagged())
        await _settle()
        assert len(successes) == 5
        for parent in successes:
            assert parent.value is not None
            assert parent.value.event is parent
            assert parent.value.value == 1


@pytest.mark.usefixtures("no_gc")
async def test_arguments_a_handler_kept_survive_the_release() -> None:
    kept: list[list[Any]] = []

    class Keeper(Component):
        @handler("plain")
        def _keep(self, event: Event, *args: Any) -> None:
            kept.append(event.args)

    app = Keeper()
    async with open_app(app):
        event = plain(1, 2, 3)
        ref = weakref.ref(event)
        app.fire(event)
        del event
        await _settle()
        assert ref() is None
        assert kept == [[1, 2, 3]]


@pytest.mark.usefixtures("no_gc")
async def test_read_events_of_a_connection_are_freed_as_they_go() -> None:
    from trio_circuits.net.events import read
    from trio_circuits.net.sockets import TCPServer

    class Echo(TCPServer):
        @handler("read")
        def _echo(self, sock: Any, data: bytes) -> bytes:
            return data

    server = Echo(("127.0.0.1", 0))
    async with open_app(server):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        with trio.fail_after(10):
            for i in range(50):
                message = b"%02d" % i * 32
                await stream.send_all(message)
                got = b""
                while len(got) < len(message):
                    got += await stream.receive_some(100)
                assert got == message
        await _settle()
        alive = [o for o in gc.get_objects() if isinstance(o, read)]
        # At most the last one, if its Value is still in flight.
        assert len(alive) <= 1
        await stream.aclose()
