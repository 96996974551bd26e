"""Throttling of failed admin logins, as plain Python."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from guigui.common.validation import login_key

log = logging.getLogger(__name__)

FREE_FAILURES = 3
"""Failed logins allowed before the account is locked for a while."""
MAX_LOCK_SECONDS = 300


class LoginLocked(Exception):
    """Too many failed logins: wait ``remaining`` seconds."""

    def __init__(self, remaining: float) -> None:
        super().__init__(f"too many failed logins: try again in {remaining:.0f} s")
        self.remaining = remaining


@dataclass
class LoginThrottle:
    """Failed admin logins per login: free ones, then a lock that doubles each time."""

    failures: dict[str, int] = field(default_factory=dict)
    locked_until: dict[str, float] = field(default_factory=dict)

    def check(self, login: str) -> None:
        """Raise ``LoginLocked`` while the login is locked."""
        remaining = self.locked_until.get(login_key(login), 0.0) - time.monotonic()
        if remaining > 0:
            raise LoginLocked(remaining)

    def failed(self, login: str) -> None:
        """Count a failure; lock the login once the free ones are used up."""
        key = login_key(login)
        count = self.failures.get(key, 0) + 1
        self.failures[key] = count
        if count >= FREE_FAILURES:
            lock = min(2 ** (count - FREE_FAILURES) * 5, MAX_LOCK_SECONDS)
            self.locked_until[key] = time.monotonic() + lock
            log.warning("admin login %r locked for %d s after %d failures", login, lock, count)

    def succeeded(self, login: str) -> None:
        """Forget the failures of a login."""
        self.failures.pop(login_key(login), None)
        self.locked_until.pop(login_key(login), None)
