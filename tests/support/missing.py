"""What a test does when a real part it needs is missing: skip, except in CI.

Tests use real parts (MariaDB, Xvfb, ngIRCd, PyInstaller, systemd-analyze).
On a developer's machine without one, its tests are skipped, saying what to
install; in CI (``CI=true``) nothing may be skipped: ``.ci/run`` installs and
starts every part, so a missing one is a failure.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(message: str, in_ci: str = ".ci/run installs it") -> NoReturn:
    """Skip the test because ``message`` (what is missing); fail instead in CI, with ``in_ci``."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}: {in_ci}")
    pytest.skip(message)
