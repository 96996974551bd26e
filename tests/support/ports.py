"""A free TCP port, for a test server started later (or one that must be down)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on now (the kernel picks it; it may be taken
    again before use, which is rare enough for tests)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
