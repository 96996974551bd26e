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
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.missing import missing
from tests.support.ports import free_port
from tests.support.private_server import PrivateServer

SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class PrivateRedis(PrivateServer):
    """One throw-away Redis server: ``start``, ``stop``, ``start`` again on the same port."""

    name = "redis-server"

    def __init__(self, directory: Path) -> None:
        if not Path(SERVER).exists():
            missing("redis-server is not installed", ".ci/run installs redis-server")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.port = free_port()
        super().__init__(directory / "redis.log")

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

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        try:
            self.wait_until_ready(answers, timeout, pause=0.05)
        finally:
            client.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A running ``PrivateRedis`` for this test alone, stopped afterwards."""
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()
