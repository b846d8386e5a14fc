"""Entry points: :func:`open_app` for Trio programs, :func:`run` for scripts."""

from __future__ import annotations

import signal as _signal
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from typing import TypeVar

import trio

from .events import signal
from .manager import Manager

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["open_app", "run"]

M = TypeVar("M", bound=Manager)


@asynccontextmanager
async def open_app(root: M) -> AsyncIterator[M]:
    """Run ``root`` for the duration of an ``async with`` block.

    Entry returns once the application has started (as ``nursery.start(root.run)``);
    exit stops it (:meth:`Manager.stop`) and waits until it has shut down.  An
    exception from the block propagates unwrapped (not inside an ExceptionGroup) when
    it is the only error.
    """
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(root.run)
            try:
                yield root
            finally:
                root.stop()
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise


def run(root: Manager) -> None:
    """Run ``root`` until it stops: the blocking entry point for scripts.

    Starts Trio; in the main thread, SIGINT and SIGTERM fire ``signal(signo, None)``
    and, once it is handled, stop the application cleanly (a second signal cancels it
    at once).  If the application stopped with an exit code (``stop(code)`` or
    ``SystemExit`` in a handler), raises ``SystemExit(code)``.  If it cannot start
    (a server's port is in use, say), raises ``SystemExit`` with a one-line message,
    so a script exits with status 1 and that message on stderr.
    """
    outcome: list[int | str | None] = []
    try:
        trio.run(_main, root, outcome)
    except BaseExceptionGroup as group:
        failed = group.exceptions[0] if len(group.exceptions) == 1 else None
        if not isinstance(failed, _StartFailed):
            raise
        error = failed.__cause__
        raise SystemExit(f"could not start: {error}") from error
    if outcome and outcome[0] is not None:
        raise SystemExit(outcome[0])


class _StartFailed(Exception):
    """The application's start raised (its cause is the component's exception)."""


async def _main(root: Manager, outcome: list[int | str | None]) -> None:
    with ExitStack() as stack:
        signals = None
        if threading.current_thread() is threading.main_thread():
            signals = stack.enter_context(
                trio.open_signal_receiver(_signal.SIGINT, _signal.SIGTERM)
            )
        async with trio.open_nursery() as nursery:
            try:
                await nursery.start(_run_then_cancel, root, nursery.cancel_scope, outcome)
            except Exception as exc:
                raise _StartFailed from exc
            if signals is None:
                return
            signalled = False
            async for signo in signals:
                if signalled:  # a second signal: stop waiting for a graceful close
                    nursery.cancel_scope.cancel()
                    return
                signalled = True
                nursery.start_soon(_on_signal, root, signo)


async def _run_then_cancel(
    root: Manager,
    scope: trio.CancelScope,
    outcome: list[int | str | None],
    *,
    task_status: trio.TaskStatus[Manager],
) -> None:
    try:
        runtime = await root._run(task_status)
        outcome.append(runtime.exit_code)
    finally:
        scope.cancel()


async def _on_signal(root: Manager, signo: int) -> None:
    value = root.fire(signal(signo, None))
    await value._wait_done()
    root.stop()
