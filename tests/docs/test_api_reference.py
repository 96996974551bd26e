"""The developer documentation builds from the docstrings, without a warning (``make docs``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import guigui

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(guigui.__file__).parent


def public_modules() -> list[str]:
    """Every module of the package, dotted, that pdoc documents (no ``_private`` ones)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(part.startswith("_") for part in parts):
            names.append(".".join(parts))
    return names


def test_make_docs_builds_a_page_per_module_without_warnings(tmp_path: Path) -> None:
    build = subprocess.run(
        [
            sys.executable,
            *("-W", "error::UserWarning", "-W", "error::RuntimeWarning"),
            *("-m", "pdoc", "--docformat", "restructuredtext", "-o", str(tmp_path), "guigui"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    assert "warn" not in build.stderr.lower(), build.stderr
    missing = [
        name
        for name in public_modules()
        if not (tmp_path / Path(*name.split("."))).with_suffix(".html").exists()
    ]
    assert missing == []
