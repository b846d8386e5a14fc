"""A clone of ``tail -f``: print what is appended to a file, as it is appended.

    python examples/tail.py FILE [--debug]

The File starts at the end (``seek(0, 2)``) and, with ``autoclose=False``, keeps
watching it; Ctrl-C stops.
"""

from __future__ import annotations

import argparse

import trio_circuits
from trio_circuits import Component, Debugger
from trio_circuits.io import File, stdout, write


class Tail(Component):
    stdout = stdout

    def init(self, filename: str) -> None:
        File(filename, "rb", autoclose=False).register(self).seek(0, 2)

    def opened(self, filename: str, mode: str) -> None:
        print(f"following {filename}", flush=True)

    def read(self, data: bytes) -> None:
        self.fire(write(data), self.stdout)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()
    app = Tail(args.file)
    if args.debug:
        Debugger().register(app)
    trio_circuits.run(app)
