"""Watch a directory and print the file system events it sees (Linux inotify).

    python examples/dirwatch.py DIRECTORY

Prints ``watching DIRECTORY`` once ready, then a line per event; Ctrl-C stops.
"""

from __future__ import annotations

import sys
from typing import Any

import trio_circuits
from trio_circuits import Component
from trio_circuits.io import Notify


class FileWatcher(Component):
    channel = "notify"

    def ready(self, notify: Any) -> None:
        print(f"watching {sys.argv[1]}", flush=True)

    def created(self, name: str, path: str, pathname: str, is_dir: bool) -> None:
        print(f"{'Directory' if is_dir else 'File'} {name} created", flush=True)

    def opened(self, name: str, path: str, pathname: str, is_dir: bool) -> None:
        print(f"File {name} opened", flush=True)

    def closed(self, name: str, path: str, pathname: str, is_dir: bool) -> None:
        print(f"File {name} closed", flush=True)

    def deleted(self, name: str, path: str, pathname: str, is_dir: bool) -> None:
        print(f"File {name} deleted", flush=True)


if __name__ == "__main__":
    app = Notify()
    FileWatcher().register(app)
    app.add_path(sys.argv[1])
    trio_circuits.run(app)
