"""The store benchmark still runs (a small load; no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.databases import require_mariadb

ROOT = Path(__file__).resolve().parents[2]


def test_the_store_benchmark_runs_on_both_stores() -> None:
    require_mariadb()
    done = subprocess.run(
        [sys.executable, "-m", "bench.stored_messages", "--messages", "400", "--clients", "4"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "bcrypt cost lowered to 4" in done.stdout
    assert "| SQLite | 400 |" in done.stdout
    assert "| MariaDB | 400 |" in done.stdout
