"""French and English: every string the client translates has its French."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from guigui.client.gui.app import ERRORS_IN_WORDS
from guigui.common import i18n
from guigui.common.i18n import _, compile_mo, set_language
from guigui.common.validation import email_problem, login_problem, name_problem, password_problem

GUI = Path(i18n.__file__).parent.parent / "client" / "gui"


@pytest.fixture(autouse=True)
def back_to_english() -> Iterator[None]:
    yield
    set_language("en")


def test_french_is_used_when_chosen() -> None:
    assert set_language("fr") == "fr"
    assert _("Rooms") == "Salons"
    assert _("You joined {room}.").format(room="Blabla") == "Vous avez rejoint Blabla."
    assert set_language("en") == "en"
    assert _("Rooms") == "Rooms"


def test_the_system_locale_decides_in_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert set_language("auto") == "fr"
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    assert set_language("auto") == "en"


def test_every_translated_string_of_the_gui_has_its_french() -> None:
    catalog = i18n.load_catalog("fr")
    used = set()
    for path in GUI.glob("*.py"):
        used |= set(re.findall(r'_\("((?:[^"\\]|\\.)+)"\)', path.read_text(encoding="utf-8")))
    used |= set(ERRORS_IN_WORDS.values())
    missing = sorted(used - set(catalog))
    assert missing == []


def test_every_reason_of_the_field_rules_has_its_french() -> None:
    catalog = i18n.load_catalog("fr")
    reasons = [
        login_problem("ab"),
        login_problem("a b c"),
        password_problem("short"),
        password_problem("é" * 37),
        name_problem(" "),
        name_problem("x" * 65),
        name_problem("Ada\u202e"),
        name_problem("-"),
        email_problem(""),
        email_problem("a@" + "b" * 253),
        email_problem("a\x00@b.fr"),
        email_problem("a b@c.fr"),
        email_problem("nope"),
    ]
    assert None not in reasons
    missing = sorted({str(reason) for reason in reasons} - set(catalog))
    assert missing == []


def test_compiled_catalog_round_trips() -> None:
    import gettext
    import io

    translations = gettext.GNUTranslations(io.BytesIO(compile_mo({"a": "b", "Été": "Summer"})))
    assert translations.gettext("a") == "b" and translations.gettext("Été") == "Summer"
    assert translations.gettext("unknown") == "unknown"
