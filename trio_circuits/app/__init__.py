"""Application components: :class:`Daemon` (run in the background) and
:class:`DropPrivileges` (give up root after binding)."""

from .daemon import Daemon as Daemon
from .dropprivileges import DropPrivileges as DropPrivileges

__all__ = ["Daemon", "DropPrivileges"]
