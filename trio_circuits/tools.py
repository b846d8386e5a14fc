"""Tools for looking at a component tree: listings, graphs, and a few helpers.

* :func:`inspect` -- a text report of a component's children and handlers.
* :func:`graph` -- the tree as ASCII art; also writes ``<name>.dot`` (Graphviz) and,
  where Graphviz's ``dot`` program or matplotlib (the ``graph`` extra) is installed,
  ``<name>.png``.
* :func:`walk`, :func:`edges`, :func:`findroot`, :func:`kill`, :func:`tryimport`,
  :func:`deprecated`, as in circuits' ``circuits.tools``.
"""

from __future__ import annotations

import functools
import importlib
import shutil
import subprocess
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from .core.handlers import reprhandler
from .core.manager import Manager
from .core.utils import findroot

__all__ = [
    "deprecated",
    "edges",
    "findroot",
    "graph",
    "graph_ascii",
    "graph_dot",
    "graph_png",
    "inspect",
    "kill",
    "tryimport",
    "walk",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def tryimport(
    modules: str | Iterable[str], obj: str | None = None, message: str | None = None
) -> Any:
    """The first of ``modules`` that imports (or its attribute ``obj``), else ``None``.

    Args:
        modules: a module name, or names to try in order.
        obj: an attribute to return from the module instead of the module.
        message: a warning to emit (``UserWarning``) when nothing could be imported.
    """
    names = (modules,) if isinstance(modules, str) else tuple(modules)
    for name in names:
        try:
            module = importlib.import_module(name)
            return getattr(module, obj) if obj is not None else module
        except Exception:  # any import-time error means "not available"
            continue
    if message is not None:
        warnings.warn(message, stacklevel=2)
    return None


def walk(
    x: Manager, f: Callable[[int, Manager], T], d: int = 0, v: set[int] | None = None
) -> Iterator[T]:
    """Yield ``f(depth, component)`` for ``x`` and every component below it, depth first."""
    seen = v if v is not None else set()
    yield f(d, x)
    for child in list(x.components):
        if id(child) not in seen:
            seen.add(id(child))
            yield from walk(child, f, d + 1, seen)


def edges(x: Manager) -> set[tuple[Manager, Manager, int]]:
    """Every ``(parent, child, depth)`` link of the tree under ``x`` (depth 1 = x's children)."""
    found: set[tuple[Manager, Manager, int]] = set()
    stack: list[tuple[Manager, int]] = [(x, 1)]
    while stack:
        node, depth = stack.pop()
        for child in list(node.components):
            found.add((node, child, depth))
            stack.append((child, depth + 1))
    return found


def kill(x: Manager) -> None:
    """Unregister ``x``'s whole subtree, bottom up (each component leaves its parent)."""
    for child in list(x.components):
        kill(child)
    if x.parent is not x:
        x.unregister()


def graph_ascii(x: Manager) -> str:
    """The tree under ``x``: one ``* <repr>`` line per component, indented by depth."""
    return "\n".join(walk(x, lambda d, c: f"{' ' * d}* {c!r}"))


def _node_names(x: Manager) -> dict[int, str]:
    """A unique Graphviz node name per component (the class name, numbered if repeated)."""
    names: dict[int, str] = {}
    counts: dict[str, int] = {}
    for component in walk(x, lambda _d, c: c):
        base = component.name
        counts[base] = counts.get(base, 0) + 1
        names[id(component)] = base if counts[base] == 1 else f"{base}_{counts[base]}"
    return names


def graph_dot(x: Manager, name: str | None = None) -> str:
    """Write the tree under ``x`` as a Graphviz digraph to ``<name>.dot``; return the path.

    ``name`` defaults to ``x``'s class name.
    """
    names = _node_names(x)
    lines = [f'digraph "{name or x.name}" {{']
    for component in walk(x, lambda _d, c: c):
        label = repr(component).replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'  "{names[id(component)]}" [label="{label}"];')
    for parent, child, _depth in sorted(
        edges(x), key=lambda e: (e[2], names[id(e[0])], names[id(e[1])])
    ):
        lines.append(f'  "{names[id(parent)]}" -> "{names[id(child)]}";')
    lines.append("}")
    path = f"{name or x.name}.dot"
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    return path


def graph_png(x: Manager, name: str | None = None) -> str | None:
    """Draw the tree under ``x`` to ``<name>.png``; return the path, or ``None``.

    Uses Graphviz's ``dot`` program if it is on ``PATH``, else matplotlib (the
    ``graph`` extra) if it is installed; with neither, writes nothing.
    """
    path = f"{name or x.name}.png"
    dot = shutil.which("dot")
    if dot is not None:
        source = graph_dot(x, name)
        subprocess.run([dot, "-Tpng", source, "-o", path], check=True, capture_output=True)
        return path
    pyplot = tryimport("matplotlib.pyplot")
    if pyplot is None:
        return None
    _draw_with_matplotlib(pyplot, x, path)
    return path


def _draw_with_matplotlib(pyplot: Any, x: Manager, path: str) -> None:
    # A layered drawing: one row per depth, leaves spread evenly along each row.
    rows: dict[int, list[Manager]] = {}
    for depth, component in walk(x, lambda d, c: (d, c)):
        rows.setdefault(depth, []).append(component)
    where: dict[int, tuple[float, float]] = {}
    for depth, members in rows.items():
        for i, component in enumerate(members):
            where[id(component)] = ((i + 1) / (len(members) + 1), -float(depth))
    figure = pyplot.figure(figsize=(8, 1.5 + 1.2 * len(rows)))
    axes = figure.add_subplot(1, 1, 1)
    for parent, child, _depth in edges(x):
        (x0, y0), (x1, y1) = where[id(parent)], where[id(child)]
        axes.plot([x0, x1], [y0, y1], color="grey", linewidth=1)
    for members in rows.values():
        for component in members:
            px, py = where[id(component)]
            axes.text(px, py, component.name, ha="center", va="center", bbox={"fc": "w"})
    axes.set_axis_off()
    figure.savefig(path)
    pyplot.close(figure)


def graph(x: Manager, name: str | None = None) -> str:
    """Write ``<name>.dot`` (and ``<name>.png`` when possible); return the ASCII tree.

    ``name`` defaults to ``x``'s class name.  See :func:`graph_dot` and
    :func:`graph_png`.
    """
    graph_dot(x, name)
    graph_png(x, name)
    return graph_ascii(x)


def inspect(x: Manager) -> str:
    """A text report of ``x``: its children, then its handlers grouped by event name.

    The lines are circuits': `` Components: N``, one line per child, `` Event
    Handlers: N`` (the number of event names handled), then per event name
    ``  <name>; <count>`` followed by one :func:`~trio_circuits.reprhandler` line per
    handler.  Handlers of every event are listed under ``*``.
    """
    out = [f" Components: {len(x.components)}\n"]
    out.extend(f"  {child!r}\n" for child in x.components)
    out.append("\n")
    grouped: dict[str, list[Callable[..., Any]]] = {}
    for fn in x.handlers():
        for event in getattr(fn, "names", ()) or ("*",):
            grouped.setdefault(event, []).append(fn)
    out.append(f" Event Handlers: {len(grouped)}\n")
    for event, fns in grouped.items():
        out.append(f"  {event}; {len(fns)}\n")
        out.extend(f"   {reprhandler(fn)}\n" for fn in fns)
    return "".join(out)


def deprecated(f: F) -> F:
    """Mark ``f`` deprecated: each call emits a ``DeprecationWarning`` naming it."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            f"Call to deprecated function {f.__name__}", DeprecationWarning, stacklevel=2
        )
        return f(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
