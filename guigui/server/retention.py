"""Retention of messages, as the GDPR asks: old messages deleted every hour.

With ``message_retention_days`` set (off by default), every hour the store
worker deletes the messages older than that, in small transactions
(``Store.delete_messages_before``), then their files
(``Store.delete_files_before``), whose content is removed when no live file
uses it any more (``FileService.release``); each purge that deletes something
is logged and written to the audit log as ``(retention)``.
"""

from __future__ import annotations

import logging
from typing import Any

from guigui.server.clock import now_ms
from guigui.server.files import FileService
from guigui.server.handoff import Outcome
from guigui.server.loop import EventLoop
from guigui.server.store import Store
from guigui.server.workers import StoreWorker

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
PURGE_INTERVAL = 3600.0
"""Seconds between two retention purges."""
FIRST_PURGE_DELAY = 5.0
"""Seconds after the start before the first purge: the clients' reconnections come first."""
RETENTION_AUDITOR = "(retention)"
"""The name retention purges are written under in the audit log."""


class MessageRetention:
    """Deletes the messages older than the retention period, every hour (loop thread)."""

    def __init__(
        self,
        loop: EventLoop,
        store_worker: StoreWorker[Any],
        days: int,
        files: FileService,
    ) -> None:
        self.loop = loop
        self.store_worker = store_worker
        self.days = days
        self.files = files
        """Removes the content of the files deleted."""

    def start(self) -> None:
        """Schedule the first purge; call before the loop runs, or on the loop thread."""
        self.loop.call_later(FIRST_PURGE_DELAY, self.purge)
        log.info("retention: messages older than %d days are deleted every hour", self.days)

    def purge(self) -> None:
        """Have the store worker delete what is too old, then schedule the next purge."""
        days = self.days
        cutoff = now_ms() - days * DAY_MS

        unused: list[str] = []

        def delete(store: Store) -> int:
            deleted = store.delete_messages_before(cutoff)
            unused.extend(store.delete_files_before(cutoff))
            if deleted:
                details = f"older than {days} days"
                store.add_audit(
                    RETENTION_AUDITOR, "purge", f"{deleted} messages", details, now_ms()
                )
            return deleted

        def deleted(outcome: Outcome[int]) -> None:
            if isinstance(outcome, BaseException):
                log.warning("retention: the purge failed (%s); next try in an hour", outcome)
            elif outcome:
                log.info("retention: deleted %d messages older than %d days", outcome, days)
            if unused:
                self.files.release(unused)
            # Rescheduled even while the server stops: the loop ends with its timers.
            self.loop.call_later(PURGE_INTERVAL, self.purge)

        self.store_worker.submit(delete, deleted)
