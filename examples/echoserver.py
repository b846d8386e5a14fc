"""An echo server (TCP, UNIX socket or TLS): the ``read`` handler returns the data.

    python examples/echoserver.py --bind 127.0.0.1:8000
    python examples/echoserver.py --unix /tmp/echo.sock
    python examples/echoserver.py --tls --certfile cert.pem --keyfile key.pem
    python examples/echoserver.py --bind 127.0.0.1:8000 --workers 4

Talk to it with ``nc 127.0.0.1 8000``, ``nc -U /tmp/echo.sock`` or
``openssl s_client -connect 127.0.0.1:8000``.  Stop it with Ctrl-C.

``--workers 4`` runs four worker processes that share the listening socket, under a
supervisor (``trio_circuits.run(make_app, workers=4)``): each worker calls
``make_app``, which reads the same command line, and prints its own "Listening on"
line, prefixed with its index.  ``kill -HUP`` the supervisor to replace the workers
one at a time.
"""

from __future__ import annotations

import argparse
from typing import Any

import trio_circuits
from trio_circuits import Component, Debugger, handler
from trio_circuits.net.sockets import Connection, TCPServer, UNIXServer


class EchoServer(TCPServer):
    """Echo every byte back (socket components mark their handlers explicitly)."""

    @handler("read")
    def _on_read(self, sock: Connection, data: bytes) -> bytes:
        return data


class UNIXEchoServer(UNIXServer):
    """The same on a UNIX socket."""

    @handler("read")
    def _on_read(self, sock: Connection, data: bytes) -> bytes:
        return data


class Announce(Component):
    channel = "server"

    def ready(self, server: Any, bind: tuple[Any, Any]) -> None:
        host, port = bind
        where = host if port is None else f"{host}:{port}"
        print(f"Listening on {where}", flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port (port 0: any)")
    parser.add_argument("--unix", metavar="PATH", help="serve on a UNIX socket instead")
    parser.add_argument("--tls", action="store_true", help="TLS on accept")
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    parser.add_argument("--debug", action="store_true", help="log every event")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    return parser.parse_args()


def make_app() -> Announce:
    """Build the application from the command line (in every worker, too)."""
    args = parse_args()
    app = Announce()
    if args.unix:
        UNIXEchoServer(args.unix).register(app)
    else:
        EchoServer(
            args.bind, secure=args.tls, certfile=args.certfile, keyfile=args.keyfile
        ).register(app)
    if args.debug:
        Debugger().register(app)
    return app


def main() -> None:
    trio_circuits.run(make_app, workers=parse_args().workers)


if __name__ == "__main__":
    main()
