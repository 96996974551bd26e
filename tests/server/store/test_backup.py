"""Backups: taken from either store, restored into either, all or nothing."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest

from guigui.common.protocol import SanctionKind
from guigui.server.store import StoredMessage, open_store
from guigui.server.store import relational as relational_module
from guigui.server.store.backup import (
    BackupError,
    check_backup,
    foreign_key_order,
    restore_backup,
    write_backup,
)
from guigui.server.store.migrations import load_migrations
from guigui.server.store.relational import RelationalStore, TableInfo, quote_name
from tests.support.databases import fresh_database

GENERAL, BLABLA, IT = 1, 2, 4


@contextmanager
def opened(url: str) -> Iterator[RelationalStore]:
    store = open_store(url)
    assert isinstance(store, RelationalStore)
    try:
        yield store
    finally:
        store.close()


def kind_of(url: str) -> str:
    return "mysql" if url.startswith("mysql://") else "sqlite"


def fill(store: RelationalStore) -> None:
    """A little of everything: users, memberships, requests, messages, sanctions, audit..."""
    alice = store.create_user(
        "Alice", "Alice", "Martin", "alice@example.org", b"$2b$\x00\xff", 10, 1
    )
    bob = store.create_user("bob", "Bob", "Durand", "bob@example.org", b"$2b$hash-b", 11, GENERAL)
    store.add_membership(bob.id, BLABLA)
    pending = store.create_access_request(alice.id, IT, 20)
    decided = store.create_access_request(bob.id, IT, 21)
    store.decide_access_request(decided, True, "chief", 22)
    assert pending != decided
    store.save_messages(
        [
            StoredMessage(
                1, GENERAL, alice.id, None, "Bonjour 😀 'à' \"tous\"", 30, "n1", "10.0.0.1"
            ),
            StoredMessage(2, None, bob.id, alice.id, "privé", 31, None, "2001:db8::1"),
            StoredMessage(3, IT, bob.id, None, "x" * 4000, 32, "n3", None),
        ]
    )
    store.add_sanction(SanctionKind.BAN, "mallory", "10.9.9.9", None, "spam", 40, "chief")
    kick = store.add_sanction(SanctionKind.KICK, "bob", None, 99, "calme", 41, "chief")
    store.lift_sanction(kick.id, 42, "chief")
    store.add_audit("chief", "ban", "mallory", "spam", 43)
    store.save_token(b"\x00\x01token-hash\xfe", alice.id, 50, 60)
    log_id = store.log_connection_start(bob.id, "bob", "10.0.0.2", 70)
    store.log_connection_end(log_id, 71)
    store.create_admin("chief", b"$2b$admin", 80)


def everything(store: RelationalStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but schema_version, by table, in key order."""
    with store.consistent_read() as execute:
        tables = [t for t in store.describe_tables(execute) if t.name != "schema_version"]
        rows = {}
        for table in tables:
            order = ", ".join(map(quote_name, table.primary_key or table.columns))
            rows[table.name] = [
                tuple(
                    bytes(value) if isinstance(value, bytes | bytearray) else value
                    for value in (row[column] for column in table.columns)
                )
                for row in execute(
                    f"SELECT {', '.join(map(quote_name, table.columns))}"
                    f" FROM {quote_name(table.name)} ORDER BY {order}"
                ).fetchall()
            ]
    return rows


def as_restored(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """What a restore of these rows gives: the same, but the message counter of a cluster.

    A single server (as in ``fill``) never moves the counter; a restore brings
    it up to the highest message id, so that cluster nodes go on from there.
    """
    highest = max((row[0] for row in rows["messages"]), default=0)
    counters = [
        (name, max(value, highest) if name == "message_id" else value)
        for name, value in rows["counters"]
    ]
    return {**rows, "counters": counters}


def test_backup_then_restore_into_a_fresh_store_gives_the_same_rows(
    database_url: str, tmp_path: Path
) -> None:
    with opened(database_url) as source:
        source.migrate()
        fill(source)
        before = everything(source)
        summary = write_backup(source, tmp_path / "b.gz")
    assert summary.rows["messages"] == 3 and summary.rows["users"] == 2
    with fresh_database(kind_of(database_url), tmp_path / "fresh") as url, opened(url) as target:
        restored = restore_backup(target, tmp_path / "b.gz")
        assert restored.rows == summary.rows and restored.replaced == {}
        assert everything(target) == as_restored(before)
        assert everything(target)["counters"] == [("message_id", 3)]
        assert target.schema_version() == target.latest_schema_version()
        snapshot = target.load_snapshot(0)
        assert [u.login for u in snapshot.users] == ["Alice", "bob"]
        assert snapshot.users[0].password_hash == b"$2b$\x00\xff"
        assert [(r.id, r.state) for r in snapshot.pending_requests] == [(1, "pending")]
        assert [m.ip for m in target.direct_history(1, 2, None, 10)] == ["2001:db8::1"]
        assert target.find_token(b"\x00\x01token-hash\xfe", 55) == 1
    assert before["memberships"] and before["sanctions"] and before["admin_audit"]


def test_sqlite_to_mariadb_and_back(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path / "a") as first, opened(first) as source:
        source.migrate()
        fill(source)
        before = everything(source)
        write_backup(source, tmp_path / "sqlite.gz")
    with fresh_database("mysql", tmp_path) as url, opened(url) as mariadb:
        restore_backup(mariadb, tmp_path / "sqlite.gz")
        assert everything(mariadb) == as_restored(before)
        write_backup(mariadb, tmp_path / "mysql.gz")
    assert check_backup(tmp_path / "mysql.gz").header.dialect == "mysql"
    with fresh_database("sqlite", tmp_path / "b") as again, opened(again) as back:
        restore_backup(back, tmp_path / "mysql.gz")
        assert everything(back) == as_restored(before)


def test_tables_come_in_foreign_key_order_and_a_new_table_is_included(
    database_url: str, tmp_path: Path
) -> None:
    """A table added by a later migration (say, read state) needs no change to the backup."""
    create = (
        "CREATE TABLE zz_read_state (user_id INT UNSIGNED NOT NULL, room_id INT UNSIGNED NOT NULL,"
        " last_read BIGINT NOT NULL, PRIMARY KEY (user_id, room_id),"
        " FOREIGN KEY (user_id) REFERENCES users (id), FOREIGN KEY (room_id) REFERENCES rooms (id))"
    )
    with opened(database_url) as source:
        source.migrate()
        fill(source)
        with source.bulk_transaction() as execute:
            execute(create)
        with source.bulk_transaction() as execute:
            for room in (GENERAL, BLABLA, IT):
                execute("INSERT INTO zz_read_state VALUES (?, ?, ?)", (2, room, room * 10))
        with source.consistent_read() as execute:
            order = [t.name for t in foreign_key_order(source.describe_tables(execute))]
        before = everything(source)
        write_backup(source, tmp_path / "b.gz")
    assert order.index("zz_read_state") > max(order.index("users"), order.index("rooms"))
    assert order.index("messages") > order.index("users")
    with fresh_database(kind_of(database_url), tmp_path / "fresh") as url, opened(url) as target:
        target.migrate()
        with target.bulk_transaction() as execute:
            execute(create)
        restore_backup(target, tmp_path / "b.gz")
        assert everything(target)["zz_read_state"] == before["zz_read_state"]


def test_a_foreign_key_cycle_is_reported() -> None:
    cycle = [
        TableInfo("a", ("id",), ("id",), frozenset({"b"})),
        TableInfo("b", ("id",), ("id",), frozenset({"a"})),
    ]
    with pytest.raises(BackupError, match="cycle"):
        foreign_key_order(cycle)


def test_a_store_with_data_is_refused_unless_forced(database_url: str, tmp_path: Path) -> None:
    with opened(database_url) as store:
        store.migrate()
        fill(store)
        write_backup(store, tmp_path / "b.gz")
        before = everything(store)
        with pytest.raises(BackupError, match=r"already holds data \(.*users: 2 rows.*--force"):
            restore_backup(store, tmp_path / "b.gz")
        assert everything(store) == before
        store.create_user("carol", "C", "L", "carol@example.org", b"h", 90, GENERAL)
        summary = restore_backup(store, tmp_path / "b.gz", force=True)
        assert summary.replaced["users"] == 3 and summary.replaced["messages"] == 3
        assert everything(store) == as_restored(before)


def test_new_rows_after_a_restore_get_fresh_ids(database_url: str, tmp_path: Path) -> None:
    with opened(database_url) as store:
        store.migrate()
        fill(store)
        write_backup(store, tmp_path / "b.gz")
        # More rows than the backup holds: after the forced restore, the counters
        # come back to the backup's ids, whose next ones are free again.
        for number in range(5):
            store.create_user(f"extra{number}", "E", "X", f"e{number}@example.org", b"h", 1, 1)
        restore_backup(store, tmp_path / "b.gz", force=True)
        carol = store.create_user("carol", "C", "L", "carol@example.org", b"h", 90, GENERAL)
        assert carol.id == 3
        assert store.create_access_request(carol.id, IT, 91) == 3
        assert store.add_sanction(SanctionKind.BAN, "x", None, None, "r", 92, "chief").id == 3
        store.add_audit("chief", "kick", "x", "", 93)
        assert [a.id for a in store.list_audit(10)] == [2, 1]
        assert store.log_connection_start(carol.id, "carol", "10.0.0.3", 94) == 2
        assert store.load_snapshot(0).last_message_id == 3


def test_a_backup_is_one_snapshot_while_others_write(database_url: str, tmp_path: Path) -> None:
    """What is written during the backup (the server keeps serving) is not half in it."""
    with opened(database_url) as store, opened(database_url) as server:
        store.migrate()
        fill(store)
        describe = store.describe_tables

        def describe_then_write(execute: Any) -> list[TableInfo]:
            tables = describe(execute)  # the snapshot is taken by now
            server.create_user("late", "L", "A", "late@example.org", b"h", 99, GENERAL)
            server.save_messages([StoredMessage(4, GENERAL, 1, None, "late", 99, None, None)])
            return tables

        store.describe_tables = describe_then_write  # type: ignore[method-assign]
        summary = write_backup(store, tmp_path / "b.gz")
    assert summary.rows["users"] == 2 and summary.rows["messages"] == 3
    assert summary.rows["memberships"] == 4  # not the late user's Général membership


def gzip_lines(path: Path) -> list[bytes]:
    return gzip.decompress(path.read_bytes()).splitlines(keepends=True)


def damage_line(number: int, replacement: bytes) -> Any:
    def damage(path: Path) -> None:
        lines = gzip_lines(path)
        lines[number - 1] = replacement
        path.write_bytes(gzip.compress(b"".join(lines)))

    return damage


def cut_bytes(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])


def drop_last_lines(path: Path) -> None:
    path.write_bytes(gzip.compress(b"".join(gzip_lines(path)[:-3])))


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (cut_bytes, r"line \d+: the file ends here, cut short"),
        (drop_last_lines, r"line \d+: the file ends without its end line"),
        (damage_line(4, b'{"table": "users", "row": [1, "broken\n'), r"line 4: not valid JSON"),
        (damage_line(3, b'{"table": "nope", "row": []}\n'), r"line 3: table 'nope'"),
        (damage_line(5, b'{"table": "users", "row": [1]}\n'), r"line 5: a row of"),
        # Where a flipped byte lands varies with the data (times differ from run to run):
        # gzip's check, the JSON or a value may be what fails, always naming its line.
        (flip_a_byte, r"line \d+: "),
    ],
    ids=["cut", "no-end-line", "bad-json", "unknown-table", "short-row", "flipped-byte"],
)
def test_a_damaged_file_changes_nothing_and_names_the_line(
    database_url: str, tmp_path: Path, damage: Any, message: str
) -> None:
    with opened(database_url) as store:
        store.migrate()
        fill(store)
        write_backup(store, tmp_path / "b.gz")
        damage(tmp_path / "b.gz")
        store.create_user("carol", "C", "L", "carol@example.org", b"h", 90, GENERAL)
        before = everything(store)
        with pytest.raises(BackupError, match=message):
            restore_backup(store, tmp_path / "b.gz", force=True)
        assert everything(store) == before


def test_rows_the_database_refuses_roll_everything_back(database_url: str, tmp_path: Path) -> None:
    """Checked, but wrong for the database (two users with one login): nothing is kept."""
    with opened(database_url) as store:
        store.migrate()
        fill(store)
        write_backup(store, tmp_path / "b.gz")
        lines = gzip_lines(tmp_path / "b.gz")
        users = [i for i, line in enumerate(lines) if line.startswith(b'{"table":"users"')]
        second = msgspec.json.decode(lines[users[1]])
        second["row"][2] = "alice"  # login_key of the first user
        lines[users[1]] = msgspec.json.encode(second) + b"\n"
        (tmp_path / "b.gz").write_bytes(gzip.compress(b"".join(lines)))
        before = everything(store)
        with pytest.raises(BackupError, match=r"lines \d+-\d+ \(users\): the database refused"):
            restore_backup(store, tmp_path / "b.gz", force=True)
        assert everything(store) == before


def test_a_backup_of_an_older_schema_is_restored_then_migrated(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_only = {dialect: load_migrations(dialect)[:1] for dialect in ("sqlite", "mysql")}
    with monkeypatch.context() as patched:
        patched.setattr(relational_module, "load_migrations", lambda dialect: first_only[dialect])
        with opened(database_url) as old:
            old.migrate()
            with old.bulk_transaction() as execute:  # schema 1: no ip column, no read markers
                execute(
                    "INSERT INTO users (id, login, login_key, email, email_key, first_name,"
                    " last_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (1, "alice", "alice", "a@example.org", "a@example.org", "A", "L", b"h", 1),
                )
                execute("INSERT INTO memberships VALUES (?, ?, ?)", (1, GENERAL, 1))
                execute(
                    "INSERT INTO messages (id, room_id, sender_id, text, ts)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (1, GENERAL, 1, "from schema 1", 10),
                )
            write_backup(old, tmp_path / "v1.gz")
    assert check_backup(tmp_path / "v1.gz").header.schema_version == 1
    with fresh_database(kind_of(database_url), tmp_path / "fresh") as url, opened(url) as target:
        restore_backup(target, tmp_path / "v1.gz")
        assert target.schema_version() == target.latest_schema_version() >= 2
        assert target.room_history(GENERAL, None, 10) == [
            StoredMessage(1, GENERAL, 1, None, "from schema 1", 10, None, None)
        ]


def test_a_backup_of_a_newer_schema_is_refused(database_url: str, tmp_path: Path) -> None:
    with opened(database_url) as store:
        store.migrate()
        write_backup(store, tmp_path / "b.gz")
        lines = gzip_lines(tmp_path / "b.gz")
        header = msgspec.json.decode(lines[0])
        header["schema_version"] = 99
        lines[0] = msgspec.json.encode(header) + b"\n"
        (tmp_path / "b.gz").write_bytes(gzip.compress(b"".join(lines)))
        with pytest.raises(BackupError, match="schema version 99, newer than this GuiGui's"):
            restore_backup(store, tmp_path / "b.gz")
