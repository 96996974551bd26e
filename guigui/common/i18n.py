"""French and English for the desktop client, the admin panel and the console, with ``gettext``.

The English text is in the code; ``locale/<language>/`` holds one catalog per
part: ``client.po`` for the desktop client, ``admin.po`` for the admin panel and
console (two files, so that each part's translators and changes stay apart;
they are loaded together). The catalogs are compiled in memory when loaded (a
.po file is small: no build step and no binary file in the repository), then
used through the standard ``gettext.GNUTranslations``. The language follows
the system locale unless the settings choose one.
"""

from __future__ import annotations

import ast
import gettext
import io
import locale
import os
import struct
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("fr", "en")
"""The languages of the interface; English is the code's own."""
_translations: gettext.NullTranslations = gettext.NullTranslations()


def parse_po(text: str) -> dict[str, str]:
    """The ``msgid -> msgstr`` pairs of a .po file (no plurals, no contexts)."""
    catalog: dict[str, str] = {}
    key: str | None = None
    current: list[str] = []
    target = ""

    def finish() -> None:
        nonlocal key
        if key is not None and target == "msgstr":
            value = "".join(current)
            if value:
                catalog[key] = value
            key = None

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or not line:
            continue
        if line.startswith("msgid "):
            finish()
            target, current = "msgid", [ast.literal_eval(line[6:])]
        elif line.startswith("msgstr "):
            key = "".join(current)
            target, current = "msgstr", [ast.literal_eval(line[7:])]
        elif line.startswith('"'):
            current.append(ast.literal_eval(line))
    finish()
    return catalog


def compile_mo(catalog: dict[str, str]) -> bytes:
    """The GNU .mo bytes of a catalog (the format ``gettext`` reads), in UTF-8."""
    catalog = {"": "Content-Type: text/plain; charset=UTF-8\n", **catalog}
    keys = sorted(catalog)
    ids = b"".join(k.encode() + b"\0" for k in keys)
    strs = b"".join(catalog[k].encode() + b"\0" for k in keys)
    count = len(keys)
    key_table_start = 7 * 4
    value_table_start = key_table_start + count * 8
    ids_start = value_table_start + count * 8
    strs_start = ids_start + len(ids)
    key_entries, value_entries = [], []
    offset = 0
    for k in keys:
        size = len(k.encode())
        key_entries.append((size, ids_start + offset))
        offset += size + 1
    offset = 0
    for k in keys:
        size = len(catalog[k].encode())
        value_entries.append((size, strs_start + offset))
        offset += size + 1
    header = struct.pack("<7I", 0x950412DE, 0, count, key_table_start, value_table_start, 0, 0)
    tables = b"".join(struct.pack("<2I", *entry) for entry in key_entries + value_entries)
    return header + tables + ids + strs


def system_language() -> str:
    """``fr`` or ``en``, from the environment's locale."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(variable)
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    code = locale.getlocale()[0] or ""
    return "fr" if code.lower().startswith("fr") else "en"


def set_language(choice: str) -> str:
    """Use ``fr``, ``en`` or ``auto`` (the system's); returns the language now in use."""
    global _translations
    language = system_language() if choice == "auto" else choice
    catalog = load_catalog(language)
    if catalog:
        _translations = gettext.GNUTranslations(io.BytesIO(compile_mo(catalog)))
    else:
        _translations = gettext.NullTranslations()
    return language


def catalog_files(language: str) -> list[Path]:
    """The .po files of a language (none for English, the code's own)."""
    return sorted((LOCALE_DIR / language).glob("*.po")) if language != "en" else []


def load_catalog(language: str) -> dict[str, str]:
    """Every ``msgid -> msgstr`` pair of a language, all parts together."""
    catalog: dict[str, str] = {}
    for po in catalog_files(language):
        catalog.update(parse_po(po.read_text(encoding="utf-8")))
    return catalog


def _(message: str) -> str:
    """The message in the current language."""
    return _translations.gettext(message)
