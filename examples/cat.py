"""A clone of UNIX ``cat``: copy a file to standard output.

    python examples/cat.py FILE

A :class:`~trio_circuits.io.File` fires ``read`` events; each is written to the
``stdout`` File; at the end of the file the program exits.
"""

from __future__ import annotations

import sys

import trio_circuits
from trio_circuits.io import File, stdout, write


class Cat(File):
    # The shared stdout File, registered as a child of every Cat.
    stdout = stdout

    def read(self, data: bytes) -> None:
        self.fire(write(data), stdout)

    def eof(self) -> None:
        self.stop()  # stdout is flushed as the application stops

    def error(self, exc: Exception) -> None:
        print(f"cat: {exc}", file=sys.stderr)
        self.stop(1)


if __name__ == "__main__":
    trio_circuits.run(Cat(sys.argv[1], "rb"))
