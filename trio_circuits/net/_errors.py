"""Errors that name what failed: the host and port of a connect (SPEC 5.2)."""

from __future__ import annotations

import socket
import sys
from typing import Any

import trio

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["named", "unresolved"]


def named(exc: BaseException, host: Any, port: Any, timeout: float) -> BaseException:
    """``exc``, a failed connect to ``(host, port)``, as an error of the same kind whose
    message names them ("cannot resolve 'nosuch.invalid' (port 80): Name or service
    not known"); the original is its ``__cause__``."""
    where = f"{host}:{port}" if port is not None else f"{host}"
    if isinstance(exc, socket.gaierror):
        new: BaseException = socket.gaierror(
            exc.errno, f"cannot resolve {host!r} (port {port}): {exc.strerror}"
        )
    elif isinstance(exc, trio.TooSlowError):
        new = trio.TooSlowError(f"cannot connect to {where}: no answer within {timeout} s")
    elif isinstance(exc, OSError) and exc.strerror:
        new = type(exc)(exc.errno, f"cannot connect to {where}: {exc.strerror}")
    elif isinstance(exc, OSError):
        # trio's happy eyeballs: an OSError of its own over every address it tried;
        # the first attempt's error says why ("Connection refused").
        first = _first_attempt(exc)
        if first is not None and first.strerror:
            new = type(first)(first.errno, f"cannot connect to {where}: {first.strerror}")
        else:
            new = OSError(f"cannot connect to {where}: {exc}")
    else:
        return exc
    new.__cause__ = exc
    return new


def _first_attempt(exc: OSError) -> OSError | None:
    cause = exc.__cause__
    if isinstance(cause, BaseExceptionGroup):
        for sub in cause.exceptions:
            if isinstance(sub, OSError):
                return sub
    return cause if isinstance(cause, OSError) else None


def unresolved(exc: socket.gaierror, host: Any, port: Any) -> socket.gaierror:
    """A failed lookup of ``host`` (to bind ``port``), naming both."""
    new = socket.gaierror(exc.errno, f"cannot resolve {host!r} (port {port}): {exc.strerror}")
    new.__cause__ = exc
    return new
