"""Remote calls over the bridge: the ``remote`` event, ``RemoteError``, and the calls
a node waits for and serves."""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from ..core.events import Event

if TYPE_CHECKING:
    from ..core.values import Value
    from .codec import Codec
    from .config import Config

__all__ = ["Call", "RemoteCalls", "RemoteError", "error_answer", "remote", "result_answer"]

#: An entry's fields, as Redis stores them.
Fields = dict[bytes, bytes]


class RemoteError(Exception):
    """A handler raised in the node that served a :class:`remote` call.

    The remote exception itself is never rebuilt (its class may not exist here).

    Args:
        type_name: the name of the remote exception's type.
        message: the remote exception as text.
        traceback: the text of the remote traceback.

    Attributes:
        type_name: as given.
        message: as given.
        traceback: as given.
    """

    def __init__(self, type_name: str, message: str, traceback: str = "") -> None:
        super().__init__(type_name, message, traceback)
        self.type_name = type_name
        self.message = message
        self.traceback = traceback

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}"


class remote(Event):
    """Fire ``event`` on ``channel`` in the node called ``node``; the value is its result.

    ``await self.call(remote(hello(1), "worker-1"), timeout=5)`` returns a Value
    holding what the remote handlers returned; a remote handler error raises
    :class:`RemoteError`.  Cancelling the call (or its ``timeout``) abandons it: a
    reply that comes later is ignored.  The bridge's ``call_timeout`` bounds every
    call, a caller waiting without a ``timeout`` included.

    Args:
        event: the event fired on the remote node.
        node: the remote node's name (its bridge's ``node``).
        channel: the channel it is fired on there (need not be bridged).
    """

    def __init__(self, event: Event, node: str, channel: str = "remote") -> None:
        super().__init__(event, node, channel)


class Call:
    """A remote call this node is waiting for.

    Attributes:
        done: set once the call is settled.
        result: the remote handlers' value (once settled without error).
        error: the :class:`RemoteError` the call raises, if any.
    """

    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.result: Any = None
        self.error: RemoteError | None = None

    def answer(self, event: Event) -> None:
        """Settle the call with a reply event (``remote_result`` or ``remote_error``)."""
        if event.name == "remote_error":
            self.error = RemoteError(*(str(a) for a in event.args[:3]))
        else:
            self.result = event.args[0] if event.args else None
        self.done.set()


def result_answer(result: Any) -> Event:
    """The reply to a remote call whose handlers succeeded."""
    return Event.create("remote_result", result)


def error_answer(error: Any) -> Event:
    """The reply to a remote call whose handler raised (``error`` is the stored triple)."""
    if isinstance(error, tuple) and len(error) == 3 and isinstance(error[1], BaseException):
        etype, exc, tb = error
        text = "".join(traceback.format_exception(etype, exc, tb))
        return Event.create("remote_error", etype.__name__, str(exc), text)
    return Event.create("remote_error", "Exception", repr(error), "")


class RemoteCalls:
    """The remote calls of one node: those it waits for, and its replies to others'.

    Args:
        config: the bridge's configuration (node name, key names).
        codec: encodes requests and replies.
        send: writes one entry to Redis now (or queues it), the outbox's ``send``
            (raises ``BufferError`` when the buffer is full).
        post: the same, never refused, the outbox's ``post``.
    """

    def __init__(
        self,
        config: Config,
        codec: Codec,
        send: Callable[[str, Fields], None],
        post: Callable[[str, Fields], None],
    ) -> None:
        self._config = config
        self._codec = codec
        self._send = send
        self._post = post
        self._waiting: dict[bytes, Call] = {}
        # Call ids: unique per process (a random prefix) and cheap (a counter).
        self._prefix = uuid.uuid4().hex[:12]
        self._count = 0

    @property
    def waiting(self) -> int:
        """How many calls wait for their reply."""
        return len(self._waiting)

    async def call(self, target: Event, node: str, channel: str) -> Any:
        """Fire ``target`` on ``channel`` in ``node`` and return its value.

        Raises:
            RemoteError: a handler raised there.
            trio.TooSlowError: no answer within the bridge's ``call_timeout``.
            TypeError: the codec cannot encode ``target`` (nothing is sent).
            BufferError: too many entries already wait for Redis.

        Cancellation: the call is abandoned; its reply, if one comes, is ignored.
        So it is after ``call_timeout``: the call waits no longer than that, even
        if its caller does (the caller's own ``timeout`` does not reach this handler).
        """
        self._count += 1
        call_id = f"{self._prefix}{self._count}".encode()
        config = self._config
        fields = {
            b"n": config.node_id,
            b"k": b"call",
            b"id": call_id,
            b"c": channel.encode(),
            b"e": self._codec.encode(target),
        }
        call = self._waiting[call_id] = Call()
        try:
            self._send(config.inbox_of(node), fields)
            with trio.move_on_after(config.call_timeout):
                await call.done.wait()
        finally:
            del self._waiting[call_id]
        if not call.done.is_set():
            raise trio.TooSlowError(f"{node!r} did not answer within {config.call_timeout} s")
        if call.error is not None:
            raise call.error
        return call.result

    def settle(self, call_id: bytes, event: Event) -> None:
        """A reply arrived (ignored if the caller gave up, or if it is a re-delivery)."""
        call = self._waiting.get(call_id)
        if call is not None and not call.done.is_set():
            call.answer(event)

    def reply(self, caller: bytes, call_id: bytes, value: Value) -> None:
        """Send the value of a call this node served back to the ``caller`` node."""
        answer = error_answer(value.value) if value.errors else result_answer(value.value)
        try:
            data = self._codec.encode(answer)
        except Exception as exc:  # the result cannot travel: say so instead
            data = self._codec.encode(
                Event.create("remote_error", type(exc).__name__, str(exc), "")
            )
        fields = {b"n": self._config.node_id, b"k": b"reply", b"id": call_id, b"e": data}
        self._post(self._config.inbox_of(caller.decode()), fields)  # never refused
