"""The panel's "Files" tab: the files kept, a filter by owner, delete, the storage used.

A thin view like the rest of the panel: it asks ``AdminAPI`` and shows what
comes back. What the delete button needs (the files listed) is kept from the
last answer, never read from the server. The tab lists again every second
while it is shown (the panel calls ``refresh``), after a filter and after a
deletion; the storage used is told to it by the panel, which shows it in the
status line too.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import ttkbootstrap as ttk

from guigui.common.i18n import _
from guigui.server.admin import moments
from guigui.server.admin.api import AdminAPI
from guigui.server.admin.file_list import (
    ListedFile,
    conversation,
    size_words,
    storage_words,
)
from guigui.server.admin.search import one_line
from guigui.server.admin.table import Table
from guigui.server.admin.wording import names

T = TypeVar("T")


class PanelServices(Protocol):
    """What the tab calls on the panel that holds it."""

    api: AdminAPI

    def when_done(
        self,
        future: concurrent.futures.Future[T],
        on_result: Callable[[T], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Call ``on_result`` in the Tk thread once ``future`` is done (else show the error)."""

    def show_message(self, text: str, style: str = "success") -> None:
        """A notice under the tabs."""

    def show_error(self, error: BaseException) -> None:
        """A command's failure in words."""

    def ask(
        self, title: str, message: str, buttons: Sequence[tuple[str, str]], default: str
    ) -> str | None:
        """A dialog: the label of the button pressed, None if dismissed."""

    def bell(self) -> None:
        """Ring the bell (Tk's)."""


class FilesTab(ttk.Frame):
    """The files kept: who sent what, where, when, how big; delete; storage used."""

    def __init__(self, master: Any, panel: PanelServices) -> None:
        super().__init__(master, padding=8)
        self.panel = panel
        self.owner: str | None = None
        """The login the list is filtered by (None: every file), as last applied."""
        self.files_shown: dict[str, ListedFile] = {}
        """The files in the table, by row key, from the last ``api.files()``."""
        self._listing = False
        """A listing is on its way: the next refresh waits for it."""
        self._stopped = False
        """The last listing failed (an unknown login, say): no refresh until a new filter."""

        bar = ttk.Frame(self, padding=(0, 0, 0, 8))
        bar.pack(fill="x")
        ttk.Label(bar, text=_("owner (login)")).pack(side="left")
        self.owner_entry = ttk.Entry(bar, width=22)
        self.owner_entry.pack(side="left", padx=6)
        self.owner_entry.bind("<Return>", lambda _event: self.apply_filter())
        self.filter_button = ttk.Button(
            bar, text=_("Filter"), bootstyle="primary", command=self.apply_filter
        )
        self.filter_button.pack(side="left", padx=4)
        self.all_button = ttk.Button(
            bar, text=_("All files"), bootstyle="secondary-outline", command=self.show_all
        )
        self.all_button.pack(side="left", padx=4)

        bottom = ttk.Frame(self, padding=(0, 8, 0, 0))
        bottom.pack(side="bottom", fill="x")
        self.delete_button = ttk.Button(
            bottom, text=_("Delete…"), bootstyle="danger", command=self.delete_selected
        )
        self.delete_button.pack(side="left")
        self.storage_label = ttk.Label(bottom, text="", bootstyle="secondary")
        self.storage_label.pack(side="left", padx=12)

        self.table = Table(
            self,
            [("number", "#", 50), ("when", _("sent at"), 150), ("owner", _("owner"), 110),
             ("place", _("room / to"), 110), ("name", _("name"), 230),
             ("size", _("size"), 80), ("type", _("type"), 130)],
        )  # fmt: skip
        self.table.pack(fill="both", expand=True)

    # ---- what the panel tells it -----------------------------------------------------

    def show_storage(self, files: int, size: int) -> None:
        """The storage used by every file (not only those listed)."""
        self.storage_label.configure(
            text=_("storage used: {storage}").format(storage=storage_words(files, size))
        )

    def refresh(self) -> None:
        """List the files again with the filter applied (skipped while a listing is on its way)."""
        if self._listing or self._stopped:
            return
        self._listing = True
        owner = self.owner
        self.panel.when_done(
            self.panel.api.files(owner),
            lambda files: self._show(owner, files),
            lambda error: self._failed(owner, error),
        )

    # ---- actions -----------------------------------------------------------------------

    def apply_filter(self) -> None:
        """List only the files of the login typed (every file when the box is empty)."""
        self.owner = self.owner_entry.get().strip() or None
        self._listing = self._stopped = False  # the new filter's answer is the one to wait for
        self.refresh()

    def show_all(self) -> None:
        """Clear the filter and list every file."""
        self.owner_entry.delete(0, "end")
        self.apply_filter()

    def delete_selected(self) -> None:
        """Delete the selected files after a confirmation (audited)."""
        chosen = [self.files_shown[key] for key in self.table.selected() if key in self.files_shown]
        if not chosen:
            self.panel.show_message(_("Select a file in the list first."), "warning")
            self.panel.bell()
            return
        described = names(
            [
                _("{name} ({size}, sent by {login})").format(
                    name=one_line(file.name), size=size_words(file.size), login=file.owner
                )
                for file in chosen
            ]
        )
        if len(chosen) == 1:
            delete = _("Delete the file")
            question = _(
                "Delete {files}? Nobody will be able to download it any more, and it cannot be"
                " undone."
            )
        else:
            delete = _("Delete the files")
            question = _(
                "Delete {files}? Nobody will be able to download them any more, and it cannot be"
                " undone."
            )
        question = question.format(files=described)
        cancel = _("Cancel")
        if self.panel.ask(
            delete, question, [(cancel, "secondary"), (delete, "danger")], cancel
        ) != (delete):
            self.panel.show_message(_("Nothing done."), "secondary")
            return
        futures = [self.panel.api.delete_file(file.id) for file in chosen]
        done: list[ListedFile] = []

        def deleted(file: ListedFile) -> None:
            done.append(file)
            self.panel.show_message(
                "; ".join(
                    _("deleted file #{number} {name} ({size}), sent by {login}").format(
                        number=f.id, name=one_line(f.name), size=size_words(f.size), login=f.owner
                    )
                    for f in done
                ),
                "warning",
            )
            self._listing = False
            self.refresh()

        for future in futures:
            self.panel.when_done(future, deleted)

    # ---- answers -----------------------------------------------------------------------

    def _show(self, owner: str | None, files: Sequence[ListedFile]) -> None:
        if owner != self.owner:  # the answer for a filter since replaced
            return
        self._listing = False
        self.files_shown = {str(file.id): file for file in files}
        self.table.show(
            [
                (
                    key,
                    (file.id, moments.moment(file.created_at), file.owner, conversation(file),
                     one_line(file.name), size_words(file.size), file.type),
                )
                for key, file in self.files_shown.items()
            ]
        )  # fmt: skip

    def _failed(self, owner: str | None, error: BaseException) -> None:
        if owner != self.owner:
            return
        self._listing, self._stopped = False, True
        self.files_shown = {}
        self.table.show([])
        self.panel.show_error(error)


__all__ = ["FilesTab", "PanelServices"]
