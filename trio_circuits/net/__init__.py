"""Networking: the events (:mod:`.events`) and the socket components (:mod:`.sockets`)."""
