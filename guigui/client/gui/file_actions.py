"""What the desktop client does with files: attach, download, cancel, show pictures.

The app composes one ``FileActions`` and hands it the transfer updates of the
network thread (``TransferProgress``, ``TransferDone``, ``TransferFailed``,
``TransferCancelled``). It starts uploads and downloads on the network
thread, keeps the model's list of transfers up to date, fetches the copies of
pictures the conversation shows as thumbnails (into the cache, once per
picture), and asks the user what to do when a download's name is taken. All
of it runs in the Tk thread; nothing here blocks on the network.
"""

from __future__ import annotations

import logging
import tempfile
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PIL import ImageTk

from guigui.client.file_display import human_size, is_picture
from guigui.client.file_places import cached_picture, downloads_folder, free_name, is_sha256
from guigui.client.model import ChatModel, Transfer
from guigui.client.network_thread import NetworkThread
from guigui.client.thumbnails import NotAPicture, make_thumbnail
from guigui.client.transfers import download_target
from guigui.common.file_names import safe_file_name
from guigui.common.i18n import _
from guigui.common.objects import ChatMessage, FileInfo

log = logging.getLogger(__name__)

REPLACE, KEEP_BOTH = "replace", "keep both"
"""The answers to "this name is taken" (None: cancel the download)."""

ConflictQuestion = Callable[[Path], str | None]
"""Asks the user what to do when ``path`` exists: ``REPLACE``, ``KEEP_BOTH`` or None."""


class FileHost(Protocol):
    """What ``FileActions`` uses of the app."""

    @property
    def model(self) -> ChatModel:
        """The chat: its transfers and conversations."""

    @property
    def network(self) -> NetworkThread:
        """Where uploads and downloads run."""


class FileActions:
    """Attach, download and cancel files, and give the message view its thumbnails."""

    def __init__(self, host: FileHost, widget: tk.Misc, ask_conflict: ConflictQuestion) -> None:
        self.host = host
        self.widget = widget
        """Any widget of the window: thumbnails are images of its Tk interpreter."""
        self.ask_conflict = ask_conflict
        self.pictures: dict[str, tk.PhotoImage] = {}
        """Thumbnails already decoded, by SHA-256."""
        self.broken: set[str] = set()
        """Pictures that could not be fetched or decoded (shown as such, not fetched again)."""
        self.downloads: Callable[[], Path] = downloads_folder
        self.paste_folder = Path(tempfile.gettempdir()) / "guigui-pasted"

    @property
    def model(self) -> ChatModel:
        """The chat model of the app."""
        return self.host.model

    # ---- uploads --------------------------------------------------------------------------

    def attach(self, paths: list[Path]) -> list[str]:
        """Send each file to the conversation on screen; returns the transfers' keys."""
        key = self.model.selected
        if key is None:
            return []
        started = []
        for path in paths:
            try:
                size = path.stat().st_size
            except OSError as error:
                self.model.notice(
                    _("⚠ {name} cannot be read: {reason}").format(
                        name=path.name, reason=error.strerror
                    )
                )
                continue
            limit = self.host.network.max_file
            if limit and size > limit:  # refused at once: the server would refuse it anyway
                self.model.notice(
                    _(
                        "⚠ {name} not sent: it is {size}, and the server takes {limit} at most."
                    ).format(name=path.name, size=human_size(size), limit=human_size(limit))
                )
                continue
            transfer = self.host.network.send_file(key, path)
            self.model.transfer_started(
                Transfer(transfer, "upload", safe_file_name(path.name), size, conversation=key)
            )
            started.append(transfer)
        return started

    # ---- downloads ------------------------------------------------------------------------

    def download(self, file: FileInfo) -> str | None:
        """Save a file in the Downloads folder, asking first if its name is taken there.

        A name is taken by a file there, or by a download still running to it
        (two downloads must never write the same ``.part``).
        """
        target = download_target(self.downloads(), file.name)
        running = {t.destination for t in self.model.transfers.values() if t.destination}
        if target in running:
            self.model.notice(_("⬇ {name} is already being downloaded.").format(name=target.name))
            return None
        if target.exists():
            answer = self.ask_conflict(target)
            if answer is None:
                return None
            if answer == KEEP_BOTH:
                target = free_name(target, running)
        transfer = self.host.network.get_file(file, target)
        self.model.transfer_started(
            Transfer(transfer, "download", file.name, file.size, file=file, destination=target)
        )
        return transfer

    def cancel(self, transfer: str) -> None:
        """Stop a transfer (its row goes when the network thread says it stopped)."""
        self.host.network.cancel_transfer(transfer)

    # ---- thumbnails ------------------------------------------------------------------------

    def picture(self, file: FileInfo) -> tk.PhotoImage | None:
        """The thumbnail of a picture, or None while its copy is being fetched.

        The first call for a picture not in the cache starts fetching it; the
        conversation is redrawn when it is here.
        """
        picture = self.pictures.get(file.sha256)
        if picture is not None or file.sha256 in self.broken or not is_picture(file):
            return picture
        if not is_sha256(file.sha256):  # it names the cached copy: never a path from the server
            self.broken.add(file.sha256)
            return None
        path = cached_picture(file)
        if path.is_file() and path.stat().st_size == file.size:
            return self._decode(file, path)
        if not self.model.fetching(file):
            path.parent.mkdir(parents=True, exist_ok=True)
            transfer = self.host.network.get_file(file, path)
            self.model.transfer_started(
                Transfer(transfer, "download", file.name, file.size, file=file, shown=False)
            )
        return None

    def is_broken(self, file: FileInfo) -> bool:
        """Whether a picture could not be fetched or decoded."""
        return file.sha256 in self.broken

    def _decode(self, file: FileInfo, path: Path) -> tk.PhotoImage | None:
        try:
            image = make_thumbnail(path, file.type)
        except NotAPicture as error:
            log.info("%s not shown: %s", file.name, error)
            self.broken.add(file.sha256)
            return None
        picture = ImageTk.PhotoImage(image, master=self.widget)
        self.pictures[file.sha256] = picture  # type: ignore[assignment]
        return picture  # type: ignore[return-value]

    # ---- updates from the network thread ------------------------------------------------------

    def on_progress(self, transfer: str, done: int, total: int) -> None:
        """More of a file went through."""
        self.model.transfer_progressed(transfer, done, total)

    def on_done(self, transfer: str, message: ChatMessage | None, path: Path | None) -> None:
        """An upload is stored (its message appears) or a download is saved."""
        ended = self.model.transfer_ended(transfer)
        if message is not None:
            self.model.receive(message)
        if ended is None or ended.direction != "download":
            return
        if not ended.shown:  # a picture's copy: the conversation can draw its thumbnail now
            self._redraw_pictures()
        elif path is not None:
            self.model.notice(
                _("{name} ({size}) saved in {folder}.").format(
                    name=path.name,
                    size=human_size(ended.total),
                    folder=path.parent,
                )
            )

    def on_failed(self, transfer: str, reason: str) -> None:
        """A transfer stopped for good: say why (``reason``, in the user's language)."""
        ended = self.model.transfer_ended(transfer)
        if ended is not None and not ended.shown and ended.file is not None:
            self.broken.add(ended.file.sha256)
            self._redraw_pictures()
            return
        name = ended.name if ended is not None else ""
        self.model.notice(
            _("⚠ {name} not sent: {reason}").format(name=name, reason=reason)
            if ended is None or ended.direction == "upload"
            else _("⚠ {name} not downloaded: {reason}").format(name=name, reason=reason)
        )

    def on_cancelled(self, transfer: str) -> None:
        """A transfer stopped because the user cancelled it."""
        ended = self.model.transfer_ended(transfer)
        if ended is not None and ended.shown:
            self.model.notice(_("{name}: cancelled.").format(name=ended.name))

    def _redraw_pictures(self) -> None:
        self.model.redraw_selected()

    def forget(self) -> None:
        """Drop decoded thumbnails (after a logout: the next user fetches their own)."""
        self.pictures.clear()
        self.broken.clear()
