"""Wall-clock time as the protocol writes it."""

from __future__ import annotations

import time


def now_ms() -> int:
    """Milliseconds since the Unix epoch, UTC (the protocol's ``ts``)."""
    return time.time_ns() // 1_000_000
