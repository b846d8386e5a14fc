"""The code blocks of the documentation that the test suite runs, and their markers.

Every code block of the tutorial (``docs/tutorial/*.rst``) and of ``README.md`` is
preceded by a marker that says what the suite does with it::

    .. code: ROLE [key=value ...]          (reStructuredText: a comment)
    <!-- code: ROLE [key=value ...] -->    (Markdown: an HTML comment)

The block's file name is its ``:caption:`` (reStructuredText) or ``name=``.  Roles:

``script``   a program: run with Python in the reader's directory; it must exit by
             itself with ``status=`` (default 0) and print what the ``output`` blocks
             after it show, and nothing on stderr unless one of them shows it.
``output``   what the script (or client) before it prints (``stream=stderr`` for its
             standard error); ``...`` stands for any text, as in doctest.
``server``   a program that serves until stopped: the suite starts it (the port
             ``port=`` written in it becomes a free one), drives it with real clients
             and stops it with SIGINT.
``client``   a script run while ``server=`` runs (its port replaced the same way).
``pytest``   a test module, run with pytest; ``passed=`` tests must pass.
``file``     a file other blocks use (a configuration file).
``command``  shell commands the suite runs, once, before the group's programs.
``shell``    commands for the reader's terminal (interactive sessions, ``make``):
             shown, not run.
``partial``  a fragment of Python: compiled (its syntax checked), not run.

All the blocks of a group (the tutorial's pages, in order, or the README) share one
directory, as a reader following the steps would.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROLES = frozenset(
    {"script", "output", "server", "client", "pytest", "file", "command", "shell", "partial"}
)
PYTHON_ROLES = frozenset({"script", "server", "client", "pytest", "partial"})
NAMED_ROLES = frozenset({"script", "server", "client", "pytest", "file"})

_RST_MARKER = re.compile(r"^\s*\.\. code: (?P<spec>.*)$")
_MD_MARKER = re.compile(r"^\s*<!-- code: (?P<spec>.*?) -->\s*$")
_RST_CODE = re.compile(
    r"^(?P<indent>\s*)\.\. (?:code-block|code|sourcecode)::\s*(?P<lang>\S*)\s*$"
)
_RST_DIRECTIVE = re.compile(r"^\s*\.\. [\w:-]+::")
_MD_FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")


@dataclass
class Block:
    """One code block and what its marker says about it."""

    path: Path
    line: int  # of the block's first line of code (1-based)
    language: str
    text: str
    role: str = ""
    options: dict[str, str] = field(default_factory=dict)
    name: str = ""
    outputs: list[Block] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"

    @property
    def id(self) -> str:
        return f"{self.path.name}:{self.name or self.line}"


@dataclass
class Document:
    """A document's blocks and the mistakes found in its markers."""

    path: Path
    blocks: list[Block]
    problems: list[str]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _body(lines: list[str], start: int, parent_indent: int) -> tuple[str, int, int]:
    """The indented body from ``start``: (dedented text, first code line, next index)."""
    end = start
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > parent_indent):
        end += 1
    body = lines[start:end]
    while body and not body[-1].strip():
        body.pop()
    first = 0
    while first < len(body) and not body[first].strip():
        first += 1
    body = body[first:]
    margin = min((_indent(x) for x in body if x.strip()), default=0)
    return "\n".join(x[margin:] for x in body) + "\n", start + first + 1, end


def _parse_marker(spec: str, block: Block, problems: list[str]) -> None:
    words = shlex.split(spec)
    if not words or words[0] not in ROLES:
        problems.append(f"{block.where}: unknown role in marker {spec!r}")
        return
    block.role = words[0]
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep:
            problems.append(f"{block.where}: option {word!r} is not key=value")
        block.options[key] = value
    if "name" in block.options:
        block.name = block.options["name"]


def parse_rst(path: Path) -> Document:
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    problems: list[str] = []
    marker: tuple[str, int] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if m := _RST_MARKER.match(line):
            if marker is not None:
                problems.append(f"{path.name}:{marker[1]}: marker not followed by a block")
            marker = (m["spec"], i + 1)
            i += 1
            continue
        code = _RST_CODE.match(line)
        literal = code is None and line.rstrip().endswith("::") and not _RST_DIRECTIVE.match(line)
        if code is None and not literal:
            if line.strip() and marker is not None:
                problems.append(f"{path.name}:{marker[1]}: marker not followed by a block")
                marker = None
            i += 1
            continue
        indent = _indent(line)
        language = code["lang"] if code is not None else "literal"
        caption = ""
        i += 1
        if code is not None:
            while i < len(lines) and lines[i].strip().startswith(":"):
                option, _, value = lines[i].strip()[1:].partition(":")
                if option == "caption":
                    caption = value.strip()
                i += 1
        text, first, i = _body(lines, i, indent)
        block = Block(path, first, language, text, name=caption)
        if marker is None:
            problems.append(f"{block.where}: a code block without a marker")
        else:
            _parse_marker(marker[0], block, problems)
            marker = None
        blocks.append(block)
    if marker is not None:
        problems.append(f"{path.name}:{marker[1]}: marker not followed by a block")
    return Document(path, blocks, problems)


def parse_md(path: Path) -> Document:
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    problems: list[str] = []
    marker: tuple[str, int] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if m := _MD_MARKER.match(line):
            marker = (m["spec"], i + 1)
            i += 1
            continue
        fence = _MD_FENCE.match(line)
        if fence is None:
            if line.strip() and marker is not None:
                problems.append(f"{path.name}:{marker[1]}: marker not followed by a block")
                marker = None
            i += 1
            continue
        start = i + 1
        i = start
        while i < len(lines) and not lines[i].startswith(fence["fence"]):
            i += 1
        block = Block(path, start + 1, fence["lang"], "\n".join(lines[start:i]) + "\n")
        i += 1
        if marker is None:
            problems.append(f"{block.where}: a code block without a marker")
        else:
            _parse_marker(marker[0], block, problems)
            marker = None
        blocks.append(block)
    return Document(path, blocks, problems)


def parse(path: Path) -> Document:
    """The blocks of a ``.rst`` or ``.md`` document."""
    return parse_md(path) if path.suffix == ".md" else parse_rst(path)


def check(documents: list[Document]) -> list[str]:
    """Attach output blocks to their programs, name the unnamed, list every mistake."""
    problems = [p for doc in documents for p in doc.problems]
    names: dict[str, Block] = {}
    for doc in documents:
        previous: Block | None = None
        for n, block in enumerate(doc.blocks):
            if not block.role:
                continue
            if block.role in PYTHON_ROLES and block.language != "python":
                problems.append(f"{block.where}: a {block.role} block should be python")
            if block.role == "output":
                if previous is None or previous.role not in ("script", "client"):
                    problems.append(f"{block.where}: output follows no script or client")
                else:
                    previous.outputs.append(block)
                continue
            if block.role in NAMED_ROLES and not block.name:
                problems.append(f"{block.where}: a {block.role} block needs a file name")
            if not block.name:
                block.name = f"{doc.path.stem}-{n}"
            elif block.name in names:
                problems.append(f"{block.where}: {block.name} is also {names[block.name].where}")
            names[block.name] = block
            if block.role == "server" and not block.options.get("port", "").isdigit():
                problems.append(f"{block.where}: a server needs port=N")
            if block.role == "client" and block.options.get("server") not in names:
                problems.append(f"{block.where}: client of an unknown (or later) server")
            previous = block
    return problems
