"""The widgets of files: a picture's thumbnail, a file's card, the progress of transfers.

Thin views: what they show comes from ``file_display`` and the model's
``Transfer``; what the user does (download, cancel) goes to the callbacks
they are given. Also the two ways of attaching that need Tk: dropping files
on the window (tkdnd, through tkinterdnd2, where it loads) and pasting a
picture from the clipboard.
"""

from __future__ import annotations

import logging
import subprocess
import time
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ttkbootstrap as ttk
from PIL import Image, ImageGrab

from guigui.client.file_display import human_size, progress_in_words
from guigui.client.file_places import free_name
from guigui.client.model import Transfer
from guigui.common.i18n import _
from guigui.common.objects import FileInfo

log = logging.getLogger(__name__)

PICTURE_TARGETS = ("image/png", "image/jpeg", "image/bmp", "image/gif", "image/webp")
"""Clipboard targets (X11 selection types) that hold a picture."""


class FileCard(ttk.Frame):
    """A file that is not a picture: its name, its size and a download button."""

    def __init__(self, master: Any, file: FileInfo, on_download: Callable[[FileInfo], object]):
        super().__init__(master, padding=(10, 6), relief="solid", borderwidth=1)
        ttk.Label(self, icon="file-earmark-text", icon_size=26, bootstyle="secondary").pack(
            side="left", padx=(0, 8)
        )
        words = ttk.Frame(self)
        words.pack(side="left")
        self.name_label = ttk.Label(words, text=file.name, font="-weight bold")
        self.name_label.pack(anchor="w")
        self.size_label = ttk.Label(words, text=human_size(file.size), bootstyle="secondary")
        self.size_label.pack(anchor="w")
        self.download_button = ttk.Button(
            self,
            text=_("Download"),
            icon="download",
            bootstyle="primary",
            command=lambda: on_download(file),
        )
        self.download_button.pack(side="left", padx=(12, 0))


class PictureView(ttk.Frame):
    """A picture: its thumbnail (or "loading" until its copy is here) and a download link."""

    def __init__(
        self,
        master: Any,
        file: FileInfo,
        picture: tk.PhotoImage | None,
        on_download: Callable[[FileInfo], object],
        broken: bool = False,
    ):
        # A card like ``FileCard``: on the dark theme the window's colour, around the
        # picture and its footer alike, reads as one block in the conversation.
        super().__init__(master, padding=6, relief="solid", borderwidth=1)
        self.picture = picture
        if picture is not None:
            self.thumbnail: ttk.Label = ttk.Label(self, image=picture, cursor="hand2")
        else:
            waiting = _("Picture cannot be shown") if broken else _("Loading picture…")
            self.thumbnail = ttk.Label(
                self, text=f"{waiting}  ({file.name})", bootstyle="secondary", padding=(8, 12)
            )
        self.thumbnail.pack(anchor="w")
        self.thumbnail.bind("<Double-Button-1>", lambda _e: on_download(file))
        footer = ttk.Frame(self)
        footer.pack(anchor="w")
        ttk.Label(
            footer, text=f"{file.name} · {human_size(file.size)}", bootstyle="secondary"
        ).pack(side="left")
        self.download_button = ttk.Button(
            footer,
            text=_("Download"),
            icon="download",
            bootstyle="link",
            padding=(4, 0),
            cursor="hand2",
            command=lambda: on_download(file),
        )
        self.download_button.pack(side="left")


class TransferRow(ttk.Frame):
    """One transfer: what it is, a progress bar, how far it is, and a cancel button."""

    def __init__(self, master: Any, transfer: Transfer, on_cancel: Callable[[str], None]):
        super().__init__(master)
        arrow = "↑" if transfer.direction == "upload" else "↓"
        self.name_label = ttk.Label(self, text=f"{arrow} {transfer.name}", width=28)
        self.name_label.pack(side="left")
        self.bar = ttk.Progressbar(self, maximum=max(transfer.total, 1), bootstyle="info")
        self.bar.pack(side="left", fill="x", expand=True, padx=6)
        self.amount = ttk.Label(self, text="", font="-size 8", bootstyle="secondary", width=22)
        self.amount.pack(side="left")
        self.cancel_button = ttk.Button(
            self,
            text=_("Cancel"),
            icon="x-circle",
            bootstyle="secondary-link",
            padding=(4, 0),
            command=lambda: on_cancel(transfer.key),
        )
        self.cancel_button.pack(side="left")
        self.update_from(transfer)

    def update_from(self, transfer: Transfer) -> None:
        """Show how far the transfer is."""
        self.bar.configure(maximum=max(transfer.total, 1), value=transfer.done)
        self.amount.configure(text=progress_in_words(transfer.done, transfer.total))


class TransferPanel(ttk.Frame):
    """The transfers in progress, above the message box (hidden when there are none)."""

    def __init__(self, master: Any, on_cancel: Callable[[str], None]):
        super().__init__(master)
        self.on_cancel = on_cancel
        self.rows: dict[str, TransferRow] = {}

    def show(self, transfers: list[Transfer]) -> None:
        """One row per transfer, updated in place; rows of finished ones go away."""
        wanted = {t.key for t in transfers}
        for key in list(self.rows):
            if key not in wanted:
                self.rows.pop(key).destroy()
        for transfer in transfers:
            row = self.rows.get(transfer.key)
            if row is None:
                row = self.rows[transfer.key] = TransferRow(self, transfer, self.on_cancel)
                row.pack(fill="x", pady=1)
            else:
                row.update_from(transfer)


def enable_file_drop(widget: tk.Misc, on_files: Callable[[list[Path]], object]) -> bool:
    """Let files be dropped on ``widget`` (tkdnd, through tkinterdnd2); False if unavailable.

    tkinterdnd2 brings the tkdnd Tcl extension for Linux, Windows and macOS.
    Where it does not load (another platform, a Tk without it), the client
    works as before: attaching by the button or by pasting still does.
    """
    try:
        from tkinterdnd2 import DND_FILES, TkinterDnD  # type: ignore[import-untyped]
    except ImportError:
        return False
    try:
        TkinterDnD.require(widget.winfo_toplevel())
    except (RuntimeError, tk.TclError) as error:
        log.info("drag and drop unavailable: %s", error)
        return False

    def dropped(event: Any) -> str:
        paths = [Path(p) for p in widget.tk.splitlist(event.data)]
        on_files([p for p in paths if p.is_file()])
        return str(event.action)

    widget.drop_target_register(DND_FILES)  # type: ignore[attr-defined]
    widget.dnd_bind("<<Drop>>", dropped)  # type: ignore[attr-defined]
    return True


def clipboard_has_picture(widget: tk.Misc) -> bool:
    """Whether the clipboard holds a picture, asked through Tk itself.

    Asking Tk first matters: when this very window owns the clipboard (text
    copied in it), an outside program reading it would wait for our answer
    while we wait for it. A picture always comes from another program.
    """
    try:
        targets = widget.tk.splitlist(
            widget.tk.call("clipboard", "get", "-displayof", widget, "-type", "TARGETS")
        )
    except tk.TclError:
        return False
    return any(str(target) in PICTURE_TARGETS for target in targets)


def paste_picture(widget: tk.Misc, folder: Path) -> Path | None:
    """The clipboard's picture saved as a PNG in ``folder``, or None when it holds none.

    Pillow's ``ImageGrab.grabclipboard`` reads it (``xclip`` on X11,
    ``wl-paste`` on Wayland, the system's clipboard on Windows and macOS).
    """
    if widget.tk.call("tk", "windowingsystem") == "x11" and not clipboard_has_picture(widget):
        return None
    try:
        content = ImageGrab.grabclipboard()
    except (OSError, NotImplementedError, subprocess.SubprocessError) as error:
        log.info("no picture from the clipboard: %s", error)
        return None
    if not isinstance(content, Image.Image):
        return None
    folder.mkdir(parents=True, exist_ok=True)
    # Never over an earlier paste: its upload may still be reading it.
    path = free_name(folder / time.strftime("pasted-%Y-%m-%d-%H%M%S.png"))
    content.save(path, "PNG")
    return path
