"""TLS contexts and handshakes (argument checks happen at construction)."""

from __future__ import annotations

import os
import ssl
from typing import Any

import trio

HANDSHAKE_TIMEOUT = 10.0


def server_context(
    certfile: str | None = None,
    keyfile: str | None = None,
    ca_certs: str | None = None,
    cert_reqs: ssl.VerifyMode | int | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> ssl.SSLContext | None:
    """A server-side context from circuits' arguments, or ``None`` without a certificate.

    Raises ``FileNotFoundError`` for a missing file and ``ssl.SSLError`` for a bad one
    (its message names the file: "cannot load certificate 'x.pem': not PEM").
    """
    if ssl_context is not None:
        if not isinstance(ssl_context, ssl.SSLContext):
            raise TypeError(f"ssl_context must be an ssl.SSLContext, not {ssl_context!r}")
        return ssl_context
    if certfile is None:
        if keyfile is not None or ca_certs is not None:
            raise ValueError("keyfile and ca_certs need a certfile")
        return None
    for path in (certfile, keyfile, ca_certs):
        if path is not None and not os.path.isfile(path):
            raise FileNotFoundError(f"TLS file not found: {path!r}")
    context = _context(ssl.Purpose.CLIENT_AUTH, ca_certs)
    _load_chain(context, certfile, keyfile)
    if cert_reqs is not None:
        context.verify_mode = ssl.VerifyMode(cert_reqs)
    return context


def client_context(
    ca_certs: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
) -> ssl.SSLContext:
    """A client-side context that verifies the server (system CAs or ``ca_certs``)."""
    if ssl_context is not None:
        return ssl_context
    for path in (ca_certs, certfile, keyfile):
        if path is not None and not os.path.isfile(path):
            raise FileNotFoundError(f"TLS file not found: {path!r}")
    context = _context(ssl.Purpose.SERVER_AUTH, ca_certs)
    if certfile is not None:
        _load_chain(context, certfile, keyfile)
    return context


def _why(exc: ssl.SSLError) -> str:
    text = str(exc)
    if "PEM" in text or "NO_START_LINE" in text:
        return "not PEM"
    if "KEY_VALUES_MISMATCH" in text:
        return "the key does not match the certificate"
    return exc.reason.lower().replace("_", " ") if exc.reason else text


def _context(purpose: ssl.Purpose, ca_certs: str | None) -> ssl.SSLContext:
    """A default context, the CA file (if any) loaded: an error names the file."""
    try:
        return ssl.create_default_context(purpose, cafile=ca_certs)
    except ssl.SSLError as exc:
        raise ssl.SSLError(
            ssl.SSL_ERROR_SSL, f"cannot load CA certificates {ca_certs!r}: {_why(exc)}"
        ) from None


def _load_chain(context: ssl.SSLContext, certfile: str, keyfile: str | None) -> None:
    """``load_cert_chain``, with an error that names the file."""
    try:
        context.load_cert_chain(certfile, keyfile)
    except ssl.SSLError as exc:
        key = f" (key {keyfile!r})" if keyfile is not None else ""
        raise ssl.SSLError(
            ssl.SSL_ERROR_SSL, f"cannot load certificate {certfile!r}{key}: {_why(exc)}"
        ) from None


async def handshake(
    stream: trio.abc.Stream,
    context: ssl.SSLContext,
    *,
    server_side: bool,
    server_hostname: str | None = None,
) -> trio.SSLStream[Any]:
    """Wrap ``stream`` in TLS and complete the handshake.

    Raises the ``ssl.SSLError`` behind a broken handshake.  Callers bound it with
    ``trio.fail_after``: a silent peer would otherwise hold it forever.
    Cancellation: the stream is left unusable (close it).
    """
    tls = trio.SSLStream(stream, context, server_side=server_side, server_hostname=server_hostname)
    try:
        await tls.do_handshake()
    except trio.BrokenResourceError as exc:
        if isinstance(exc.__cause__, Exception):
            raise exc.__cause__ from None
        raise
    return tls
