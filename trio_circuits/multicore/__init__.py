"""Many cores: one application in N supervised worker processes sharing its listeners.

``trio_circuits.run(factory, workers=N)`` (or ``python -m trio_circuits serve
module:factory --workers N``) builds the factory's tree once in this process, the
supervisor, to learn its servers; binds their sockets (see :mod:`._listeners`);
then starts N worker processes, each of which builds its own tree with the factory
and serves on the inherited sockets.  The supervisor (:mod:`._supervisor`) restarts
workers that die, stops them all on SIGINT/SIGTERM, replaces them one by one on
SIGHUP, and copies their output to its own with each worker's index.  See the
"Many cores and many hosts" page of the documentation.
"""

from __future__ import annotations

import socket
import sys

import trio

from ..core import Manager
from ..core import run as run_root
from . import _identity
from ._factory import Factory, build, load, reference

__all__ = ["MAX_FAILURES", "run", "worker_count", "worker_index"]

#: How many times in a row a worker slot's processes may die soon after their start
#: before the supervisor gives up and stops everything.
MAX_FAILURES = 5


def worker_index() -> int | None:
    """This process's index, 0 to N-1, as a worker of ``run(..., workers=N)``; else None.

    Set before the factory runs, so a factory may use it (a ``RedisBridge`` does: its
    node name gets the suffix ``-<index>``).  A worker that replaces another, after a
    crash or on SIGHUP, has the same index.  Processes that a worker starts are not
    workers: there this is None.
    """
    return _identity.index


def worker_count() -> int | None:
    """N, in a worker of ``run(..., workers=N)``; else None."""
    return _identity.count


def default_reuse_port(reuse_port: bool | None) -> bool:
    """``reuse_port`` as :func:`run` reads it: ``None`` is ``True`` on Linux only."""
    if reuse_port is None:
        # Elsewhere (the BSDs, macOS) the last socket bound takes every connection.
        return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")
    return reuse_port


def run(
    root: Manager | Factory | str, workers: int = 1, *, reuse_port: bool | None = None
) -> None:
    """Run an application until it stops: the blocking entry point for scripts.

    Args:
        root: the root component; or, for ``workers > 1``, a *factory*: an importable
            callable (a module-level function or class) that returns a new root each
            time, or its name as ``"module:qualname"``.
        workers: ``1`` runs ``root`` in this process, exactly as
            :func:`trio_circuits.core.run` (a factory is called here first).  ``N > 1``
            runs N worker processes, each with its own tree from the factory, sharing
            the listening sockets of the tree's servers, supervised by this process.
        reuse_port: with workers, whether each worker gets a TCP listener of its own
            bound with ``SO_REUSEPORT`` (the kernel spreads the connections evenly)
            or all accept from one shared listener (a burst of connections goes
            mostly to whichever worker wakes first).  ``None``, the default, means
            ``SO_REUSEPORT`` on Linux, where the kernel balances such sockets, and
            the shared listener elsewhere.  UNIX servers always share one
            listener; UDP servers always get one ``SO_REUSEPORT`` socket per worker.

    With workers, the factory is also called once here, to learn the servers and
    bind their sockets (that tree never runs: keep the factory free of other side
    effects).  A worker that dies is restarted after a back-off; one that exits with
    status 0 is not; a worker slot whose workers die :data:`MAX_FAILURES` times in a
    row, each soon after its start, stops everything.  SIGINT and SIGTERM stop every
    worker as a single process stops (``signal``, then :meth:`Manager.stop`, within
    ``close_timeout``), then this returns; SIGHUP replaces the workers one at a time.
    Workers' output goes to this process's stdout and stderr, each line prefixed
    ``[worker I]``; the supervisor's own lines start ``trio_circuits:``.

    Raises:
        SystemExit: as :func:`trio_circuits.core.run` does with one process; with
            workers, ``SystemExit(1)`` if they could not start or kept dying (the
            reason is on stderr), or with a message if a listener cannot be bound.
        TypeError: ``workers > 1`` with a component rather than a factory, or a
            factory that cannot be imported by name (a lambda, a nested function).
        ValueError: ``workers`` is not a positive int.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, not {workers!r}")
    if workers == 1:
        if not isinstance(root, Manager):
            root = build(load(reference(root)) if isinstance(root, str) else root)
        run_root(root)
        return
    if isinstance(root, Manager):
        raise TypeError(
            f"workers={workers} needs a factory that builds the root in each worker "
            f"(its class, or a function returning it), not the component {root!r}"
        )
    # Imported here: ``import trio_circuits`` (and a worker's bridge asking for its
    # index) need neither the servers nor the supervisor.
    from ._listeners import Listeners
    from ._supervisor import Supervisor

    ref = reference(root)
    template = build(load(ref) if isinstance(root, str) else root)
    try:
        listeners = Listeners(template, workers, default_reuse_port(reuse_port))
    except OSError as exc:
        raise SystemExit(f"could not start: {exc}") from exc
    stop_timeout = 2 * template.close_timeout + template.handler_grace + 1.0
    del template
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        code = trio.run(Supervisor(ref, listeners, stop_timeout, MAX_FAILURES).run)
    finally:
        listeners.close()
    if code:
        raise SystemExit(code)
