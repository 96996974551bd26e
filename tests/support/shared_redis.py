"""The machine's Redis (127.0.0.1:6379), for tests that share it and never stop it.

Each test that uses it takes a channel of its own, so tests never hear each
other. A test that stops and restarts Redis starts a private one instead
(``tests/support/redis.py``). Without Redis, such tests are skipped on a
developer's machine and fail in CI (``.ci/run`` installs and starts it).
"""

from __future__ import annotations

import socket

from tests.support.missing import missing

SHARED_REDIS_URL = "redis://127.0.0.1:6379/0"


def require_shared_redis() -> None:
    """Skip (or fail in CI) unless Redis answers on 127.0.0.1:6379."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as probe:
            probe.sendall(b"PING\r\n")
            answer = probe.recv(16)
    except OSError as error:
        missing(f"Redis is not reachable on 127.0.0.1:6379 ({error})")
    if not answer.startswith(b"+PONG"):
        missing(f"127.0.0.1:6379 does not answer PING like Redis ({answer!r})")
