"""Waiting for the desktop client's network thread to say something, in tests."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import TypeVar

from guigui.client.updates import Update

PATIENCE = 60.0
"""Seconds a test waits for an update before it fails (generous: a loaded CI machine)."""

Wanted = TypeVar("Wanted")


def next_update(
    updates: queue.Queue[Update], kind: type[Wanted], test: Callable[[Wanted], bool] = bool
) -> Wanted:
    """The next update of ``kind`` that passes ``test`` (the others are skipped)."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        try:
            update = updates.get(timeout=0.5)
        except queue.Empty:
            continue
        if isinstance(update, kind) and test(update):
            return update
    raise AssertionError(f"no {kind.__name__} came")
