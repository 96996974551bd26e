"""Personal data, as the GDPR asks: retention of messages, export and erasure of an account.

Three duties of a company that keeps its employees' messages, each run where
the server's rules say: decisions on the loop thread, database work on the
store worker.

- ``MessageRetention``: with ``message_retention_days`` set (off by default),
  every hour the store worker deletes the messages older than that, in small
  transactions (``Store.delete_messages_before``); each purge that deletes
  something is logged and written to the audit log as ``(retention)``.
- ``PersonalData.export``: everything kept about one user, as JSON values,
  for an admin to hand over (``Store.export_user``); audited.
- ``PersonalData.erase``: an account's personal data deleted, its messages kept
  under the placeholder ``deleted#ID`` so that the others' conversations keep
  their sense (``Store.erase_user``); its sessions are closed first and nobody
  can log in as it from that moment; audited.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guigui.server.clock import now_ms
from guigui.server.handoff import Done, Outcome
from guigui.server.store import Store, UserRecord
from guigui.server.store.base import ERASED_LOGIN_PREFIX, erased_user

if TYPE_CHECKING:
    from guigui.server.chat_server import ChatServer

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

    def __init__(self, server: ChatServer, days: int) -> None:
        self.server = server
        self.days = days

    def start(self) -> None:
        """Schedule the first purge; call before the loop runs, or on the loop thread."""
        self.server.loop.call_later(FIRST_PURGE_DELAY, self.purge)
        log.info("retention: messages older than %d days are deleted every hour", self.days)

    def purge(self) -> None:
        """Have the store worker delete what is too old, then schedule the next purge."""
        days = self.days
        cutoff = now_ms() - days * DAY_MS

        def delete(store: Store) -> int:
            deleted = store.delete_messages_before(cutoff)
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
            if not self.server.stopping:
                self.server.loop.call_later(PURGE_INTERVAL, self.purge)

        self.server.store_worker.submit(delete, deleted)


class PersonalData:
    """An admin's export and erasure of one user's data (loop thread only)."""

    def __init__(self, server: ChatServer) -> None:
        self.server = server

    def _user(self, login: str) -> UserRecord:
        user = self.server.users.find(login)
        if user is None or user.login.startswith(ERASED_LOGIN_PREFIX):
            raise LookupError(f"no user named {login!r}")
        return user

    def export(self, login: str, admin: str, done: Done[dict[str, Any]]) -> None:
        """Everything kept about the user, for ``done``; written to the audit log."""
        user = self._user(login)

        def read(store: Store) -> dict[str, Any]:
            data = store.export_user(user.id)
            store.add_audit(admin, "export", user.login, "personal data", now_ms())
            return data

        self.server.store_worker.submit(read, done)

    def erase(self, login: str, admin: str, done: Done[str]) -> None:
        """Delete the account's personal data; ``done`` gets its placeholder login.

        From this call on, the login is no longer known (nobody logs in as it)
        and the account's live sessions are closed; its rooms and requests are
        forgotten once the store has erased it. If the store fails, the account
        is put back as it was.
        """
        server = self.server
        user = self._user(login)
        server.users.replace(erased_user(user.id, user.created_at))
        for connection in list(server.connections):
            if connection.user is not None and connection.user.id == user.id:
                connection.close_after_flush("account deleted by an admin")

        def erase(store: Store) -> str:
            erased_login = store.erase_user(user.id)
            store.add_audit(admin, "erase", user.login, erased_login, now_ms())
            return erased_login

        def erased(outcome: Outcome[str]) -> None:
            if isinstance(outcome, BaseException):
                server.users.replace(user)
                done(outcome)
                return
            server.rooms.forget_user(user.id)
            log.info("%s erased the account %s (now %s)", admin, user.login, outcome)
            done(outcome)

        server.store_worker.submit(erase, erased)


def export_json(data: dict[str, Any]) -> str:
    """An export as the admin reads it: indented JSON, accents as they are."""
    return json.dumps(data, ensure_ascii=False, indent=2)


def write_export(data: dict[str, Any], path: Path) -> None:
    """Write an export to ``path``, readable by its owner only from its first byte.

    The file is created with mode 0600 (not written, then restricted: another
    user could open it in between); an existing file is replaced.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its mode through O_CREAT
    with open(descriptor, "w", encoding="utf-8") as file:
        file.write(export_json(data) + "\n")
