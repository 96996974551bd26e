"""The embedded store: one SQLite file under the data directory.

Settings and why:

- ``journal_mode=WAL``: readers never block the writer, and a commit is one
  append to the write-ahead log.
- ``synchronous=NORMAL``: in WAL mode a commit is durable against a crash of
  the process (the log is written before the commit returns); only a power
  loss may lose the last commits, never corrupt the file.
- ``foreign_keys=ON``: SQLite leaves them off unless asked.

Only the store worker thread uses the connection (``check_same_thread=False``
lets the thread that starts the server open it). The SQL itself is shared with
the MySQL store (``guigui.server.store.relational``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from guigui.server.store.base import StoreError
from guigui.server.store.relational import Cursor, Execute, IntegrityViolation, RelationalStore


class SQLiteStore(RelationalStore):
    """``Store`` on one SQLite database file."""

    DIALECT = "sqlite"
    INSERT_IGNORE = "INSERT OR IGNORE"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=5.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as error:
            raise StoreError(f"cannot open the database {self.path}: {error}") from error

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._db.execute(sql, params)

    @contextmanager
    def _transaction(self) -> Iterator[Execute]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise StoreError(f"database unavailable: {error}") from error
        try:
            yield self._execute
            self._db.execute("COMMIT")
        except BaseException as error:
            with suppress(sqlite3.Error):  # SQLite may have rolled back by itself already
                self._db.execute("ROLLBACK")
            if isinstance(error, sqlite3.IntegrityError):
                raise IntegrityViolation(str(error)) from error
            if isinstance(error, sqlite3.Error):
                raise StoreError(f"database write failed: {error}") from error
            raise

    @contextmanager
    def _reading(self) -> Iterator[Execute]:
        try:
            yield self._execute
        except sqlite3.Error as error:
            raise StoreError(f"database read failed: {error}") from error

    def _create_schema_version_table(self, execute: Execute) -> None:
        execute(
            "CREATE TABLE IF NOT EXISTS schema_version"
            " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
        )

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()
