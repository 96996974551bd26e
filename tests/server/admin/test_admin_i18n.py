"""The panel and the console in French: no user-visible string without its French.

Read from the code's syntax tree: every ``_("…")`` literal under
guigui/server/admin and in guigui/server/moderation.py (whose refusals the
admin reads) has a French msgstr in admin.po, and no widget text, title
or line printed to the admin is a bare English literal that ``_`` never sees.
The French run of the real panel is in test_panel.py (``test_the_panel_in_french``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from guigui.common import i18n
from guigui.server.admin import moments

ADMIN = Path(i18n.__file__).parent.parent / "server" / "admin"
ADMIN_PO = i18n.LOCALE_DIR / "fr" / "admin.po"
SOURCES = [*sorted(ADMIN.glob("*.py")), ADMIN.parent / "moderation.py"]
"""The modules whose every shown string the admin reads."""
SHOWN_KEYWORDS = {"text", "title", "message"}
"""Keyword arguments whose value the admin reads (a widget's text, a dialog's title)."""
SHOWN_CALLS = {"say": 1, "show_message": 1, "show_error": 1, "ask": 2}
"""Calls whose first positional arguments (how many) the admin reads; what follows is a
style (``"warning"``) or data."""


def translated_literals() -> dict[str, tuple[Path, int]]:
    """Every ``_("…")`` literal of the admin's sources, with where it is."""
    found: dict[str, tuple[Path, int]] = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_"
            ):
                assert len(node.args) == 1 and isinstance(node.args[0], ast.Constant), (
                    f"{path.name}:{node.lineno}: _() takes one string literal"
                )
                found[str(node.args[0].value)] = (path, node.lineno)
    return found


def has_words(node: ast.expr) -> bool:
    """Whether an expression is a literal (or f-string) holding English words."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(re.search(r"[A-Za-z]{2,}", node.value))
    if isinstance(node, ast.JoinedStr):
        return any(has_words(part) for part in node.values if isinstance(part, ast.Constant))
    return False


def test_every_translated_string_of_the_panel_and_console_has_its_french() -> None:
    catalog = i18n.parse_po(ADMIN_PO.read_text(encoding="utf-8"))
    missing = {
        f"{path.name}:{line}: {text!r}"
        for text, (path, line) in translated_literals().items()
        if text not in catalog
    }
    assert not missing, sorted(missing)


def test_no_shown_string_escapes_the_catalog() -> None:
    bare = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg in SHOWN_KEYWORDS and has_words(keyword.value):
                    bare.append(f"{path.name}:{node.lineno}: {keyword.arg}=")
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in SHOWN_CALLS:
                bare += [
                    f"{path.name}:{node.lineno}: {name}(...)"
                    for argument in node.args[: SHOWN_CALLS[name]]
                    if has_words(argument)
                ]
    assert not bare, bare


def test_the_catalog_is_sorted_by_msgid_and_has_nothing_stale() -> None:
    text = ADMIN_PO.read_text(encoding="utf-8")
    catalog = i18n.parse_po(text)
    assert list(catalog) == sorted(catalog)
    assert set(catalog) - set(translated_literals()) == {""}  # "": the header


def test_dates_and_durations_read_as_the_admin_reads_them() -> None:
    moment_ms = 1795873304794  # the raw number the log used to show
    try:
        i18n.set_language("fr")
        assert re.fullmatch(r"28/11/2026 \d\d:41:44", moments.moment(moment_ms))
        assert moments.day(moment_ms).endswith("28 novembre 2026")
        assert moments.day(moment_ms).split()[0] in ("vendredi", "samedi")
        assert moments.relative(moment_ms, moment_ms - 300_000) == "dans 5 min"
        assert moments.relative(moment_ms, moment_ms + 90_000) == "il y a 1 min 30 s"
        assert moments.until(None) == "définitivement"
        i18n.set_language("en")
        assert re.fullmatch(r"2026-11-28 \d\d:41:44", moments.moment(moment_ms))
        assert moments.span(3 * 86400 + 7200) == "3 d 2 h"
        assert moments.span(3600) == "1 h"
        assert moments.until(moment_ms, moment_ms - 30_000).endswith("(in 30 s)")
    finally:
        i18n.set_language("en")
