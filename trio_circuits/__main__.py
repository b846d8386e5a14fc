"""``python -m trio_circuits``: ``bench`` (event throughput on this machine) and ``serve``
(run an application's factory, in N worker processes if asked)."""

from __future__ import annotations

import argparse
import sys

from ._bench import main as bench_main

USAGE = """\
usage: python -m trio_circuits bench [--n N] [--repeat R]
       python -m trio_circuits serve MODULE:FACTORY [--workers N] [--reuse-port]"""


def serve_main(args: list[str]) -> int:
    """``serve MODULE:FACTORY [--workers N] [--reuse-port]``: see :func:`trio_circuits.run`."""
    parser = argparse.ArgumentParser(
        prog="python -m trio_circuits serve",
        description="Run the application that FACTORY builds (a function or a class "
        "returning the root component), in N worker processes sharing its listeners.",
    )
    parser.add_argument("factory", metavar="MODULE:FACTORY", help="e.g. myapp:make_app")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--reuse-port",
        action="store_true",
        help="one SO_REUSEPORT listener per worker instead of one shared listener",
    )
    options = parser.parse_args(args)
    if options.workers < 1:
        parser.error("--workers must be at least 1")
    if ":" not in options.factory:
        parser.error(f"expected MODULE:FACTORY, got {options.factory!r}")
    # Imported here: ``bench`` needs none of it.
    from .multicore import run

    run(options.factory, workers=options.workers, reuse_port=options.reuse_port)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Dispatch the ``python -m trio_circuits`` sub-commands."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    if args[0] == "bench":
        return bench_main(args[1:])
    if args[0] == "serve":
        return serve_main(args[1:])
    print(f"unknown command {args[0]!r}\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
