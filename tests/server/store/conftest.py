"""The ``store`` fixture: a fresh, migrated store per test (one param per implementation)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from guigui.server.store import Store, default_database_url, open_store


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store in a fresh database."""
    opened = open_store(default_database_url(tmp_path))
    opened.migrate()
    yield opened
    opened.close()
