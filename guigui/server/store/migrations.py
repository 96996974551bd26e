"""Versioned schema migrations: ``db/<dialect>/NNNN_name.sql``, applied in order.

This module only finds and reads the files; each store applies them in its own
way and records each version in its ``schema_version`` table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS_ROOT = Path(__file__).resolve().parents[3] / "db"
"""The repository's ``db/`` directory."""

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    """One schema version: its number, its file name and its SQL statements."""

    version: int
    name: str
    statements: list[str]


def split_statements(sql: str) -> list[str]:
    """The statements of a script: split on ``;`` at line ends, ``--`` comments dropped.

    Our migration files keep one statement per ``;``-terminated block and never
    put a ``;`` at the end of a line inside a string, which keeps this simple.
    """
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    statements, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            statement = "\n".join(current).strip().rstrip(";").strip()
            if statement:
                statements.append(statement)
            current = []
    rest = "\n".join(current).strip()
    if rest:
        statements.append(rest)
    return statements


def load_migrations(dialect: str, root: Path = MIGRATIONS_ROOT) -> list[Migration]:
    """The migrations of a dialect (``sqlite``, ``mysql``), by increasing version."""
    folder = root / dialect
    migrations = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise ValueError(f"{path}: migration files are named NNNN_name.sql")
        statements = split_statements(path.read_text(encoding="utf-8"))
        migrations.append(Migration(int(match.group(1)), path.name, statements))
    versions = [migration.version for migration in migrations]
    if len(set(versions)) != len(versions):
        raise ValueError(f"{folder}: two migrations share a version number")
    if not migrations:
        raise ValueError(f"{folder}: no migrations found")
    return migrations
