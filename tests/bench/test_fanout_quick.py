"""The fan-out benchmark still runs every scenario end to end (small loads; no timing asserted)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import require_mariadb
from tests.support.missing import missing

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ["A", "A-max", "B", "C", "D", "E"]
COUNT = re.compile(r"(\d+)/(\d+)")
"""A "done/of" cell: delivered/expected, stored/offered, idle open/opened, back/clients."""


def require_ngircd() -> None:
    """Skip without ngIRCd, except in CI (``CI=true``), where that is a failure."""
    if shutil.which("ngircd") or Path("/usr/sbin/ngircd").exists():
        return
    missing("ngircd is not installed (`make bench` installs it)", ".ci/run installs it")


@pytest.mark.timeout(660)
def test_the_fanout_benchmark_runs_every_scenario() -> None:
    require_ngircd()
    require_mariadb()
    done = subprocess.run(
        [sys.executable, "-m", "bench.fanout", "--quick"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split("|")[1:-1] for line in done.stdout.splitlines() if line.startswith("| ")]
    cells = [[cell.strip() for cell in row] for row in rows if len(row) == 5]
    assert {row[0] for row in cells} >= set(SCENARIOS), done.stdout
    assert any(row[1] == "MariaDB: delivered / expected" for row in cells), done.stdout
    for scenario, figure, *values in cells:
        if "delivered / expected" in figure:
            assert values[0] != "n/a", (scenario, figure)
        for value in values[:2]:  # GuiGui and ngIRCd; each done/of must be complete
            found = COUNT.fullmatch(value)
            if found:
                assert found.group(1) == found.group(2), (scenario, figure, value)
