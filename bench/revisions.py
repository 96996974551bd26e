"""Another revision of GuiGui, checked out beside this one: the table's "before" column.

``python -m bench.fanout --before REV`` runs GuiGui as it was at REV (a commit,
a tag) in the same run as GuiGui now and ngIRCd, on the same machine, so an
issue's before / after is measured side by side rather than against figures
from another day (one machine's absolute figures are noise). The revision is
checked out with ``git worktree add --detach`` in the benchmark's temporary
directory and runs with this virtual environment's Python; the worktree is
removed at the end.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from bench.servers import ROOT


def _git(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(ROOT), *arguments], capture_output=True, text=True, check=False
    )


def describe(revision: str) -> str | None:
    """``revision`` as a short commit id and its date, or None if git does not know it."""
    shown = _git("log", "-1", "--format=%h (%cs)", revision)
    return shown.stdout.strip() if shown.returncode == 0 and shown.stdout.strip() else None


@contextlib.contextmanager
def checked_out(revision: str, directory: Path) -> Iterator[Path]:
    """The source tree of ``revision`` in ``directory`` (a git worktree), removed afterwards.

    ``RuntimeError`` with git's message when it cannot be checked out.
    """
    added = _git("worktree", "add", "--detach", str(directory), revision)
    if added.returncode != 0:
        raise RuntimeError(f"cannot check out {revision}: {added.stderr.strip()}")
    try:
        yield directory
    finally:
        _git("worktree", "remove", "--force", str(directory))
