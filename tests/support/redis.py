"""A Redis server of the test's own, on a free loopback port.

Tests that stop and restart Redis (an outage, then recovery) start one of
these instead of touching the machine's Redis (127.0.0.1:6379), which other
tests and other processes share. It keeps nothing on disk
(``--save '' --appendonly no``): pub/sub holds no data anyway.

Where ``redis-server`` is not installed, the test is skipped, except in CI
(``CI=true``), where that is a failure: ``.ci/run`` installs it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.missing import missing
from tests.support.ports import free_port

SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class PrivateRedis:
    """One throw-away Redis server: ``start``, ``stop``, ``start`` again on the same port."""

    def __init__(self, directory: Path) -> None:
        if not Path(SERVER).exists():
            missing("redis-server is not installed", ".ci/run installs redis-server")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.port = free_port()
        self.log = directory / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The ``redis://`` URL of this server (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it answers PING."""
        self.process = subprocess.Popen(
            [SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory), "--logfile", str(self.log),
             "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        raise RuntimeError(f"redis-server did not start; see {self.log}") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self, *, crash: bool = False) -> None:
        """Stop the server: cleanly (SIGTERM), or with SIGKILL when ``crash``."""
        if self.process is None:
            return
        if crash:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(30)
        self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A running ``PrivateRedis`` for this test alone, stopped afterwards."""
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()
