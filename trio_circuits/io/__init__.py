"""Files, processes, the standard streams and file system notification as components.

* :class:`File` -- a file (or pipe, or stream): ``read`` events in, ``write`` events out.
* :class:`Process` -- a child process with its pipes as Files.
* :data:`stdin`, :data:`stdout`, :data:`stderr` -- Files on the process's standard
  streams, on the channels ``"stdin"``, ``"stdout"`` and ``"stderr"`` (one instance
  each, as in circuits: register it in one tree at a time).
* :class:`~trio_circuits.io.notify.Notify` -- inotify events (Linux).
"""

from __future__ import annotations

import sys

from .events import close as close
from .events import open as open
from .events import seek as seek
from .events import write as write
from .file import File as File
from .file import _standard
from .process import Process as Process

if sys.platform == "linux":
    from .notify import Notify as Notify

__all__ = [
    "File",
    "Notify",
    "Process",
    "close",
    "open",
    "seek",
    "stderr",
    "stdin",
    "stdout",
    "write",
]

#: a :class:`File` reading the process's standard input, on channel ``"stdin"``
stdin = _standard("stdin")
#: a :class:`File` writing the process's standard output, on channel ``"stdout"``
stdout = _standard("stdout")
#: a :class:`File` writing the process's standard error, on channel ``"stderr"``
stderr = _standard("stderr")
