"""Finding and splitting migration files."""

from __future__ import annotations

from pathlib import Path

import pytest

from guigui.server.store import StoredMessage, open_store, relational
from guigui.server.store.migrations import load_migrations, split_statements


def test_sqlite_migrations_are_found_in_order() -> None:
    migrations = load_migrations("sqlite")
    assert migrations[0].version == 1 and migrations[0].name == "0001_initial.sql"
    assert any(s.startswith("CREATE TABLE messages") for s in migrations[0].statements)


def test_split_drops_comments_and_keeps_statements() -> None:
    sql = "-- a comment\nCREATE TABLE a (x INT);\n\nINSERT INTO a VALUES\n  (1),\n  (2);\n"
    assert split_statements(sql) == [
        "CREATE TABLE a (x INT)",
        "INSERT INTO a VALUES\n  (1),\n  (2)",
    ]


def test_badly_named_or_duplicate_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "1_bad.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError):
        load_migrations("x", tmp_path)
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "y" / "0001_b.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError):
        load_migrations("y", tmp_path)
    with pytest.raises(ValueError):
        load_migrations("empty", tmp_path)


def test_both_dialects_have_the_same_schema_versions() -> None:
    sqlite = [(m.version, m.name) for m in load_migrations("sqlite")]
    mysql = [(m.version, m.name) for m in load_migrations("mysql")]
    assert sqlite == mysql
    assert [version for version, _ in sqlite] == list(range(1, len(sqlite) + 1))


def test_upgrading_a_version_1_database_keeps_its_messages(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database made by schema 1 (before messages kept their IP) migrates in place."""
    first_only = [load_migrations(dialect)[:1] for dialect in ("sqlite", "mysql")]
    with monkeypatch.context() as patched:
        patched.setattr(
            relational, "load_migrations", lambda dialect: first_only[dialect == "mysql"]
        )
        old = open_store(database_url)
        assert isinstance(old, relational.RelationalStore)
        old.migrate()
        assert old.schema_version() == 1
        with old._transaction() as execute:  # schema 1 has no ip column, nor read markers
            alice_id = int(
                execute(
                    "INSERT INTO users (login, login_key, email, email_key, first_name,"
                    " last_name, password_hash, created_at)"
                    " VALUES ('alice', 'alice', 'a@example.org', 'a@example.org', 'A', 'L', ?, 1)",
                    (b"h",),
                ).lastrowid
            )
            execute(
                "INSERT INTO messages (id, room_id, sender_id, recipient_id, text, ts, nonce)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (1, 1, alice_id, None, "before the upgrade", 10, None),
            )
        old.close()
    store = open_store(database_url)
    assert isinstance(store, relational.RelationalStore)
    try:
        store.migrate()
        assert store.schema_version() == load_migrations("sqlite")[-1].version
        assert store.room_history(1, None, 10) == [
            StoredMessage(1, 1, alice_id, None, "before the upgrade", 10, None, None)
        ]
        store.save_messages([StoredMessage(2, 1, alice_id, None, "after", 11, None, "10.0.0.9")])
        assert [m.ip for m in store.room_history(1, None, 10)] == [None, "10.0.0.9"]
    finally:
        store.close()
