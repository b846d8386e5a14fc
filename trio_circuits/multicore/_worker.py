"""A worker process: ``python -m trio_circuits.multicore._worker FD`` (started by the
supervisor, never by hand).

``FD`` is the worker's end of its control socket.  The supervisor writes one JSON
line there, the worker's spec: the factory's reference, the inherited descriptors of
the listeners (one per server, in tree order), and the supervisor's ``sys.path`` and
``sys.argv``.  The worker builds the tree, hands each server its listener, adds a
:class:`Link` and runs the tree with :func:`trio_circuits.core.run`, exactly as a
single process would (SIGINT/SIGTERM fire ``signal`` and stop it).

The worker answers with one JSON line: ``{"ready": true}`` once the application has
started and every server has fired ``ready``, or ``{"failed": TEXT}`` if it could not
start (the supervisor, not the worker, prints TEXT, so that a failure shared by every
worker is shown once).  The supervisor writes nothing more: end-of-file means that it
is gone, and the worker stops.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import traceback
from collections.abc import Hashable
from typing import Any, NoReturn

import trio

from ..core import BaseComponent, handler
from ..core import run as run_root
from ..core.flow import IOStatus
from . import _identity
from ._factory import build, load
from ._listeners import hand_over

# The exit status of a worker that could not start (after reporting why).
START_FAILED = 3


class Link(BaseComponent):
    """The worker's end of the control socket (added to the worker's tree).

    Reports ``ready`` once ``started`` and every server's ``ready`` have been
    dispatched; stops the application when the supervisor's end closes.
    """

    channel: Hashable = "trio_circuits.worker"

    def __init__(self, control: socket.socket, servers: list[Any]) -> None:
        super().__init__()
        self._control = control
        self._waiting = {id(s) for s in servers}
        self._started = False
        self._all_ready = trio.Event()
        self.reported = False

    @handler("started", channel="*")
    def _on_started(self, *args: Any) -> None:
        self._started = True
        self._check()

    @handler("ready", channel="*")
    def _on_ready(self, component: Any = None, *args: Any) -> None:
        self._waiting.discard(id(component))
        self._check()

    def _check(self) -> None:
        if self._started and not self._waiting:
            self._all_ready.set()

    async def run_io(self, *, task_status: IOStatus) -> None:
        """Report readiness, then wait for the supervisor's end to close."""
        sock = trio.socket.from_stdlib_socket(self._control)
        task_status.started()
        try:
            await self._all_ready.wait()
            await sock.send(b'{"ready": true}\n')
            self.reported = True
            while await sock.recv(4096):
                pass
        except OSError:
            pass
        self.root.stop()  # the supervisor has gone: stop (gracefully) on our own


_HERE = os.path.dirname(os.path.abspath(__file__))


def _failure(exc: BaseException) -> str:
    """``exc``'s traceback, without the frames of this package (the worker's own)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_HERE):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _fail(control: socket.socket, text: str) -> NoReturn:
    try:
        control.setblocking(True)
        control.sendall(json.dumps({"failed": text}).encode() + b"\n")
    except OSError:
        sys.stderr.write(text)
    sys.exit(START_FAILED)


def main(argv: list[str]) -> None:
    """Run the worker SPEC (``argv[1]``) describes."""
    control = socket.socket(fileno=int(argv[1]))
    control.set_inheritable(False)
    with control.makefile("rb") as lines:  # closing it leaves the socket open
        spec = json.loads(lines.readline())
    _identity.index, _identity.count = spec["index"], spec["workers"]
    sys.path[:0] = [p for p in spec["path"] if p not in sys.path]
    sys.argv[:] = spec["argv"]
    try:
        root = build(load(spec["factory"]))
        link = Link(control, hand_over(root, spec["listeners"]))
        link.register(root)
    except Exception as exc:
        _fail(control, _failure(exc))
    try:
        run_root(root)
    except SystemExit as exc:
        if not link.reported and exc.code not in (None, 0):
            _fail(control, f"{exc.code}\n")  # "could not start: ..." from run()
        raise


if __name__ == "__main__":
    main(sys.argv)
