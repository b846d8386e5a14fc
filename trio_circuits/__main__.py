"""``python -m trio_circuits bench``: measure event throughput on this machine."""

from __future__ import annotations

import sys

from ._bench import main as bench_main


def main(argv: list[str] | None = None) -> int:
    """Dispatch the ``python -m trio_circuits`` sub-commands."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print("usage: python -m trio_circuits bench [--n N] [--repeat R]")
        return 0 if args else 2
    if args[0] == "bench":
        return bench_main(args[1:])
    print(f"unknown command {args[0]!r}; try: python -m trio_circuits bench", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
