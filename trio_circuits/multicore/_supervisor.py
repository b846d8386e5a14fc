"""The supervisor: N worker processes, kept running, stopped and replaced on Trio.

Every worker is a task of the supervisor's nursery that starts the process
(``trio.lowlevel.open_process``), copies its output, reads its control socket
(:mod:`._worker`) and, whatever happens, reaps it: a worker task never ends with
its process alive or unreaped.  When a worker exits, :meth:`Supervisor._exited`
decides what follows:

* the supervisor is stopping, or the worker had been replaced: nothing;
* status 0: its slot is done (not restarted); once every slot is done, the
  supervisor returns;
* a worker that never became ready, before every slot's first worker has: the
  start failed; the supervisor stops everything and exits 1 (the worker's error is
  shown once);
* otherwise: the slot is restarted after a back-off (0.1 s, doubling, at most
  5 s); a slot whose workers keep dying within 10 s of their start
  ``max_failures`` times in a row stops everything (exit 1).

SIGINT/SIGTERM: the same signal to every worker (each stops as a single process
would: ``signal`` then ``stop()``), then SIGKILL for those still running after the
stop timeout; a second signal kills at once.  SIGHUP: each slot in turn starts a
new worker, waits until it is ready, then stops the old one (SIGTERM); if a new
worker cannot start, the reload stops there and the running workers stay.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import ExitStack
from typing import Any

import attrs
import trio

from ._listeners import Listeners
from ._output import Output

__all__ = ["Supervisor"]

STABLE_AFTER = 10.0  # seconds: a worker that lived this long was not crash-looping
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 5.0
START_TIMEOUT = 60.0  # seconds a worker may take to become ready


@attrs.define(eq=False)
class _Slot:
    index: int
    current: _Worker | None = None
    failures: int = 0
    done: bool = False


@attrs.define(eq=False)
class _Worker:
    slot: _Slot
    process: trio.Process | None = None
    ready: bool = False
    settled: trio.Event = attrs.Factory(trio.Event)  # ready, or exited
    failure: str | None = None  # why it could not start, as the worker reported it
    started_at: float = 0.0

    @property
    def name(self) -> str:
        pid = "" if self.process is None else f" (pid {self.process.pid})"
        return f"worker {self.slot.index}{pid}"

    def signal(self, signo: int) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signo)


class Supervisor:
    """Runs ``workers`` processes of the factory ``ref`` on ``listeners``.

    Args:
        ref: the factory's reference (:func:`._factory.reference`).
        listeners: the bound listeners (closed by the caller, after :meth:`run`).
        stop_timeout: seconds a worker has to stop after SIGTERM before SIGKILL.
        max_failures: quick deaths in a row of one slot's workers before giving up.
    """

    def __init__(
        self, ref: dict[str, str], listeners: Listeners, stop_timeout: float, max_failures: int
    ) -> None:
        self.ref = ref
        self.listeners = listeners
        self.stop_timeout = stop_timeout
        self.max_failures = max_failures
        self.slots = [_Slot(i) for i in range(listeners.workers)]
        self.out = Output(1)
        self.err = Output(2)
        self.exit_code = 0
        self.stopping = False
        self._started = False  # every slot's first worker has been ready
        self._live: set[_Worker] = set()
        self._reloading = False
        self._reload_again = False
        self._finished = trio.Event()
        self._nursery: trio.Nursery | None = None

    # -- the supervisor's life ----------------------------------------------------------

    async def run(self) -> int:
        """Supervise until every worker has exited; return the exit status.

        Cancellation: every worker is killed (SIGKILL) and reaped before this returns.
        """
        with ExitStack() as stack:
            signals = None
            if threading.current_thread() is threading.main_thread():
                signals = stack.enter_context(
                    trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
                )
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if signals is not None:
                    nursery.start_soon(self._on_signals, signals)
                for line in self.listeners.describe():
                    await self.err.say(f"listening: {line}")
                for slot in self.slots:
                    self._spawn(slot)
                await self._finished.wait()
                nursery.cancel_scope.cancel()
        return self.exit_code

    async def _on_signals(self, signals: AsyncIterator[int]) -> None:
        async for signo in signals:
            if signo == signal.SIGHUP:
                if not self.stopping:
                    assert self._nursery is not None
                    self._nursery.start_soon(self._reload)
            elif self.stopping:  # a second SIGINT/SIGTERM: do not wait any longer
                await self.err.say("killing the workers")
                for worker in list(self._live):
                    worker.signal(signal.SIGKILL)
            else:
                await self.err.say(f"{signal.Signals(signo).name}: stopping the workers")
                self._stop(0, signo)

    def _stop(self, code: int, signo: int = signal.SIGTERM) -> None:
        """Stop every worker: ``signo`` to those ready (they see it), SIGTERM to others."""
        if self.stopping:
            return
        self.stopping = True
        self.exit_code = code
        for worker in list(self._live):
            worker.signal(signo if worker.ready else signal.SIGTERM)
        assert self._nursery is not None
        self._nursery.start_soon(self._kill_stragglers)
        self._check_finished()

    async def _kill_stragglers(self) -> None:
        await trio.sleep(self.stop_timeout)
        for worker in list(self._live):
            if worker.process is not None and worker.process.returncode is None:
                await self.err.say(f"{worker.name} did not stop in time: killed")
                worker.signal(signal.SIGKILL)

    def _check_finished(self) -> None:
        if not self._live and (self.stopping or all(s.done for s in self.slots)):
            self._finished.set()

    # -- one worker ---------------------------------------------------------------------

    def _spawn(self, slot: _Slot) -> _Worker:
        worker = _Worker(slot)
        if slot.current is None:
            slot.current = worker
        self._live.add(worker)
        assert self._nursery is not None
        self._nursery.start_soon(self._run_worker, worker)
        return worker

    async def _run_worker(self, worker: _Worker) -> None:
        ours, theirs = socket.socketpair()
        try:
            try:
                worker.process = await self._open_process(worker.slot, ours, theirs)
            finally:
                theirs.close()
            worker.started_at = trio.current_time()
            if self.stopping:
                worker.signal(signal.SIGTERM)
            await self._serve(worker, worker.process, ours)
        except OSError as exc:
            worker.failure = f"cannot start a worker process: {exc}\n"
        finally:
            ours.close()
            self._live.discard(worker)
            worker.settled.set()
            with trio.CancelScope(shield=True):
                await self._exited(worker)

    async def _open_process(
        self, slot: _Slot, ours: socket.socket, control: socket.socket
    ) -> trio.Process:
        fds = self.listeners.fds(slot.index)
        spec = {
            "factory": self.ref,
            "index": slot.index,
            "workers": len(self.slots),
            "listeners": fds,
            "path": sys.path,
            "argv": sys.argv,
        }
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")  # output as it is written, not at exit
        argv = [sys.executable, "-m", "trio_circuits.multicore._worker", str(control.fileno())]
        # The spec travels on the control socket (its first and only line this way).
        ours.sendall(json.dumps(spec).encode() + b"\n")
        return await trio.lowlevel.open_process(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(control.fileno(), *fds),
            env=env,
            start_new_session=True,  # a terminal's Ctrl-C reaches the supervisor only
        )

    async def _serve(self, worker: _Worker, process: trio.Process, control: socket.socket) -> None:
        """Copy the output and read the control socket until the process has exited."""
        prefix = f"[worker {worker.slot.index}] ".encode()
        try:
            async with trio.open_nursery() as nursery:
                assert process.stdout is not None
                assert process.stderr is not None
                nursery.start_soon(self.out.pump, process.stdout, prefix)
                nursery.start_soon(self.err.pump, process.stderr, prefix)
                nursery.start_soon(self._read_control, worker, control)
                nursery.start_soon(self._watch_start, worker)
                await process.wait()
                # Its output may still be in the pipes: a little time to copy it.
                nursery.cancel_scope.deadline = trio.current_time() + 1.0
        finally:
            with trio.CancelScope(shield=True):
                if process.returncode is None:
                    process.kill()
                    await process.wait()
                for stream in (process.stdout, process.stderr):
                    if stream is not None:
                        await trio.aclose_forcefully(stream)
                control.close()

    async def _read_control(self, worker: _Worker, control: socket.socket) -> None:
        sock = trio.socket.from_stdlib_socket(control)
        data = b""
        while True:
            try:
                chunk = await sock.recv(65536)
            except OSError:  # reset: it died before reading everything we sent
                return
            if not chunk:
                return
            data += chunk
            while b"\n" in data:
                line, data = data.split(b"\n", 1)
                message: dict[str, Any] = json.loads(line)
                if "failed" in message:
                    worker.failure = str(message["failed"])
                elif message.get("ready"):
                    await self._ready(worker)

    async def _watch_start(self, worker: _Worker) -> None:
        with trio.move_on_after(START_TIMEOUT):
            await worker.settled.wait()
            return
        worker.failure = f"not ready within {START_TIMEOUT:g} s\n"
        worker.signal(signal.SIGKILL)

    async def _ready(self, worker: _Worker) -> None:
        worker.ready = True
        worker.settled.set()
        await self.err.say(f"{worker.name} ready")
        if not self._started and all(_ready(s) for s in self.slots):
            self._started = True
            await self.err.say(f"{len(self.slots)} workers ready")

    async def _exited(self, worker: _Worker) -> None:
        """Decide what follows a worker's end (see the module docs), then say it.

        Each decision is taken before the first ``await``, so that workers ending
        together see each other's: of several failing at once, one is reported.
        """
        slot = worker.slot
        if self.stopping or slot.current is not worker:
            self._check_finished()
            return
        slot.current = None
        status = None if worker.process is None else worker.process.returncode
        how = "could not start" if worker.failure is not None else _describe(status)
        if status == 0:
            slot.done = True
            self.listeners.close_slot(slot.index)
            self._check_finished()
            await self.err.say(f"{worker.name} {how}: not restarted")
            return
        quick = trio.current_time() - worker.started_at < STABLE_AFTER
        slot.failures = slot.failures + 1 if quick else 1
        if not self._started and not worker.ready:
            self._stop(1)
            verdict = "stopping"
        elif slot.failures >= self.max_failures:
            self._stop(1)
            verdict = (
                f"worker {slot.index} died {slot.failures} times in a row, each within "
                f"{STABLE_AFTER:g} s of its start; stopping"
            )
        else:
            delay = min(BACKOFF_FIRST * 2 ** (slot.failures - 1), BACKOFF_MAX)
            assert self._nursery is not None
            self._nursery.start_soon(self._restart, slot, delay)
            verdict = f"restarting it in {delay:g} s"
        if worker.failure is not None:
            await self._show_failure(worker)
        await self.err.say(f"{worker.name} {how}: {verdict}")

    async def _show_failure(self, worker: _Worker) -> None:
        """The reason a worker could not start, as it reported it, with its prefix."""
        assert worker.failure is not None
        prefix = f"[worker {worker.slot.index}] "
        lines = worker.failure.rstrip("\n").split("\n")
        text = "".join(f"{prefix}{line}\n" for line in lines)
        await self.err.write(text.encode(errors="replace"))

    async def _restart(self, slot: _Slot, delay: float) -> None:
        await trio.sleep(delay)
        if not self.stopping and slot.current is None:
            self._spawn(slot)

    # -- SIGHUP -------------------------------------------------------------------------

    async def _reload(self) -> None:
        if self._reloading:
            self._reload_again = True
            return
        self._reloading = True
        try:
            self._reload_again = True
            while self._reload_again and not self.stopping:
                self._reload_again = False
                await self.err.say("SIGHUP: replacing the workers one at a time")
                for slot in self.slots:
                    if not await self._replace(slot):
                        break
        finally:
            self._reloading = False

    async def _replace(self, slot: _Slot) -> bool:
        """Replace ``slot``'s worker by a new one once it is ready (False: it failed)."""
        old = slot.current
        if self.stopping or old is None or slot.done:
            return not self.stopping
        new = self._spawn(slot)
        await new.settled.wait()
        if not new.ready:
            if new.failure is not None:
                await self._show_failure(new)
            await self.err.say(
                f"the new worker {slot.index} could not start: reload stopped, the "
                "running workers stay"
            )
            return False
        if slot.current is old or slot.current is None:
            slot.current = new
            old.signal(signal.SIGTERM)
        else:  # the old one died meanwhile and has been restarted already
            new.signal(signal.SIGTERM)
        return True


def _ready(slot: _Slot) -> bool:
    return slot.done or (slot.current is not None and slot.current.ready)


def _describe(status: int | None) -> str:
    if status is None:
        return "never started"
    if status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with status {status}"
