"""Every string the desktop client shows has its French: read from the code's syntax tree.

Three checks, so that a new English string cannot slip in untranslated:

- every ``_("...")`` literal under ``guigui/client`` (and the shared date words
  the client uses) has a ``msgstr`` in the French catalogs;
- no widget of ``guigui/client/gui`` is given a bare string literal as its text,
  title, values or message (it must go through ``_()``);
- the strings shown through a table (the words of each error code) are translated.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from guigui.client.gui.app import ERRORS_IN_WORDS
from guigui.common import i18n

ROOT = Path(i18n.__file__).resolve().parent.parent
CLIENT = ROOT / "client"
GUI = CLIENT / "gui"
SHARED = [ROOT / "common" / "dates.py"]
"""Modules outside guigui/client whose words the client shows."""

WIDGET_TEXT_OPTIONS = {"text", "title", "values", "message", "prompt"}
"""Keyword arguments that put words on screen."""
NOT_WORDS = ("GuiGui Chat", "GuiGui")
"""Words that are the same in every language (the product's name)."""


def _sources() -> Iterator[Path]:
    yield from sorted(CLIENT.rglob("*.py"))
    yield from SHARED


def translated_literals(path: Path) -> set[str]:
    """The string literals passed to ``_()`` in a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "_"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def _has_words(text: str) -> bool:
    for name in NOT_WORDS:
        text = text.replace(name, "")
    return any(character.isalpha() for character in text)


def _bare_words(node: ast.expr) -> list[str]:
    """The words written in English right in ``node`` (not through ``_()``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if _has_words(node.value) else []
    if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts
        return [
            str(part.value)
            for part in node.values
            if isinstance(part, ast.Constant) and _has_words(str(part.value))
        ]
    if isinstance(node, ast.List | ast.Tuple):
        return [word for element in node.elts for word in _bare_words(element)]
    return []


def bare_widget_texts(path: Path) -> list[str]:
    """``file:line: 'text'`` for every widget text given as an untranslated literal."""
    problems = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg in WIDGET_TEXT_OPTIONS:
                for words in _bare_words(keyword.value):
                    problems.append(f"{path.name}:{keyword.value.lineno}: {words!r}")
    return problems


@pytest.fixture(scope="module")
def french() -> dict[str, str]:
    """The French catalogs, all parts together (as the client loads them)."""
    return i18n.load_catalog("fr")


def test_every_translated_literal_of_the_client_has_its_french(french: dict[str, str]) -> None:
    used: set[str] = set()
    for path in _sources():
        used |= translated_literals(path)
    assert len(used) > 80  # the walk found the client's strings
    assert sorted(used - set(french)) == []


def test_no_widget_shows_an_untranslated_literal() -> None:
    problems = [
        problem for path in sorted(GUI.rglob("*.py")) for problem in bare_widget_texts(path)
    ]
    assert problems == []


def test_the_check_catches_a_bare_literal(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        'ttk.Label(top, text="Hello")\n'
        'ttk.Combobox(top, values=["online", "away"])\n'
        'ttk.Label(top, text=f"Server: {host}")\n'
        'ttk.Label(top, text=_("Fine"))\n'
        'ttk.Label(top, text="GuiGui Chat")\n'
        'ttk.Label(top, text=f"● {state}")\n',
        encoding="utf-8",
    )
    assert bare_widget_texts(sample) == [
        "sample.py:1: 'Hello'",
        "sample.py:2: 'online'",
        "sample.py:2: 'away'",
        "sample.py:3: 'Server: '",
    ]


def test_every_error_in_words_has_its_french(french: dict[str, str]) -> None:
    assert sorted(set(ERRORS_IN_WORDS.values()) - set(french)) == []
