"""The ``store`` fixture: a fresh, migrated store per test, on each implementation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from guigui.server.store import Store, open_store


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated store in a fresh database (SQLite, then MariaDB: see ``database_url``)."""
    opened = open_store(database_url)
    opened.migrate()
    yield opened
    opened.close()
