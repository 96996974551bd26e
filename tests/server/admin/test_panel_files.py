"""The panel's Files tab, a real Tk window on Xvfb against a real server, in both languages.

Screenshots for docs/ADMIN.md and docs/fr/ADMIN.md: ``admin-files`` (English),
``admin-files-fr-light``, and the confirmation dialog in each language.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from guigui.common.i18n import parse_po
from guigui.common.protocol import MessageType
from tests.server.admin.test_admin_files import PICTURE, QUOTE, upload
from tests.server.admin.test_panel import (
    Dialog,
    LoggedIn,
    OpenPanel,
    log_in,
    open_panel,
    pump,
    select_tab,
    texts,
    visible_inside,
    window_id,
    window_size,
)
from tests.support.display import display, screenshot

__all__ = ["display", "open_panel"]  # the fixtures, used by name


def rows(window: Any) -> list[list[str]]:
    """The Files table's rows, as shown."""
    tree = window.files_tab.table.tree
    return [[str(value) for value in tree.item(key, "values")] for key in tree.get_children()]


def status(window: Any) -> str:
    """The status line, its no-break spaces as spaces."""
    return str(window.status_text.get()).replace("\N{NO-BREAK SPACE}", " ")


def notice(window: Any) -> str:
    return str(window.message.cget("text"))


def said(dialog: Dialog) -> str:
    """What a dialog said, on one line (the dialog wraps its text)."""
    return " ".join(dialog.message.split())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_files_tab_lists_filters_and_deletes_after_a_confirmation(
    open_panel: OpenPanel, logged_in: LoggedIn
) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    plan = upload(alice, "plan.png", PICTURE, room="Général")["file"]
    quote = upload(bob, "devis 2026.pdf", QUOTE, to="alice")["file"]
    window = open_panel("en")
    log_in(window)
    tab = window.files_tab
    pump(window, lambda: "files: 2 (167 KiB)" in status(window))
    select_tab(window, tab)
    pump(window, lambda: len(rows(window)) == 2)
    assert [row[2:] for row in rows(window)] == [
        ["bob", "to alice", "devis 2026.pdf", "117 KiB", "application/pdf"],
        ["alice", "Général", "plan.png", "50.0 KiB", "image/png"],
    ]
    assert str(tab.storage_label.cget("text")) == "storage used: 2 file(s), 167 KiB"
    screenshot(window_id(window), "admin-files")

    tab.delete_button.invoke()
    assert notice(window) == "Select a file in the list first."
    tab.owner_entry.insert(0, "bob")
    tab.filter_button.invoke()
    pump(window, lambda: [row[0] for row in rows(window)] == [str(quote["id"])])
    tab.owner_entry.delete(0, "end")
    tab.owner_entry.insert(0, "nobody")
    tab.filter_button.invoke()
    pump(window, lambda: "no user named 'nobody'" in notice(window))
    assert rows(window) == []
    tab.all_button.invoke()
    pump(window, lambda: len(rows(window)) == 2)

    tab.table.tree.selection_set(str(quote["id"]))
    dialog = Dialog(window, "Cancel")
    tab.delete_button.invoke()
    pump(window, lambda: notice(window) == "Nothing done.")
    assert said(dialog).startswith(
        "Delete devis 2026.pdf (117 KiB, sent by bob)? Nobody will be able to download it"
    )
    assert dialog.buttons == ["Cancel", "Delete the file"]
    dialog = Dialog(window, "Delete the file", "admin-files-delete-dialog-en")
    tab.delete_button.invoke()
    pump(window, lambda: notice(window).startswith("deleted file #"))
    assert notice(window) == (f"deleted file #{quote['id']} devis 2026.pdf (117 KiB), sent by bob")
    pump(window, lambda: [row[0] for row in rows(window)] == [str(plan["id"])])
    pump(window, lambda: "files: 1 (50.0 KiB)" in status(window))
    assert alice.error(MessageType.FILE_GET, file=quote["id"])["code"] == "no_such_file"
    audit = window.audit_table.tree
    pump(
        window,
        lambda: any(audit.item(key, "values")[2] == "delete file" for key in audit.get_children()),
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_files_tab_in_french_at_the_smallest_size(
    open_panel: OpenPanel, logged_in: LoggedIn
) -> None:
    from guigui.server.admin import panel as panel_module
    from guigui.server.admin.panel import MINSIZE, SIZE

    po = Path(panel_module.__file__).parents[2] / "common" / "locale" / "fr" / "admin.po"
    english_only = {k for k, v in parse_po(po.read_text(encoding="utf-8")).items() if k != v}
    alice, bob = logged_in("alice"), logged_in("bob")
    upload(alice, "plan.png", PICTURE, room="Général")
    upload(bob, "devis 2026.pdf", QUOTE, to="alice")
    window = open_panel("fr")
    log_in(window)
    tab = window.files_tab
    select_tab(window, tab)
    pump(window, lambda: len(rows(window)) == 2)
    pump(window, lambda: "fichiers : 2 (167 Kio)" in status(window))
    assert rows(window)[0][2:] == ["bob", "à alice", "devis 2026.pdf", "117 Kio",
                                   "application/pdf"]  # fmt: skip
    shown = set(texts(window))
    assert "Fichiers" in shown and not shown & english_only, shown & english_only
    assert str(tab.storage_label.cget("text")) == "stockage utilisé : 2 fichier(s), 167 Kio"
    screenshot(window_id(window), "admin-files-fr-light")
    for width, height in (SIZE, MINSIZE):
        window.geometry(f"{width}x{height}")
        wanted = (width, height)
        pump(window, lambda: window_size(window) == wanted)  # noqa: B023 (used at once)
        for widget in (tab.owner_entry, tab.filter_button, tab.all_button, tab.delete_button,
                       tab.storage_label):  # fmt: skip
            assert visible_inside(window, widget), (widget, width, height)

    tab.table.tree.selection_set(*tab.table.tree.get_children())
    dialog = Dialog(window, "Annuler", "admin-files-delete-dialog-fr")
    tab.delete_button.invoke()
    pump(window, lambda: dialog.toplevel is not None)
    assert dialog.buttons == ["Annuler", "Supprimer les fichiers"]
    assert said(dialog).startswith(
        "Supprimer devis 2026.pdf (117 Kio, envoyé par bob) et plan.png (50,0 Kio, envoyé"
        " par alice) ? Plus personne ne pourra les télécharger"
    )
    assert len(rows(window)) == 2
