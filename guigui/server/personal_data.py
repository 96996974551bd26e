"""Personal data, as the GDPR asks: export and erasure of an account.

Two duties of a company that keeps its employees' messages, each run where
the server's rules say: decisions on the loop thread, database work on the
store worker. The third, deleting old messages, is ``guigui/server/retention.py``.

- ``PersonalData.export``: everything kept about one user, as JSON values,
  for an admin to hand over (``Store.export_user``); audited.
- ``PersonalData.erase``: an account's personal data deleted, its messages kept
  under the placeholder ``deleted#ID`` so that the others' conversations keep
  their sense (``Store.erase_user``); its sessions are closed first and nobody
  can log in as it from that moment; the files it sent are deleted, and their
  content removed where no other live file uses it, and so are its unfinished
  uploads; audited.
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
        is put back as it was, but for its files: they are deleted first, in a
        transaction of their own, and stay deleted (an admin erasing an account
        wants them gone; trying again finishes the rest).
        """
        server = self.server
        user = self._user(login)
        server.users.replace(erased_user(user.id, user.created_at))
        for connection in list(server.connections):
            if connection.user is not None and connection.user.id == user.id:
                connection.close_after_flush("account deleted by an admin")

        unused: list[str] = []

        def erase(store: Store) -> str:
            # The files first (their own transaction): should the erasure then
            # fail, the account is intact and its files stay deleted.
            unused.extend(store.delete_files_of(user.id, now_ms()))
            erased_login = store.erase_user(user.id)
            store.add_audit(admin, "erase", user.login, erased_login, now_ms())
            return erased_login

        def erased(outcome: Outcome[str]) -> None:
            if isinstance(outcome, BaseException):
                server.users.replace(user)
                server.files.release(unused, lambda: done(outcome))  # the files stay deleted
                return
            server.rooms.forget_user(user.id)
            server.files.forget_user(user.id)  # its unfinished uploads too
            server.announce.user_changed(user.id)  # the other nodes of a cluster too
            log.info("%s erased the account %s (now %s)", admin, user.login, outcome)
            server.files.release(unused, lambda: done(outcome))

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
