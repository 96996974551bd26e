"""The fan-out benchmark still runs every scenario end to end (small loads; no timing asserted)."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import require_mariadb
from tests.support.missing import missing
from tests.support.shared_redis import require_shared_redis

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ["A", "A-max", "B", "C", "D", "E"]
"""The scenarios of the main table (the files and cluster scenarios have their own tables)."""
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
    require_shared_redis()
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
    cells = [row for row in cells if row[0] in SCENARIOS]  # not the cluster's tables
    assert {row[0] for row in cells} >= set(SCENARIOS), done.stdout
    assert any(row[1] == "MariaDB: delivered / expected" for row in cells), done.stdout
    for scenario, figure, *values in cells:
        if "delivered / expected" in figure:
            assert values[0] != "n/a", (scenario, figure)
        for value in values[:2]:  # GuiGui and ngIRCd; each done/of must be complete
            found = COUNT.fullmatch(value)
            if found:
                assert found.group(1) == found.group(2), (scenario, figure, value)
    assert_the_uploads_ran(rows)
    assert_the_cluster_ran(rows)


UPLOAD_RUNS = ["without uploads", "with uploads", "with uploads at 10 MiB/s each"]


def assert_the_uploads_ran(rows: list[list[str]]) -> None:
    """Scenario A-files' table: every chat delivery done in every run, every upload stored."""
    cells = [[cell.strip() for cell in row] for row in rows]
    header = cells.index(["figure", *UPLOAD_RUNS, "full speed / without", "paced / without"])
    table = itertools.takewhile(lambda row: len(row) == 6, cells[header + 1 :])
    figures = {row[0]: row[1:4] for row in table}
    for figure in ("delivered / expected", "stored / offered"):
        for run, value in zip(UPLOAD_RUNS, figures[figure], strict=True):
            found = COUNT.fullmatch(value)
            assert found and found.group(1) == found.group(2), (figure, run, value)
    assert figures["files stored / offered"][0] == "n/a", figures
    for value in figures["files stored / offered"][1:]:
        found = COUNT.fullmatch(value)
        assert found and found.group(1) == found.group(2) != "0", figures["files stored / offered"]


CLUSTER_RUNS = ["alone, SQLite", "alone, MariaDB", "1 node", "2 nodes"]


def assert_the_cluster_ran(rows: list[list[str]]) -> None:
    """The cluster scenario's table: every run complete; some deliveries crossed nodes."""
    cells = [[cell.strip() for cell in row] for row in rows]
    header = cells.index(["figure", *CLUSTER_RUNS, "2 nodes / 1 node"])
    table = itertools.takewhile(lambda row: len(row) == 6, cells[header + 1 :])
    figures = {row[0]: row[1:5] for row in table}
    for figure in ("delivered / expected", "stored / offered"):
        for run, value in zip(CLUSTER_RUNS, figures[figure], strict=True):
            found = COUNT.fullmatch(value)
            assert found and found.group(1) == found.group(2), (figure, run, value)
    crossed = next(row for row in cells if row[0].startswith("cross-node (reader"))
    assert int(crossed[1].replace(",", "")) > 0, crossed


@pytest.mark.timeout(300)
def test_before_adds_a_column_of_guigui_at_another_revision() -> None:
    """``--before REV`` runs GuiGui from a worktree of REV in the same run, and cleans it up."""
    require_ngircd()
    worktrees = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True
    ).stdout
    done = subprocess.run(
        [sys.executable, "-m", "bench.fanout", "--quick", "--scenarios", "A", "--before", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=280,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert "| GuiGui before ⁵ | GuiGui | ngIRCd |" in lines[0], lines[0]
    cells = {
        row[1]: row[2:] for row in ([c.strip() for c in line.split("|")[1:-1]] for line in lines)
    }
    before, now, irc, _ = cells["delivered / expected"]
    for value in (before, now, irc):
        found = COUNT.fullmatch(value)
        assert found and found.group(1) == found.group(2), value
    loop_now = cells["loop thread CPU µs / delivery ⁴"][1]
    assert float(loop_now) > 0, loop_now  # GuiGui's threads carry their names
    after = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert after == worktrees  # the revision's worktree is gone
