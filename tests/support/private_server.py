"""What the tests' throw-away servers share: a process, waited for until ready, stopped or killed.

``PrivateMariaDB`` and ``PrivateRedis`` start their own server on a free
loopback port, so a test may stop it, kill it and start it again without
touching the machine's.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class PrivateServer:
    """A server process of the test's own (``start`` is the subclass's)."""

    name = "the server"
    """How the server is named in a failure."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def wait_until_ready(self, answers: Callable[[], bool], timeout: float, pause: float) -> None:
        """Wait until ``answers()`` holds; fail if the process dies or ``timeout`` passes."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while not answers():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} did not start; see {self.log}")
            time.sleep(pause)

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
