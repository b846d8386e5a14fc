"""The block parser finds every code block and every mistake in the markers."""

from __future__ import annotations

from pathlib import Path

from .blocks import check, parse

RST = """\
Title
=====

.. code: script status=2

.. code-block:: python
   :caption: one.py

   print("one")

.. code: output

.. code-block:: text

   one

A literal block::

   unmarked

.. note::

   .. code-block:: python

      print("nested and unmarked")

.. code: shell

.. code-block:: console

   $ ls
"""

MD = """\
# Title

<!-- code: script name=two.py -->
```python
print("two")
```

```sh
unmarked
```

<!-- code: output -->
Some text between a marker and its block.

```text
two
```
"""


def test_rst(tmp_path: Path) -> None:
    path = tmp_path / "page.rst"
    path.write_text(RST)
    doc = parse(path)
    assert [(b.role, b.language, b.name) for b in doc.blocks] == [
        ("script", "python", "one.py"),
        ("output", "text", ""),
        ("", "literal", ""),
        ("", "python", ""),
        ("shell", "console", ""),
    ]
    script = doc.blocks[0]
    assert script.text == 'print("one")\n'
    assert script.options == {"status": "2"}
    assert script.line == 9
    assert doc.problems == [
        "page.rst:19: a code block without a marker",
        "page.rst:25: a code block without a marker",
    ]
    assert check([doc]) == doc.problems
    assert [o.text for o in script.outputs] == ["one\n"]


def test_markdown(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text(MD)
    doc = parse(path)
    assert [(b.role, b.language, b.name) for b in doc.blocks] == [
        ("script", "python", "two.py"),
        ("", "sh", ""),
        ("", "text", ""),
    ]
    assert doc.problems == [
        "README.md:9: a code block without a marker",
        "README.md:12: marker not followed by a block",
        "README.md:16: a code block without a marker",
    ]


def test_the_checks_across_documents(tmp_path: Path) -> None:
    first = tmp_path / "a.rst"
    first.write_text(
        ".. code: output\n\n.. code-block:: text\n\n   orphan\n\n"
        ".. code: script\n\n.. code-block:: python\n\n   pass\n\n"
        ".. code: client server=later.py\n\n.. code-block:: python\n"
        "   :caption: c.py\n\n   pass\n\n"
        ".. code: server\n\n.. code-block:: python\n   :caption: later.py\n\n   pass\n\n"
        ".. code: unknown\n\n::\n\n   x\n"
    )
    second = tmp_path / "b.md"
    second.write_text("<!-- code: script name=c.py -->\n```sh\npass\n```\n")
    problems = check([parse(first), parse(second)])
    assert problems == [
        "a.rst:31: unknown role in marker 'unknown'",
        "a.rst:5: output follows no script or client",
        "a.rst:11: a script block needs a file name",
        "a.rst:18: client of an unknown (or later) server",
        "a.rst:25: a server needs port=N",
        "b.md:3: a script block should be python",
        "b.md:3: c.py is also a.rst:18",
    ]
