"""Finding and splitting migration files."""

from __future__ import annotations

from pathlib import Path

import pytest

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
