"""``DropPrivileges``: give up root once the servers have bound their ports."""

from __future__ import annotations

import grp
import os
import pwd
import sys
from collections.abc import Hashable
from typing import Any

from ..core.components import BaseComponent
from ..core.handlers import handler

__all__ = ["DropPrivileges"]


class DropPrivileges(BaseComponent):
    """Switch to ``user`` and ``group`` when the first server or client is ready.

    Args:
        user: the user name to become (default ``"nobody"``).
        group: the group name (default ``"nobody"``).
        umask: the umask to set afterwards (``None``: keep it).
        channel: default ``"*"``.

    Bind privileged ports first, then drop: the switch happens on the first ``ready``
    event (any channel), after which the component unregisters itself.  Not running as
    root, it does nothing.  A user or group that does not exist, or a switch that
    fails, is reported on stderr and stops the application with exit status 1 -- the
    program never carries on as root by mistake.
    """

    def __init__(
        self,
        user: str = "nobody",
        group: str = "nobody",
        umask: int | None = 0o077,
        channel: Hashable = "*",
        **kwargs: Any,
    ) -> None:
        super().__init__(channel=channel)
        self.user = user
        self.group = group
        self.umask = umask
        self._done = False

    def drop_privileges(self) -> None:
        """Switch user and group now (a no-op when not root)."""
        if os.getuid() != 0:
            return
        try:
            uid = pwd.getpwnam(self.user).pw_uid
            gid = grp.getgrnam(self.group).gr_gid
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            if self.umask is not None:
                os.umask(self.umask)
        except (KeyError, OSError) as exc:
            sys.stderr.write(
                f"ERROR: could not drop privileges to {self.user}:{self.group}: {exc}\n"
            )
            raise SystemExit(1) from exc

    @handler("ready", channel="*")
    def _on_ready(self, *args: Any) -> None:
        if self._done:
            return
        self._done = True
        try:
            self.drop_privileges()
        finally:
            self.unregister()
