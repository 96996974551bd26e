"""The students' tour names real files and real functions: when the code moves, this fails.

The tour (docs/TOUR.md, and docs/fr/VISITE.md in French) follows one message
through the code, naming each file and function on its way. A name written in
backticks is a promise that it exists, so each is checked here.

The notation, written in backticks in the tour's text (not in code blocks):

- ``guigui/server/loop.py``: a file, from the repository's root; any path
  with a ``/`` ending in ``.py``, ``.md`` or ``.c`` must exist, and a path
  ending in ``/`` (``guigui/server/store/``) must be a directory;
- ``guigui/server/loop.py:EventLoop``: a class, function or constant defined
  at the module's top level;
- ``guigui/server/loop.py:EventLoop._run_once``: a method (or any name defined
  inside a class or a function: ``Outer.inner``);
- ``tests/common/test_codec.py::test_one_byte_at_a_time``: pytest's spelling
  of a test, read the same way.

A file the student is asked to create does not exist yet: the tour writes it
with the word ``new`` in the same backticks (``new tests/server/test_topic.py``),
which this test leaves alone.

The checks resolve names with ``ast``, without importing anything, so a
reference to the desktop client does not need a display.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOURS = ("docs/TOUR.md", "docs/fr/VISITE.md")
"""The tour in English and in French (the same sections: tests/docs/test_guides.py)."""

FENCED_BLOCK = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
REFERENCE = re.compile(
    r"(?P<path>[\w.-]+(?:/[\w.-]+)*/(?:[\w.-]+\.(?:py|md|c)|)|[\w.-]+\.py)"
    r"(?:::?(?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*))?"
)
"""A whole backtick span that is a reference: a path, then optionally ``:name`` or ``::name``."""


def references(markdown: str) -> list[tuple[str, str | None]]:
    """Every ``(path, name)`` the text names in backticks, outside fenced code blocks, in order."""
    found = []
    for span in INLINE_CODE.findall(FENCED_BLOCK.sub("", markdown)):
        match = REFERENCE.fullmatch(span.strip())
        if match is not None:
            found.append((match.group("path"), match.group("name")))
    return found


def _defined_in(body: list[ast.stmt], name: str) -> list[ast.stmt] | None:
    """The body of the class or function ``name`` defined in ``body``; [] for a constant."""
    for node in body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name == name:
                return node.body
        elif isinstance(node, ast.Assign):
            if any(isinstance(target, ast.Name) and target.id == name for target in node.targets):
                return []
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
        ):
            return []
    return None


def problem(root: Path, path: str, name: str | None) -> str | None:
    """Why the reference ``path`` (and ``name`` in it) does not resolve under ``root``, or None."""
    target = root / path
    if path.endswith("/"):
        return None if target.is_dir() else f"{path}: no such directory"
    if not target.is_file():
        return f"{path}: no such file"
    if name is None:
        return None
    if not path.endswith(".py"):
        return f"{path}:{name}: names are only looked up in Python files"
    body: list[ast.stmt] | None = ast.parse(target.read_text(encoding="utf-8")).body
    for part in name.split("."):
        assert body is not None
        body = _defined_in(body, part)
        if body is None:
            return f"{path}:{name}: {part!r} is not defined there"
    return None


@pytest.mark.parametrize("tour", TOURS)
def test_every_file_and_function_the_tour_names_exists(tour: str) -> None:
    named = references((ROOT / tour).read_text(encoding="utf-8"))
    assert len(named) > 50, f"{tour} names only {len(named)} files and functions: is the regex ok?"
    broken = sorted({p for path, name in named if (p := problem(ROOT, path, name)) is not None})
    assert broken == [], f"{tour} names what the code no longer has:\n" + "\n".join(broken)


def test_both_languages_name_the_same_code() -> None:
    english, french = (set(references((ROOT / tour).read_text(encoding="utf-8"))) for tour in TOURS)
    assert sorted(english - french, key=str) == [], "named in English only"
    assert sorted(french - english, key=str) == [], "named in French only"


def test_the_checker_catches_what_moved(tmp_path: Path) -> None:
    module = tmp_path / "pkg" / "mod.py"
    module.parent.mkdir()
    module.write_text(
        "LIMIT = 3\nclass Loop:\n    def run(self):\n        def inner(): pass\ndef top(): pass\n"
    )
    text = (
        "Read `pkg/mod.py`, `pkg/mod.py:Loop.run`, `pkg/mod.py:Loop.run.inner`,"
        " `pkg/mod.py::top`, `pkg/mod.py:LIMIT` and `pkg/`; then `pkg/mod.py:Loop.stop`,"
        " `pkg/gone.py`, `pkg/mod.py:missing` and `nothing/`; not `new pkg/later.py`,"
        " `x = 1` or `Loop.run`.\n```\n`pkg/in_a_code_block.py`\n```\n"
    )
    named = references(text)
    assert [problem(tmp_path, path, name) for path, name in named] == [
        None,
        None,
        None,
        None,
        None,
        None,
        "pkg/mod.py:Loop.stop: 'stop' is not defined there",
        "pkg/gone.py: no such file",
        "pkg/mod.py:missing: 'missing' is not defined there",
        "nothing/: no such directory",
    ]
