"""Print the lines of a file that contain a pattern (``grep``), built from File and Line.

    python examples/99bottles.py FILE PATTERN

The Python "99 bottles" concurrency problem: a File reads, a Line protocol splits the
chunks into lines, a Grep component prints the matches; the program ends with the
file.
"""

from __future__ import annotations

import sys

import trio_circuits
from trio_circuits import Component
from trio_circuits.io import File
from trio_circuits.protocols import Line


class Tail(Component):
    """A File and a Line splitter: ``line`` events for every line of the file."""

    channel = "file"

    def init(self, filename: str) -> None:
        (File(filename, "rb") + Line(channel="file")).register(self)

    def closed(self) -> None:
        self.stop()


class Grep(Component):
    channel = "file"

    def init(self, pattern: str) -> None:
        self.pattern = pattern

    def line(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace")
        if self.pattern in text:
            print(text, flush=True)


if __name__ == "__main__":
    app = Tail(sys.argv[1])
    Grep(sys.argv[2]).register(app)
    trio_circuits.run(app)
