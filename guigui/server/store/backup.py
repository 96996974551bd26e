"""Backups of the store: one file, taken from either store, restored into either.

``run_server.py backup FILE`` and ``run_server.py restore FILE`` call
``write_backup`` and ``restore_backup``. The file is gzip'd JSON lines:

- line 1, the header: ``{"format": "guigui-backup", "format_version": 1,
  "schema_version": 2, "dialect": "sqlite", "created_at": MS, "tables":
  [{"name": "users", "columns": ["id", "login", ...]}, ...]}``;
- then one line per row, table after table in foreign-key order (a table
  comes after those it refers to): ``{"table": "users", "row": [1, "alice",
  ..., {"base64": "JDJi..."}, ...]}``; the values are in the header's column
  order, bytes (password and token hashes) as ``{"base64": ...}``;
- last, ``{"end": {"users": 3, "rooms": 5, ...}}``: the rows of each table,
  so that a file cut short is recognised as such.

The tables are found in the database's own catalog (``describe_tables``), not
listed here: a table added by a later migration is backed up without a change
to this module. ``schema_version`` is not copied: the header says the version.

The backup is one read transaction on one snapshot (``consistent_read``), so
the server may keep serving; each table is read page by page in primary-key
order, never whole, and written as it is read.

The restore is one transaction: the file is read through once and checked
before the store is touched, then the rows are inserted as they are read
again; any problem rolls everything back and names the line at fault.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from guigui.server.clock import now_ms
from guigui.server.store.base import Store, StoreError
from guigui.server.store.relational import (
    Execute,
    RelationalStore,
    Row,
    TableInfo,
    quote_name,
    single_row,
)

FORMAT = "guigui-backup"
"""The ``format`` field of a backup's header."""

FORMAT_VERSION = 1
"""The version of the file layout this module writes (and the newest it reads)."""

NOT_COPIED = frozenset({"schema_version"})
"""Tables a backup leaves out: the header carries the schema version instead."""

SEEDED_TABLES = frozenset({"rooms", "counters"})
"""Tables the migrations fill themselves: rows there do not make a store "not empty"."""

BOOKKEEPING_TABLES = frozenset({"counters"})
"""Tables nobody writes to but the store (the message id counter follows the messages):
not named among what a restore replaced."""

PAGE_ROWS = 1000
"""Rows read per query while backing up (memory stays bounded whatever the table's size)."""

PARAMETERS_PER_INSERT = 900
"""Values bound per multi-row INSERT while restoring (under old SQLite's limit of 999)."""


class BackupError(StoreError):
    """A backup cannot be written or restored; the message says why (and which line).

    When a restore raises it, the store is as it was.
    """


class TableColumns(msgspec.Struct, frozen=True):
    """A table of the header: its name and its columns, in the order of each row's values."""

    name: str
    columns: list[str]


class BackupHeader(msgspec.Struct, frozen=True):
    """The first line of a backup."""

    format: str
    format_version: int
    schema_version: int
    dialect: str
    created_at: int
    tables: list[TableColumns]


@dataclass
class BackupSummary:
    """What a backup holds, or what a restore did."""

    path: Path
    header: BackupHeader
    rows: dict[str, int]
    """Rows per table, in the file's order."""
    replaced: dict[str, int] = field(default_factory=dict)
    """A restore with ``force``: the rows the store held before, per table (none if empty)."""

    def describe_rows(self) -> str:
        """``users 3, rooms 5, ...``: the rows per table, for a command's output."""
        return ", ".join(f"{table} {count}" for table, count in self.rows.items())


# ---- backing up ---------------------------------------------------------------


def foreign_key_order(tables: Sequence[TableInfo]) -> list[TableInfo]:
    """The tables, each after those its foreign keys refer to (by name where free to choose)."""
    by_name = {table.name: table for table in tables}
    placed: list[TableInfo] = []
    done: set[str] = set()
    waiting = sorted(by_name)
    while waiting:
        ready = [name for name in waiting if by_name[name].references & by_name.keys() <= done]
        if not ready:
            raise BackupError(f"the foreign keys of these tables form a cycle: {waiting}")
        for name in ready:
            placed.append(by_name[name])
            done.add(name)
        waiting = [name for name in waiting if name not in done]
    return placed


def write_backup(store: Store | RelationalStore, path: Path) -> BackupSummary:
    """Write every row of the store into ``path``, from one snapshot.

    The file is written beside as ``path.partial`` and renamed at the end, so
    ``path`` is never a half-written backup.
    """
    relational = _relational(store)
    partial = path.with_name(path.name + ".partial")
    encoder = msgspec.json.Encoder()
    try:
        with relational.consistent_read() as execute, gzip.open(partial, "wb") as out:
            described = relational.describe_tables(execute)
            if "schema_version" not in {table.name for table in described}:
                raise BackupError("the database has no GuiGui tables: nothing to back up")
            tables = foreign_key_order([t for t in described if t.name not in NOT_COPIED])
            version = single_row(execute("SELECT MAX(version) AS version FROM schema_version"))[
                "version"
            ]
            header = BackupHeader(
                FORMAT,
                FORMAT_VERSION,
                int(version or 0),
                relational.DIALECT,
                now_ms(),
                [TableColumns(table.name, list(table.columns)) for table in tables],
            )
            out.write(encoder.encode(header) + b"\n")
            rows: dict[str, int] = {}
            for table in tables:
                count = 0
                for row in _rows_of(execute, table):
                    values = [_encodable(row[column], table, column) for column in table.columns]
                    out.write(encoder.encode({"table": table.name, "row": values}) + b"\n")
                    count += 1
                rows[table.name] = count
            out.write(encoder.encode({"end": rows}) + b"\n")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupSummary(path, header, rows)


def _rows_of(execute: Execute, table: TableInfo) -> Iterator[Row]:
    """The table's rows in primary-key order, one page of ``PAGE_ROWS`` per query."""
    select = f"SELECT {', '.join(map(quote_name, table.columns))} FROM {quote_name(table.name)}"
    if not table.primary_key:  # nothing to page by (none of ours): in one go
        yield from execute(select).fetchall()
        return
    key = ", ".join(map(quote_name, table.primary_key))
    after, last_key = "", list[Any]()
    while True:
        page = execute(f"{select}{after} ORDER BY {key} LIMIT ?", [*last_key, PAGE_ROWS])
        rows = page.fetchall()
        yield from rows
        if len(rows) < PAGE_ROWS:
            return
        last_key = [rows[-1][column] for column in table.primary_key]
        after = f" WHERE ({key}) > ({', '.join('?' * len(table.primary_key))})"


def _encodable(value: Any, table: TableInfo, column: str) -> Any:
    """A value as JSON holds it: bytes as ``{"base64": ...}``, the rest as it is."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if value is None or isinstance(value, int | float | str):
        return value
    raise BackupError(f"{table.name}.{column}: a {type(value).__name__} cannot go in a backup")


# ---- reading a backup -----------------------------------------------------------


class BackupReader:
    """A backup file read line by line, checked as it goes; errors name the line.

    ``header`` is read on opening; ``rows()`` then yields ``(line, table, values)``
    and ends only after the end line matched what was read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        # Closed by close() or the with block: the reader outlives this method.
        self._file = gzip.open(path, "rb")  # noqa: SIM115
        self._line = 0
        try:
            first = self._next()
            if first is None:
                raise self._error("the file is empty: not a GuiGui backup")
            self.header = self._header(first)
        except BaseException:
            self._file.close()
            raise
        self.tables = {table.name: table.columns for table in self.header.tables}

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def __enter__(self) -> BackupReader:
        """The reader itself (closed at the end of the ``with``)."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the file."""
        self.close()

    def _error(self, problem: str, line: int | None = None) -> BackupError:
        return BackupError(f"{self.path}: line {self._line if line is None else line}: {problem}")

    def _next(self) -> bytes | None:
        """The next line, or None at the end; a cut or damaged file is a ``BackupError``."""
        try:
            data = self._file.readline()
        except EOFError:
            raise self._error("the file ends here, cut short (truncated)", self._line + 1) from None
        except (gzip.BadGzipFile, zlib.error, OSError) as error:
            reason = f"not a GuiGui backup, or corrupt: {error}"
            raise self._error(reason, self._line + 1) from None
        if not data:
            return None
        self._line += 1
        if not data.endswith(b"\n"):
            raise self._error("the line is cut short (truncated file)")
        return data

    def _decode(self, data: bytes) -> Any:
        try:
            return msgspec.json.decode(data)
        except msgspec.DecodeError as error:
            raise self._error(f"not valid JSON ({error}): the file is corrupt") from None

    def _header(self, data: bytes) -> BackupHeader:
        loose = self._decode(data)
        if not isinstance(loose, dict) or loose.get("format") != FORMAT:
            raise self._error("no GuiGui backup header: not a backup made by run_server.py backup")
        version = loose.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise self._error(
                f"backup format {version!r} is newer than this GuiGui reads ({FORMAT_VERSION}):"
                " restore it with the GuiGui version that wrote it, or a newer one"
            )
        try:
            return msgspec.convert(loose, BackupHeader)
        except msgspec.ValidationError as error:
            raise self._error(f"bad header: {error}") from None

    def rows(self) -> Iterator[tuple[int, str, list[Any]]]:
        """Every row as ``(line number, table, values)``, checked; then the end line."""
        order = list(self.tables)
        counts = dict.fromkeys(order, 0)
        current = 0
        while (data := self._next()) is not None:
            line = self._decode(data)
            if isinstance(line, dict) and set(line) == {"end"}:
                self._check_end(line["end"], counts)
                return
            if not isinstance(line, dict) or set(line) != {"table", "row"}:
                raise self._error('expected {"table": ..., "row": [...]} or the end line')
            table, values = line["table"], line["row"]
            if table not in self.tables:
                raise self._error(f"table {table!r} is not in the header")
            position = order.index(table)
            if position < current:
                raise self._error(f"a row of {table} after those of {order[current]}")
            current = position
            columns = self.tables[table]
            if not isinstance(values, list) or len(values) != len(columns):
                raise self._error(f"a row of {table} has {len(columns)} values: {columns}")
            yield self._line, table, [self._value(value) for value in values]
            counts[table] += 1
        raise self._error("the file ends without its end line: it is truncated", self._line + 1)

    def _value(self, value: Any) -> Any:
        if isinstance(value, dict):
            encoded = value.get("base64")
            if set(value) != {"base64"} or not isinstance(encoded, str):
                raise self._error(f"unknown value {value!r}")
            try:
                return base64.b64decode(encoded, validate=True)
            except binascii.Error as error:
                raise self._error(f"bad base64 value: {error}") from None
        if isinstance(value, list):
            raise self._error("a value cannot be a list")
        return value

    def _check_end(self, announced: Any, counts: dict[str, int]) -> None:
        if announced != counts:
            raise self._error(f"the end line announces {announced!r} rows, the file holds {counts}")
        if self._next() is not None:
            raise self._error("more lines after the end line")


def check_backup(path: Path) -> BackupSummary:
    """Read a backup through and check it, without any store: what it holds."""
    with BackupReader(path) as reader:
        rows = dict.fromkeys(reader.tables, 0)
        for _, table, _ in reader.rows():
            rows[table] += 1
        return BackupSummary(path, reader.header, rows)


# ---- restoring ----------------------------------------------------------------------


def restore_backup(
    store: Store | RelationalStore, path: Path, *, force: bool = False, checked: bool = False
) -> BackupSummary:
    """Put the rows of a backup into ``store``, all of them or (on any error) none.

    - The file is read through and checked first (unless ``checked``: the
      caller just did it with ``check_backup``).
    - A backup of a schema newer than this code is refused; an older one is
      restored into tables of its own version, then the later migrations run.
    - A store holding data is refused unless ``force``: then every row it
      holds is replaced (``BackupSummary.replaced`` says what there was).
    - Rows keep their ids; the auto-increment counters then follow them, and so
      does the ``message_id`` counter of the nodes of a cluster (a backup of a
      single server holds it below the messages' ids, or predates it).
    """
    relational = _relational(store)
    if not checked:
        check_backup(path)
    with BackupReader(path) as reader:
        header = reader.header
        latest = relational.latest_schema_version()
        if header.schema_version > latest:
            raise BackupError(
                f"{path}: the backup is of schema version {header.schema_version}, newer than"
                f" this GuiGui's ({latest}): upgrade GuiGui, then restore"
            )
        relational.migrate(up_to=header.schema_version)
        with relational.consistent_read() as execute:
            tables = [t for t in relational.describe_tables(execute) if t.name not in NOT_COPIED]
            held = {t.name: _count(execute, t) for t in foreign_key_order(tables)}
        _check_fits(reader, {table.name: table for table in tables})
        replaced = {
            name: count for name, count in held.items() if count and name not in BOOKKEEPING_TABLES
        }
        data = {name: count for name, count in replaced.items() if name not in SEEDED_TABLES}
        if data and not force:
            raise BackupError(
                "the store already holds data ("
                + ", ".join(f"{name}: {count} rows" for name, count in data.items())
                + "); a restore replaces all of it with the backup's: run it again with --force"
                " if that is what you want"
            )
        with relational.bulk_transaction() as execute:
            for table in reversed(foreign_key_order(tables)):
                execute(f"DELETE FROM {quote_name(table.name)}")
            rows = _insert_all(execute, reader)
    relational.reset_counters(tables)
    relational.migrate()
    relational.catch_up_message_counter()
    return BackupSummary(path, header, rows, replaced if data else {})


def _count(execute: Execute, table: TableInfo) -> int:
    row = single_row(execute(f"SELECT COUNT(*) AS row_count FROM {quote_name(table.name)}"))
    return int(row["row_count"])


def _check_fits(reader: BackupReader, tables: dict[str, TableInfo]) -> None:
    """Every table and column of the backup exists in the store."""
    for name, columns in reader.tables.items():
        if name not in tables:
            raise BackupError(f"{reader.path}: table {name!r} does not exist in the store")
        missing = [column for column in columns if column not in tables[name].columns]
        if missing:
            raise BackupError(f"{reader.path}: {name} has no column {', '.join(missing)} here")


def _insert_all(execute: Execute, reader: BackupReader) -> dict[str, int]:
    """Insert the rows as they are read, several per INSERT; the rows per table."""
    rows = dict.fromkeys(reader.tables, 0)
    batch: list[list[Any]] = []
    batch_table, first_line = "", 0
    for line, table, values in reader.rows():
        limit = max(1, PARAMETERS_PER_INSERT // len(values)) if values else 1
        if batch and (table != batch_table or len(batch) >= limit):
            _insert(execute, reader, batch_table, batch, first_line, line - 1)
            batch = []
        if not batch:
            batch_table, first_line = table, line
        batch.append(values)
        rows[table] += 1
    if batch:
        _insert(execute, reader, batch_table, batch, first_line, first_line + len(batch) - 1)
    return rows


def _insert(
    execute: Execute,
    reader: BackupReader,
    table: str,
    batch: list[list[Any]],
    first: int,
    last: int,
) -> None:
    columns = reader.tables[table]
    one_row = f"({', '.join('?' * len(columns))})"
    sql = (
        f"INSERT INTO {quote_name(table)} ({', '.join(map(quote_name, columns))})"
        f" VALUES {', '.join([one_row] * len(batch))}"
    )
    try:
        execute(sql, [value for values in batch for value in values])
    except Exception as error:  # the driver's: a key, a constraint, a type
        raise BackupError(
            f"{reader.path}: lines {first}-{last} ({table}): the database refused them: {error}"
        ) from error


def _relational(store: Store | RelationalStore) -> RelationalStore:
    if not isinstance(store, RelationalStore):
        raise BackupError(f"{type(store).__name__} cannot be backed up (not an SQL store)")
    return store
