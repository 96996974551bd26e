"""The MySQL/MariaDB store (database ``sae_r309``), on PyMySQL.

URL: ``mysql://USER:PASSWORD@HOST:PORT/DATABASE``, or with a unix socket
``mysql://USER:PASSWORD@localhost/DATABASE?unix_socket=/run/mysqld/mysqld.sock``.

The database may go away (restarted, network cut). The store then fails fast
instead of hanging: a call that finds the connection broken raises
``StoreUnavailable`` (the server answers ``ERROR unavailable``), and the next
calls try to reconnect, at most once per backoff delay (0.5 s doubling to 8 s),
failing at once in between. A transaction that failed is rolled back or never
committed, so nothing is acknowledged that is not stored; if the connection
dies during COMMIT itself the outcome is unknown, which is why clients resend
with the same ``nonce``: the store then returns the message stored the first time.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, cast
from urllib.parse import parse_qs, unquote, urlsplit

import pymysql
import pymysql.constants.CLIENT
import pymysql.cursors

from guigui.server.store.base import StoreError, StoreUnavailable
from guigui.server.store.relational import (
    Cursor,
    Execute,
    IntegrityViolation,
    RelationalStore,
    TableInfo,
    quote_name,
    single_row,
)

if TYPE_CHECKING:
    MySQLConnection: TypeAlias = pymysql.connections.Connection[Any]
else:  # PyMySQL's Connection is generic in its type stubs only.
    MySQLConnection: TypeAlias = pymysql.connections.Connection

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3
IO_TIMEOUT = 10
FIRST_RETRY_DELAY, MAX_RETRY_DELAY = 0.5, 8.0
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_]{1,64}$")

# Driver errors that mean "the server or the link is gone", not "your SQL is wrong".
_CONNECTION_ERRORS = (pymysql.err.OperationalError, pymysql.err.InterfaceError, OSError)
# ...except this one, which PyMySQL files under OperationalError: a CHECK
# constraint failed, a fault of the row written, not of the link.
_CHECK_FAILED = 4025  # ER_CONSTRAINT_FAILED


def _is_check_failure(error: BaseException) -> bool:
    return isinstance(error, pymysql.err.OperationalError) and error.args[:1] == (_CHECK_FAILED,)


@dataclass(frozen=True)
class MySQLSettings:
    """Where and as whom to connect, parsed from a ``mysql://`` URL."""

    user: str
    password: str
    host: str
    port: int
    database: str
    unix_socket: str | None = None

    @classmethod
    def from_url(cls, url: str) -> MySQLSettings:
        """Parse ``mysql://USER:PASSWORD@HOST:PORT/DATABASE[?unix_socket=PATH]``."""
        parts = urlsplit(url)
        if parts.scheme != "mysql":
            raise ValueError(f"not a MySQL URL: {url!r}")
        database = parts.path.lstrip("/")
        if not _IDENTIFIER.match(database):
            raise ValueError(
                f"a MySQL URL names its database, as in mysql://user:pw@host:3306/sae_r309: {url!r}"
            )
        socket_path = parse_qs(parts.query).get("unix_socket", [None])[0]
        return cls(
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            host=parts.hostname or "localhost",
            port=parts.port or 3306,
            database=database,
            unix_socket=socket_path,
        )

    def connect(self, *, with_database: bool = True) -> MySQLConnection:
        """A new connection (utf8mb4, autocommit off, bounded timeouts, rows matched).

        ``FOUND_ROWS``: an UPDATE's ``rowcount`` is the number of rows its
        WHERE matched, as in SQLite, not MariaDB's default, the rows whose
        values it changed (an UPDATE writing the values a row already holds
        would count 0, "not found"). The shared SQL relies on it
        (``guigui.server.store.relational.Cursor.rowcount``).
        """
        return pymysql.connect(
            user=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            unix_socket=self.unix_socket,
            database=self.database if with_database else None,
            charset="utf8mb4",
            autocommit=False,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=IO_TIMEOUT,
            write_timeout=IO_TIMEOUT,
            client_flag=pymysql.constants.CLIENT.FOUND_ROWS,
        )


class MySQLStore(RelationalStore):
    """``Store`` on a MySQL or MariaDB database, reconnecting with backoff."""

    DIALECT = "mysql"
    INSERT_IGNORE = "INSERT IGNORE"

    def __init__(self, url: str) -> None:
        self.settings = MySQLSettings.from_url(url)
        self._db: MySQLConnection | None = None
        self._retry_at = 0.0
        self._retry_delay = FIRST_RETRY_DELAY
        try:
            self._db = self.settings.connect()
        except pymysql.err.MySQLError as error:
            raise StoreError(f"cannot connect to MySQL at {self._where()}: {error}") from error

    def _where(self) -> str:
        settings = self.settings
        place = settings.unix_socket or f"{settings.host}:{settings.port}"
        return f"{settings.user}@{place}/{settings.database}"

    # ---- the connection and its failures ---------------------------------------

    def _connection(self) -> MySQLConnection:
        """The live connection, reconnecting if due; ``StoreUnavailable`` otherwise."""
        if self._db is not None:
            return self._db
        now = time.monotonic()
        if now < self._retry_at:
            raise StoreUnavailable(
                f"the database is unreachable; next attempt in {self._retry_at - now:.1f} s"
            )
        try:
            self._db = self.settings.connect()
        except pymysql.err.MySQLError as error:
            self._retry_at = now + self._retry_delay
            log.warning(
                "database %s still unreachable (%s); retrying in %.1f s",
                self._where(),
                error,
                self._retry_delay,
            )
            self._retry_delay = min(self._retry_delay * 2, MAX_RETRY_DELAY)
            raise StoreUnavailable(f"the database is unreachable: {error}") from error
        log.warning("database %s reachable again", self._where())
        self._retry_delay = FIRST_RETRY_DELAY
        return self._db

    def _lost(self, error: BaseException) -> StoreUnavailable:
        """Drop a broken connection; the next call reconnects."""
        if self._db is not None:
            log.error("lost the database connection to %s: %s", self._where(), error)
            with suppress(Exception):
                self._db.close()
        self._db = None
        self._retry_at = 0.0
        return StoreUnavailable(f"the database connection was lost: {error}")

    def _executor(self, cursor: pymysql.cursors.DictCursor) -> Execute:
        """Run qmark-style SQL through PyMySQL, whose placeholder is ``%s``.

        The cursor is a ``DictCursor``: each row a dict keyed by column name.
        """

        def execute(sql: str, params: Sequence[Any] = ()) -> Cursor:
            # No values: pass None, so that PyMySQL leaves any '%' in the SQL alone.
            cursor.execute(sql.replace("?", "%s"), tuple(params) or None)
            return cast(Cursor, cursor)

        return execute

    @contextmanager
    def _transaction(self) -> Iterator[Execute]:
        db = self._connection()
        try:
            with db.cursor(pymysql.cursors.DictCursor) as cursor:
                yield self._executor(cursor)
            db.commit()
        except BaseException as error:
            if isinstance(error, _CONNECTION_ERRORS) and not _is_check_failure(error):
                raise self._lost(error) from error
            with suppress(Exception):
                db.rollback()
            if isinstance(error, pymysql.err.IntegrityError) or _is_check_failure(error):
                raise IntegrityViolation(str(error)) from error
            if isinstance(error, pymysql.err.MySQLError):
                raise StoreError(f"database write failed: {error}") from error
            raise

    @contextmanager
    def _reading(self) -> Iterator[Execute]:
        db = self._connection()
        try:
            with db.cursor(pymysql.cursors.DictCursor) as cursor:
                yield self._executor(cursor)
            db.commit()  # end the read's snapshot so the next read sees new rows
        except _CONNECTION_ERRORS as error:
            raise self._lost(error) from error
        except pymysql.err.MySQLError as error:
            raise StoreError(f"database read failed: {error}") from error

    def _create_schema_version_table(self, execute: Execute) -> None:
        execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL PRIMARY KEY,"
            " name VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL)"
            " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
        )

    # ---- backups (guigui.server.store.backup) --------------------------------

    @contextmanager
    def consistent_read(self) -> Iterator[Execute]:
        """``START TRANSACTION WITH CONSISTENT SNAPSHOT``: InnoDB's snapshot, no lock taken.

        The server keeps writing meanwhile; the reads see none of it.
        """
        with self._reading() as execute:
            execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            yield execute

    def describe_tables(self, execute: Execute) -> list[TableInfo]:
        """The base tables of this database, from ``information_schema``."""
        in_database = "TABLE_SCHEMA = DATABASE()"
        names = [
            _text(row["table_name"])
            for row in execute(
                "SELECT TABLE_NAME AS table_name FROM information_schema.TABLES"
                f" WHERE {in_database} AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME"
            ).fetchall()
        ]
        columns: dict[str, list[str]] = {name: [] for name in names}
        for row in execute(
            "SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name"
            f" FROM information_schema.COLUMNS WHERE {in_database}"
            " ORDER BY TABLE_NAME, ORDINAL_POSITION"
        ).fetchall():
            columns.setdefault(_text(row["table_name"]), []).append(_text(row["column_name"]))
        keys: dict[str, list[str]] = {name: [] for name in names}
        for row in execute(
            "SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name"
            f" FROM information_schema.KEY_COLUMN_USAGE WHERE {in_database}"
            " AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY TABLE_NAME, ORDINAL_POSITION"
        ).fetchall():
            keys.setdefault(_text(row["table_name"]), []).append(_text(row["column_name"]))
        references: dict[str, set[str]] = {name: set() for name in names}
        for row in execute(
            "SELECT TABLE_NAME AS table_name, REFERENCED_TABLE_NAME AS referenced"
            f" FROM information_schema.KEY_COLUMN_USAGE WHERE {in_database}"
            " AND REFERENCED_TABLE_NAME IS NOT NULL"
        ).fetchall():
            references.setdefault(_text(row["table_name"]), set()).add(_text(row["referenced"]))
        return [
            TableInfo(
                name,
                tuple(columns[name]),
                tuple(keys[name]),
                frozenset(references[name] - {name}),
            )
            for name in names
        ]

    def reset_counters(self, tables: Sequence[TableInfo]) -> None:
        """Set each AUTO_INCREMENT counter to the table's highest id plus one.

        InnoDB already moves a counter past an id inserted explicitly; this also
        brings it back down after rows were replaced (restore --force). An
        ``ALTER TABLE`` commits by itself: it runs after the restore's commit.
        """
        wanted = {table.name for table in tables}
        with self._reading() as execute:
            counted = [
                (_text(row["table_name"]), _text(row["column_name"]))
                for row in execute(
                    "SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name"
                    " FROM information_schema.COLUMNS"
                    " WHERE TABLE_SCHEMA = DATABASE() AND EXTRA LIKE '%auto_increment%'"
                ).fetchall()
            ]
        for table, column in counted:
            if table not in wanted:
                continue
            with self._transaction() as execute:
                row = single_row(
                    execute(
                        f"SELECT COALESCE(MAX({quote_name(column)}), 0) + 1 AS next_id"
                        f" FROM {quote_name(table)}"
                    )
                )
                execute(
                    f"ALTER TABLE {quote_name(table)} AUTO_INCREMENT = ?", (int(row["next_id"]),)
                )

    def close(self) -> None:
        """Close the connection."""
        if self._db is not None:
            with suppress(Exception):
                self._db.close()
            self._db = None


def _text(value: Any) -> str:
    """A name read from ``information_schema`` (some servers send these as bytes)."""
    return value.decode("utf-8") if isinstance(value, bytes | bytearray) else str(value)


def quote_identifier(name: str) -> str:
    """A database or user name checked and back-quoted (identifiers cannot be bound)."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f"`{name}`"
