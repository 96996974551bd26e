"""The embedded store: one SQLite file under the data directory.

Settings and why:

- ``journal_mode=WAL``: readers never block the writer, and a commit is one
  append to the write-ahead log.
- ``synchronous=NORMAL``: in WAL mode a commit is durable against a crash of
  the process (the log is written before the commit returns); only a power
  loss may lose the last commits, never corrupt the file.
- ``foreign_keys=ON``: SQLite leaves them off unless asked.

Only the store worker thread uses the connection (``check_same_thread=False``
allows it to be opened by the thread that starts the server). Every value is
bound as a parameter (``?``), never formatted into SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from guigui.common.protocol import RoomAccess, SanctionKind
from guigui.common.validation import email_key, login_key
from guigui.server.clock import now_ms
from guigui.server.store.base import (
    AccessRequestRecord,
    AdminRecord,
    AuditRecord,
    DuplicateKey,
    RoomRecord,
    SanctionRecord,
    Snapshot,
    StoredMessage,
    StoreError,
    UserRecord,
)
from guigui.server.store.migrations import load_migrations

T = TypeVar("T")

_MESSAGE_COLUMNS = "id, room_id, sender_id, recipient_id, text, ts, nonce"
_SANCTION_COLUMNS = (
    "id, kind, login, ip, until, reason, created_at, created_by, lifted_at, lifted_by"
)


def _message(row: Sequence[Any]) -> StoredMessage:
    return StoredMessage(*row)


def _sanction(row: Sequence[Any]) -> SanctionRecord:
    return SanctionRecord(row[0], SanctionKind(row[1]), *row[2:])


class SQLiteStore:
    """``Store`` on one SQLite database file."""

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

    # ---- plumbing ------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN ... COMMIT, or ROLLBACK and ``StoreError``: nothing half-written."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise StoreError(f"database unavailable: {error}") from error
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException as error:
            with suppress(sqlite3.Error):  # SQLite may have rolled back by itself already
                self._db.execute("ROLLBACK")
            if isinstance(error, sqlite3.IntegrityError):
                raise
            if isinstance(error, sqlite3.Error):
                raise StoreError(f"database write failed: {error}") from error
            raise

    def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return query(self._db)
        except sqlite3.Error as error:
            raise StoreError(f"database read failed: {error}") from error

    # ---- schema --------------------------------------------------------------

    def migrate(self) -> None:
        """Apply the migrations not applied yet, each in its own transaction."""
        migrations = load_migrations("sqlite")
        with self._transaction() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_version"
                " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
            )
        applied = {row[0] for row in self._db.execute("SELECT version FROM schema_version")}
        for migration in migrations:
            if migration.version in applied:
                continue
            with self._transaction() as db:
                for statement in migration.statements:
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, now_ms()),
                )

    def schema_version(self) -> int:
        """The highest migration applied (0 before any)."""
        row = self._read(
            lambda db: db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        )
        return int(row[0] or 0)

    # ---- snapshot ------------------------------------------------------------

    def load_snapshot(self, now: int) -> Snapshot:
        """Users, rooms, memberships, pending requests, sanctions in force, last message id."""

        def query(db: sqlite3.Connection) -> Snapshot:
            users = [
                UserRecord(*row)
                for row in db.execute(
                    "SELECT id, login, first_name, last_name, email, password_hash, created_at"
                    " FROM users ORDER BY id"
                )
            ]
            rooms = [
                RoomRecord(row[0], row[1], RoomAccess(row[2]))
                for row in db.execute("SELECT id, name, access FROM rooms ORDER BY position, id")
            ]
            memberships = [
                (row[0], row[1]) for row in db.execute("SELECT user_id, room_id FROM memberships")
            ]
            pending = [
                AccessRequestRecord(*row)
                for row in db.execute(
                    "SELECT id, user_id, room_id, state, created_at, decided_at, decided_by"
                    " FROM access_requests WHERE state = 'pending' ORDER BY id"
                )
            ]
            sanctions = [
                _sanction(row)
                for row in db.execute(
                    f"SELECT {_SANCTION_COLUMNS} FROM sanctions"
                    " WHERE lifted_at IS NULL AND (until IS NULL OR until > ?) ORDER BY id",
                    (now,),
                )
            ]
            last = db.execute("SELECT MAX(id) FROM messages").fetchone()[0] or 0
            return Snapshot(users, rooms, memberships, pending, sanctions, last)

        return self._read(query)

    # ---- users and rooms -----------------------------------------------------

    def create_user(
        self,
        login: str,
        first_name: str,
        last_name: str,
        email: str,
        password_hash: bytes,
        created_at: int,
        arrival_room_id: int,
    ) -> UserRecord:
        """Insert the user and its membership of the arrival room in one transaction."""
        try:
            with self._transaction() as db:
                cursor = db.execute(
                    "INSERT INTO users (login, login_key, email, email_key, first_name,"
                    " last_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        login,
                        login_key(login),
                        email,
                        email_key(email),
                        first_name,
                        last_name,
                        password_hash,
                        created_at,
                    ),
                )
                user_id = int(cursor.lastrowid or 0)
                db.execute(
                    "INSERT INTO memberships (user_id, room_id, joined_at) VALUES (?, ?, ?)",
                    (user_id, arrival_room_id, created_at),
                )
        except sqlite3.IntegrityError as error:
            raise DuplicateKey("email" if "email" in str(error) else "login") from error
        return UserRecord(user_id, login, first_name, last_name, email, password_hash, created_at)

    def add_membership(self, user_id: int, room_id: int) -> None:
        """Make the user a member (no error if already one)."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO memberships (user_id, room_id, joined_at) VALUES (?, ?, ?)",
                (user_id, room_id, now_ms()),
            )

    def remove_membership(self, user_id: int, room_id: int) -> None:
        """Remove the membership (no error if there is none)."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM memberships WHERE user_id = ? AND room_id = ?", (user_id, room_id)
            )

    def create_access_request(self, user_id: int, room_id: int, created_at: int) -> int:
        """Record a pending request and return its id."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO access_requests (user_id, room_id, state, created_at)"
                " VALUES (?, ?, 'pending', ?)",
                (user_id, room_id, created_at),
            )
            return int(cursor.lastrowid or 0)

    def decide_access_request(
        self, request_id: int, granted: bool, decided_by: str, decided_at: int
    ) -> None:
        """Mark the request decided; when granted, add the membership in the same transaction."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT user_id, room_id FROM access_requests WHERE id = ? AND state = 'pending'",
                (request_id,),
            ).fetchone()
            if row is None:
                raise LookupError(f"no pending access request #{request_id}")
            db.execute(
                "UPDATE access_requests SET state = ?, decided_at = ?, decided_by = ? WHERE id = ?",
                ("granted" if granted else "refused", decided_at, decided_by, request_id),
            )
            if granted:
                db.execute(
                    "INSERT OR IGNORE INTO memberships (user_id, room_id, joined_at)"
                    " VALUES (?, ?, ?)",
                    (row[0], row[1], decided_at),
                )

    # ---- messages ------------------------------------------------------------

    def save_messages(self, messages: Sequence[StoredMessage]) -> list[StoredMessage]:
        """Store the batch in one transaction; a repeated (sender, nonce) gives the first one."""
        stored: list[StoredMessage] = []
        with self._transaction() as db:
            for message in messages:
                cursor = db.execute(
                    f"INSERT OR IGNORE INTO messages ({_MESSAGE_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        message.id,
                        message.room_id,
                        message.sender_id,
                        message.recipient_id,
                        message.text,
                        message.ts,
                        message.nonce,
                    ),
                )
                if cursor.rowcount == 1:
                    stored.append(message)
                    continue
                row = db.execute(
                    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE sender_id = ? AND nonce = ?",
                    (message.sender_id, message.nonce),
                ).fetchone()
                if row is None:  # ignored for another reason: the id is taken
                    raise StoreError(f"message id {message.id} is already used")
                stored.append(_message(row))
        return stored

    def room_history(self, room_id: int, before: int | None, limit: int) -> list[StoredMessage]:
        """The newest ``limit`` messages of the room older than ``before``, oldest first."""
        bound = before if before is not None else 2**63 - 1

        def query(db: sqlite3.Connection) -> list[StoredMessage]:
            rows = db.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages"
                " WHERE room_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                (room_id, bound, limit),
            ).fetchall()
            return [_message(row) for row in reversed(rows)]

        return self._read(query)

    def direct_history(
        self, user_id: int, other_id: int, before: int | None, limit: int
    ) -> list[StoredMessage]:
        """The newest ``limit`` direct messages between two users, oldest first.

        Each direction is an index range on (sender_id, recipient_id, id); the
        two limited ranges are merged, then limited again.
        """
        bound = before if before is not None else 2**63 - 1
        one_way = (
            f"SELECT {_MESSAGE_COLUMNS} FROM messages"
            " WHERE sender_id = ? AND recipient_id = ? AND id < ? ORDER BY id DESC LIMIT ?"
        )
        directions = [(user_id, other_id)]
        if other_id != user_id:
            directions.append((other_id, user_id))

        def query(db: sqlite3.Connection) -> list[StoredMessage]:
            rows: list[Any] = []
            for sender, recipient in directions:
                rows += db.execute(one_way, (sender, recipient, bound, limit)).fetchall()
            rows.sort(key=lambda row: row[0])
            return [_message(row) for row in rows[-limit:]]

        return self._read(query)

    # ---- tokens --------------------------------------------------------------

    def save_token(self, token_hash: bytes, user_id: int, created_at: int, expires_at: int) -> None:
        """Remember a token by its hash."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO tokens (token_hash, user_id, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (token_hash, user_id, created_at, expires_at),
            )

    def find_token(self, token_hash: bytes, now: int) -> int | None:
        """The user of a valid token (known, not revoked, not expired)."""
        row = self._read(
            lambda db: db.execute(
                "SELECT user_id FROM tokens"
                " WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ?",
                (token_hash, now),
            ).fetchone()
        )
        return None if row is None else int(row[0])

    def revoke_token(self, token_hash: bytes, revoked_at: int) -> None:
        """Revoke a token (no error if unknown)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                (revoked_at, token_hash),
            )

    # ---- sanctions -----------------------------------------------------------

    def add_sanction(
        self,
        kind: SanctionKind,
        login: str | None,
        ip: str | None,
        until: int | None,
        reason: str,
        created_at: int,
        created_by: str,
    ) -> SanctionRecord:
        """Record a sanction and return it with its id."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO sanctions (kind, login, ip, until, reason, created_at, created_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (str(kind), login, ip, until, reason, created_at, created_by),
            )
            sanction_id = int(cursor.lastrowid or 0)
        return SanctionRecord(sanction_id, kind, login, ip, until, reason, created_at, created_by)

    def lift_sanction(self, sanction_id: int, lifted_at: int, lifted_by: str) -> None:
        """Mark a sanction lifted."""
        with self._transaction() as db:
            db.execute(
                "UPDATE sanctions SET lifted_at = ?, lifted_by = ? WHERE id = ?",
                (lifted_at, lifted_by, sanction_id),
            )

    # ---- connection log ------------------------------------------------------

    def log_connection_start(self, user_id: int, login: str, ip: str, started_at: int) -> int:
        """Record a session's start; returns the row id."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO connection_log (user_id, login, ip, started_at) VALUES (?, ?, ?, ?)",
                (user_id, login, ip, started_at),
            )
            return int(cursor.lastrowid or 0)

    def log_connection_end(self, log_id: int, ended_at: int) -> None:
        """Record a session's end."""
        with self._transaction() as db:
            db.execute("UPDATE connection_log SET ended_at = ? WHERE id = ?", (ended_at, log_id))

    def connection_log(self, limit: int) -> list[tuple[str, str, int, int | None]]:
        """The newest ``limit`` sessions as (login, ip, started_at, ended_at), newest first."""
        return self._read(
            lambda db: db.execute(
                "SELECT login, ip, started_at, ended_at FROM connection_log"
                " ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        )

    # ---- admins --------------------------------------------------------------

    def create_admin(self, login: str, password_hash: bytes, created_at: int) -> AdminRecord:
        """Create an admin account; ``DuplicateKey("login")`` if it exists."""
        try:
            with self._transaction() as db:
                cursor = db.execute(
                    "INSERT INTO admins (login, login_key, password_hash, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (login, login_key(login), password_hash, created_at),
                )
                admin_id = int(cursor.lastrowid or 0)
        except sqlite3.IntegrityError as error:
            raise DuplicateKey("login") from error
        return AdminRecord(admin_id, login, password_hash, created_at)

    def find_admin(self, login: str) -> AdminRecord | None:
        """The admin account of that login (case-insensitive)."""
        row = self._read(
            lambda db: db.execute(
                "SELECT id, login, password_hash, created_at FROM admins WHERE login_key = ?",
                (login_key(login),),
            ).fetchone()
        )
        return None if row is None else AdminRecord(*row)

    def add_audit(self, admin_login: str, action: str, target: str, details: str, ts: int) -> None:
        """Append a line to the audit log."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO admin_audit (admin_login, action, target, details, ts)"
                " VALUES (?, ?, ?, ?, ?)",
                (admin_login, action, target, details, ts),
            )

    def list_audit(self, limit: int) -> list[AuditRecord]:
        """The newest ``limit`` audit lines, newest first."""
        return self._read(
            lambda db: [
                AuditRecord(*row)
                for row in db.execute(
                    "SELECT id, admin_login, action, target, details, ts FROM admin_audit"
                    " ORDER BY id DESC LIMIT ?",
                    (limit,),
                )
            ]
        )

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()
