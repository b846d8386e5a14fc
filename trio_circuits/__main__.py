"""``python -m trio_circuits``: ``bench`` (event throughput on this machine) and ``serve``
(run an application's factory, in N worker processes if asked)."""

from __future__ import annotations

import argparse
import sys

from ._bench import main as bench_main

USAGE = """\
usage: python -m trio_circuits bench [--n N] [--repeat R]
       python -m trio_circuits serve MODULE:FACTORY [--workers N]
                                         [--reuse-port | --shared-listener]"""


def serve_main(args: list[str]) -> int:
    """``serve MODULE:FACTORY [--workers N] [--reuse-port | --shared-listener]``.

    See :func:`trio_circuits.run`; with neither flag, ``reuse_port`` is its default.
    """
    parser = argparse.ArgumentParser(
        prog="python -m trio_circuits serve",
        description="Run the application that FACTORY builds (a function or a class "
        "returning the root component), in N worker processes sharing its listeners.",
    )
    parser.add_argument("factory", metavar="MODULE:FACTORY", help="e.g. myapp:make_app")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    listen = parser.add_mutually_exclusive_group()
    listen.add_argument(
        "--reuse-port",
        action="store_const",
        const=True,
        dest="reuse_port",
        help="one SO_REUSEPORT listener per worker (the default on Linux)",
    )
    listen.add_argument(
        "--shared-listener",
        action="store_const",
        const=False,
        dest="reuse_port",
        help="one listener all workers accept from (the default elsewhere)",
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
