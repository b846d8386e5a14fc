"""The I/O events (circuits' ``circuits.io.events`` names).

:class:`~trio_circuits.io.File` *handles* ``open``, ``write``, ``seek`` and ``close``
and *fires* ``ready(file)``, ``opened(filename, mode)``, ``read(data)``, ``eof()``,
``error(exc)`` and ``closed()``.  :class:`~trio_circuits.io.Process` fires
``started(process)``, ``error(exc)`` and ``terminated(process)``.
:class:`~trio_circuits.io.notify.Notify` fires ``created``, ``deleted``, ``modified``,
``moved``, ``accessed``, ``opened``, ``closed`` and ``unmounted``, each with
``(name, path, pathname, is_dir)``.
"""

from __future__ import annotations

from ..core.events import Event

__all__ = [
    "accessed",
    "close",
    "closed",
    "created",
    "deleted",
    "drain",
    "eof",
    "error",
    "modified",
    "moved",
    "open",
    "opened",
    "read",
    "ready",
    "seek",
    "started",
    "stopped",
    "terminated",
    "unmounted",
    "write",
]


class eof(Event):
    """A file was read to its end: ``eof()``."""


class seek(Event):
    """Request: move a file's position: ``seek(offset, whence=0)``."""


class read(Event):
    """Data read from a file, pipe or stream: ``read(data)`` (always bytes)."""


class close(Event):
    """Request: close a file once what was written to it has been flushed: ``close()``."""


class write(Event):
    """Request: write ``data`` (bytes, or str encoded with the file's encoding)."""


class drain(Event):
    """``drain(file)``: a cascade queued more than the file's ``high_water`` for it.

    Fired by the File in that cascade; its handler returns once the queued output
    has been written down to half the mark (or the file has closed), so the source
    whose ``read`` started the cascade reads nothing more meanwhile.
    """


class error(Event):
    """An I/O error: ``error(exc)``."""


class open(Event):
    """Request: (re)open a file: ``open(filename=None, mode=None, bufsize=None)``."""


class opened(Event):
    """A file is open: ``opened(filename, mode)``; Notify: ``(name, path, pathname, is_dir)``."""


class closed(Event):
    """A file has closed: ``closed()``; Notify: ``(name, path, pathname, is_dir)``."""


class ready(Event):
    """An I/O component is running and ready: ``ready(component)``."""


class started(Event):
    """A process has started: ``started(process)``."""


class stopped(Event):
    """An I/O component has stopped: ``stopped(component)``."""


class terminated(Event):
    """A process has exited and its output pipes are closed: ``terminated(process)``."""


class moved(Event):
    """Notify: a file was moved: ``(name, path, pathname, is_dir)``."""


class created(Event):
    """Notify: a file or directory was created: ``(name, path, pathname, is_dir)``."""


class deleted(Event):
    """Notify: a file or directory was deleted: ``(name, path, pathname, is_dir)``."""


class accessed(Event):
    """Notify: a file was read: ``(name, path, pathname, is_dir)``."""


class modified(Event):
    """Notify: a file's content or metadata changed: ``(name, path, pathname, is_dir)``."""


class unmounted(Event):
    """Notify: the file system holding a watched path was unmounted."""
