"""``Process``: a child process whose pipes are :class:`~trio_circuits.io.File` components.

The child runs on Trio's process API (``trio.lowlevel.open_process``): its stdout and
stderr are read by File components on the channels ``"<pid>.stdout"`` and
``"<pid>.stderr"`` (their ``read`` events are also collected in :attr:`Process.stdout`
and :attr:`Process.stderr`), and ``write`` events on ``"<pid>.stdin"`` (or on
``process._stdin``) go to its stdin.
"""

from __future__ import annotations

import signal as _signal
import subprocess
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from io import BytesIO
from typing import Any

import trio

from ..core.components import BaseComponent
from ..core.events import Event
from ..core.handlers import handler
from . import events as ev
from .file import File

__all__ = ["Process", "terminated"]

terminated = ev.terminated

# Seconds a stopping child gets between SIGTERM and SIGKILL when the application (or
# the Process) is shutting down, and the time its pipes get to close after it exited.
_KILL_AFTER = 2.0
_PIPES_GRACE = 1.0
# Pipes are read in large chunks: a chatty child is then a few events per 64 KiB.
_PIPE_BUFSIZE = 65536


class _process_control(Event):
    """Internal: carry a start/stop/kill/signal request into the application's thread.

    Fired with the Process itself as the channel: several Processes may share one.
    """


class Process(BaseComponent):
    """A child process, started with :meth:`start`.

    Args:
        args: the command, as a list (or a string with ``shell=True``).
        cwd: the working directory of the child.
        shell: run the command through ``/bin/sh``; a list is joined with spaces.
        channel: default ``"process"``.

    :meth:`start`, :meth:`stop`, :meth:`kill`, :meth:`signal` and :meth:`write` may be
    called from any thread, also before the application runs; they take effect in the
    application's thread, in order.

    Events fired on the Process's channel: ``started(process)`` once the child runs,
    ``error(exc)`` if it cannot be started (a missing executable, ...), and
    ``terminated(process)`` once it has exited *and* both of its output pipes have
    closed (:attr:`status` then holds its exit code).  The pipes fire their own
    ``read``, ``eof`` and ``closed`` events on ``"<pid>.stdout"`` and
    ``"<pid>.stderr"``.

    Stopping the application or unregistering the Process terminates a running child
    (SIGTERM, then SIGKILL after two seconds) and always waits for it: no zombie and
    no open pipe is left behind.
    """

    channel: Hashable = "process"

    def __init__(
        self,
        args: str | Sequence[str],
        cwd: str | None = None,
        shell: bool = False,
        channel: Hashable = "process",
    ) -> None:
        super().__init__(channel=channel)
        self.args = args
        self.cwd = cwd
        self.shell = shell
        self.p: trio.Process | None = None
        self.stdout = BytesIO()
        self.stderr = BytesIO()
        self._status: int | None = None
        self._terminated = False
        self._stdout_closed = False
        self._stderr_closed = False
        self._stdin: File | None = None
        self._stdout: File | None = None
        self._stderr: File | None = None
        self._added: list[Callable[..., Any]] = []
        self._requests: deque[tuple[str, Any]] = deque()
        self._kick: trio.Event | None = None
        self._pipes_closed: trio.Event | None = None
        self._stopping = False

    # -- control, from any thread ----------------------------------------------------

    def start(self) -> None:  # type: ignore[override]
        """Start the child (once the application runs, if it does not yet)."""
        self.fire(_process_control("start"), self)

    def stop(self) -> None:  # type: ignore[override]
        """Ask the child to terminate (SIGTERM).  The application keeps running."""
        self.fire(_process_control("signal", _signal.SIGTERM), self)

    def kill(self) -> None:
        """Kill the child (SIGKILL)."""
        self.fire(_process_control("signal", _signal.SIGKILL), self)

    def signal(self, signo: int) -> None:
        """Send signal ``signo`` to the child."""
        self.fire(_process_control("signal", signo), self)

    def write(self, data: bytes | str) -> None:
        """Write ``data`` to the child's stdin (a ``str`` is encoded).

        Taken in order with :meth:`start`: ``p.start(); p.write(b"...")`` feeds the
        child that this ``start`` runs.  Without a running child, ``error`` is fired.
        """
        if self._stdin is not None and not self._terminated:
            # A running child: straight to its stdin, in order with other events.
            self.fire(ev.write(data), self._stdin)
        else:
            # Not started yet: after the start requested before this write.
            self.fire(_process_control("write", data), self)

    @property
    def status(self) -> int | None:
        """The exit code once the child has exited (negative: killed by that signal)."""
        if self.p is not None and self._status is None:
            self._status = self.p.poll()
        return self._status

    @handler("_process_control")
    def _on_control(self, action: str, arg: Any = None) -> None:
        self._requests.append((action, arg))
        if self._kick is not None:
            self._kick.set()

    # -- the I/O task ----------------------------------------------------------------

    async def run_io(self, *, task_status: trio.TaskStatus[Any]) -> None:
        self._kick = trio.Event()
        self._stopping = False
        task_status.started()
        try:
            async with trio.open_nursery() as nursery:
                while not self._stopping:
                    if not self._requests:
                        await self._kick.wait()
                        self._kick = trio.Event()
                        continue
                    action, arg = self._requests.popleft()
                    if action == "start":
                        await self._spawn(nursery)
                    elif action == "write":
                        self._feed(arg)
                    elif self.p is not None and self.p.returncode is None:
                        self.p.send_signal(arg)
                nursery.cancel_scope.cancel()
        finally:
            self._kick = None
            await self._reap()

    def stop_io(self) -> None:
        self._stopping = True
        if self._kick is not None:
            self._kick.set()

    async def _reap(self) -> None:
        """Terminate a child that still runs, and wait for it (shielded, bounded)."""
        proc = self.p
        if proc is None or proc.returncode is not None:
            return
        with trio.CancelScope(shield=True):
            proc.terminate()
            with trio.move_on_after(_KILL_AFTER):
                await proc.wait()
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            self._status = proc.returncode

    def _feed(self, data: bytes | str) -> None:
        if self._stdin is None or self._terminated:
            self.fire(ev.error(RuntimeError("write to a Process that is not running")))
            return
        self.fire(ev.write(data), self._stdin)

    def _command(self) -> str | Sequence[str]:
        if self.shell and not isinstance(self.args, str):
            return " ".join(self.args)
        return self.args

    async def _spawn(self, nursery: trio.Nursery) -> None:
        if self.p is not None and self.p.returncode is None:
            self.fire(ev.error(RuntimeError("the process is already running")))
            return
        self._forget_pipes()
        try:
            proc = await trio.lowlevel.open_process(
                self._command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self.cwd,
                shell=self.shell,
            )
        except OSError as exc:
            self.fire(ev.error(exc))
            return
        self.p = proc
        self.stdout = BytesIO()
        self.stderr = BytesIO()
        self._status = None
        self._terminated = False
        self._stdout_closed = self._stderr_closed = False
        self._pipes_closed = trio.Event()
        pid = proc.pid
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        self._stdin = File(proc.stdin, "wb", channel=f"{pid}.stdin").register(self)
        self._stdout = File(
            proc.stdout, "rb", bufsize=_PIPE_BUFSIZE, channel=f"{pid}.stdout"
        ).register(self)
        self._stderr = File(
            proc.stderr, "rb", bufsize=_PIPE_BUFSIZE, channel=f"{pid}.stderr"
        ).register(self)
        self._stdin.couple(self._stdout, self._stderr)
        self._add_pipe_handlers(pid)
        self.fire(ev.started(self))
        nursery.start_soon(self._watch, proc)

    def _add_pipe_handlers(self, pid: int) -> None:
        def collect(name: str) -> Callable[..., Any]:
            buffer_name = name

            def on_read(self: Process, data: bytes) -> None:
                getattr(self, buffer_name).write(data)

            on_read.__name__ = f"_on_{pid}_{name}_read"
            return handler("read", channel=f"{pid}.{name}")(on_read)

        def mark_closed(name: str) -> Callable[..., Any]:
            def on_closed(self: Process) -> None:
                setattr(self, f"_{name}_closed", True)
                if self._stdout_closed and self._stderr_closed and self._pipes_closed is not None:
                    self._pipes_closed.set()

            on_closed.__name__ = f"_on_{pid}_{name}_closed"
            return handler("closed", channel=f"{pid}.{name}")(on_closed)

        self._added = [
            self.addHandler(make(name))
            for name in ("stdout", "stderr")
            for make in (collect, mark_closed)
        ]

    def _remove_pipe_handlers(self) -> None:
        for method in self._added:
            self.removeHandler(method)
        self._added = []

    def _forget_pipes(self) -> None:
        """Unregister the pipe Files of a previous run of the child."""
        for pipe in (self._stdin, self._stdout, self._stderr):
            if pipe is not None:
                pipe.unregister()
        self._stdin = self._stdout = self._stderr = None

    async def _watch(self, proc: trio.Process) -> None:
        """Wait for the child to exit and its output to end; fire ``terminated``."""
        pipes_closed = self._pipes_closed
        assert pipes_closed is not None
        try:
            await proc.wait()
        finally:
            self._status = proc.returncode
        signalled = proc.returncode is not None and proc.returncode < 0
        if signalled:
            # A child killed by us may leave descendants holding its pipes open.
            with trio.move_on_after(_PIPES_GRACE):
                await pipes_closed.wait()
            if not pipes_closed.is_set():
                for pipe in (self._stdout, self._stderr):
                    if pipe is not None:
                        self.fire(ev.close(), pipe.channel)
        await pipes_closed.wait()
        self._terminated = True
        self._remove_pipe_handlers()
        self.fire(terminated(self))
        if self._stdin is not None:
            self.fire(ev.close(), self._stdin.channel)
