"""Protocols layered on the socket components."""
