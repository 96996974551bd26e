"""Rate limits as plain Python: a token bucket, a failure throttle, a sliding window.

Times are seconds from ``time.monotonic()`` passed in by the caller, so the
rules are testable without waiting. Each check returns how long to wait
(0 when allowed); the server turns that into ``ERROR rate_limited`` with
``retry_after_ms``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """``rate`` actions per second on average, ``burst`` at once (rate 0: no limit)."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float) -> float:
        """Use one token: 0 if allowed, else the seconds until one is available."""
        if self.rate <= 0:
            return 0.0
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class FailureThrottle:
    """Failures per key (a login, an IP): free ones, then a lock that doubles each time.

    Attempts still being checked count too: fifty wrong passwords sent at the
    same instant must not all be checked before the first failure is counted.
    While attempts are in flight, a new one may start only if, should they all
    fail, the free failures would not be used up (``started``/``finished``
    bracket each attempt).

    ``strict_in_flight`` False counts the attempts in flight only once the key
    has failed at least once: for an IP, where a whole office behind one NAT
    may log in at the same moment without any failure.
    """

    free_failures: int
    first_lock: float
    max_lock: float
    strict_in_flight: bool = True
    _failures: dict[str, int] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)
    _in_flight: dict[str, int] = field(default_factory=dict)

    def wait(self, key: str, now: float) -> float:
        """Seconds ``key`` must still wait (0 when it may try)."""
        locked = self._locked_until.get(key, 0.0) - now
        if locked > 0:
            return locked
        in_flight, failures = self._in_flight.get(key, 0), self._failures.get(key, 0)
        if not in_flight or not (failures or self.strict_in_flight):
            return 0.0
        if failures + in_flight >= self.free_failures:
            return self.first_lock  # the attempts in flight may use up the free failures
        return 0.0

    def started(self, key: str) -> None:
        """An attempt for ``key`` is being checked."""
        self._in_flight[key] = self._in_flight.get(key, 0) + 1

    def finished(self, key: str) -> None:
        """An attempt started with ``started`` is decided (call before ``failed``/``succeeded``)."""
        count = self._in_flight.get(key, 0) - 1
        if count > 0:
            self._in_flight[key] = count
        else:
            self._in_flight.pop(key, None)

    def failed(self, key: str, now: float) -> float:
        """Count a failure; returns the lock it caused (0 while failures are free)."""
        count = self._failures.get(key, 0) + 1
        self._failures[key] = count
        if count < self.free_failures:
            return 0.0
        lock: float = min(self.first_lock * 2.0 ** (count - self.free_failures), self.max_lock)
        self._locked_until[key] = now + lock
        return lock

    def succeeded(self, key: str) -> None:
        """Forget the failures of ``key``."""
        self._failures.pop(key, None)
        self._locked_until.pop(key, None)


@dataclass
class SlidingWindow:
    """At most ``limit`` events per key in any ``window`` seconds (limit 0: no limit)."""

    limit: int
    window: float
    _events: dict[str, deque[float]] = field(default_factory=dict)

    def hit(self, key: str, now: float) -> float:
        """Record an event: 0 if allowed, else the seconds until one is allowed (not recorded)."""
        if self.limit <= 0:
            return 0.0
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return events[0] + self.window - now
        events.append(now)
        return 0.0
