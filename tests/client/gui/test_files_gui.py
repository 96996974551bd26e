"""Files in the desktop client, real Tk windows on Xvfb against a real server.

Alice attaches a picture with the paperclip, sees the progress bar, then its
thumbnail; a document becomes a card with its size in words; Bob's client
shows the same thumbnail and downloads the picture into his Downloads folder
(the file there equals the original; a second download asks, and keeps both).
A cancelled transfer loses its bar; a refused one says why in the user's
language; Ctrl+V sends a picture on the clipboard and pastes text otherwise.

The chat goes over the real server. The file transfers themselves are played
by ``FakeTransfers``, standing for the network thread's ``send_file``,
``get_file`` and ``cancel_transfer``: it answers with the very updates the
network thread sends (``TransferProgress``, ``TransferDone``...), so what is
tested is the GUI's side of them.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import ttkbootstrap as ttk
from PIL import Image

from guigui.client.gui.app import ClientApp
from guigui.client.gui.attachments import FileCard, PictureView
from guigui.client.gui.file_actions import KEEP_BOTH
from guigui.client.model import ConversationKey
from guigui.client.updates import (
    ServerEvent,
    TransferCancelled,
    TransferDone,
    TransferFailed,
    TransferProgress,
)
from guigui.common.file_types import detect_type
from guigui.common.messages import MessageEvent
from guigui.common.objects import ChatMessage, FileInfo
from tests.client.gui.support import GENERAL, desktop_client, log_in, pump, register, shot
from tests.conftest import RunningServer
from tests.support.display import display

__all__ = ["display"]


class FakeTransfers:
    """The network thread's file side, answering with the updates it would send."""

    def __init__(self, app: ClientApp, stored: dict[str, Path]) -> None:
        self.app = app
        self.stored = stored
        """What the "server" holds, by SHA-256 (shared by both clients)."""
        self.count = 0
        self.uploads: dict[str, tuple[ConversationKey, Path]] = {}
        self.cancelled: list[str] = []
        app.network.send_file = self.send_file  # type: ignore[method-assign]
        app.network.get_file = self.get_file  # type: ignore[method-assign]
        app.network.cancel_transfer = self.cancel_transfer  # type: ignore[method-assign]

    def _key(self) -> str:
        self.count += 1
        return f"t{self.count}"

    def send_file(self, key: ConversationKey, path: Path, text: str | None = None) -> str:
        transfer = self._key()
        self.uploads[transfer] = (key, path)
        size = path.stat().st_size
        self.app.network.updates.put(TransferProgress(transfer, size // 3, size))
        return transfer

    def finish_upload(self, transfer: str, message_id: int) -> ChatMessage:
        key, path = self.uploads.pop(transfer)
        content = path.read_bytes()
        sha256 = hashlib.sha256(content).hexdigest()
        self.stored[sha256] = path
        file = FileInfo(message_id, path.name, len(content), detect_type(content[:4096]), sha256)
        now = int(time.time() * 1000)
        sender = self.app.model.me or ""
        message = ChatMessage(message_id, key.name, sender, None, path.name, now, file)
        self.app.network.updates.put(TransferDone(transfer, message, None))
        return message

    def get_file(self, file: FileInfo, destination: Path) -> str:
        transfer = self._key()
        shutil.copyfile(self.stored[file.sha256], destination)
        self.app.network.updates.put(TransferProgress(transfer, file.size, file.size))
        self.app.network.updates.put(TransferDone(transfer, None, destination))
        return transfer

    def cancel_transfer(self, transfer: str) -> None:
        self.cancelled.append(transfer)
        self.app.network.updates.put(TransferCancelled(transfer))


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Downloads folder set in user-dirs.dirs, and a cache, in a temporary home."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "user-dirs.dirs").write_text(f'XDG_DOWNLOAD_DIR="{tmp_path}/Downloads"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "Downloads"


def sample_files(folder: Path) -> tuple[Path, Path]:
    """A picture (a small chart) and a document."""
    folder.mkdir(exist_ok=True)
    picture = Image.new("RGB", (480, 300), (245, 245, 250))
    for index, (height, colour) in enumerate(
        [(120, (13, 110, 253)), (200, (25, 135, 84)), (260, (220, 53, 69)), (170, (255, 193, 7))]
    ):
        left = 40 + index * 105
        for x in range(left, left + 70):
            for y in range(280 - height, 280):
                picture.putpixel((x, y), colour)
    chart = folder / "ventes-2026.png"
    picture.save(chart)
    report = folder / "rapport.txt"
    report.write_text("Rapport trimestriel\n" * 4000, encoding="utf-8")
    return chart, report


def attachments(app: ClientApp) -> list[object]:
    return list(app.main_window.message_view.attachments)


def thumbnail_shown(app: ClientApp) -> bool:
    return any(
        isinstance(view, PictureView) and view.picture is not None for view in attachments(app)
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("alice_look", "bob_look"),
    [(("en", "light"), ("fr", "dark")), (("fr", "dark"), ("en", "light"))],
)
def test_a_picture_from_alice_to_bob(
    display: str,
    running_server: RunningServer,
    places: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    alice_look: tuple[str, str],
    bob_look: tuple[str, str],
) -> None:
    chart, report = sample_files(tmp_path / "originals")
    stored: dict[str, Path] = {}
    register(running_server, "alice")
    register(running_server, "bob")
    language, theme = alice_look
    with desktop_client(running_server, language=language, theme=theme) as app:
        log_in(app, "alice")
        fake = FakeTransfers(app, stored)
        main = app.main_window
        assert main.attach_button.winfo_ismapped()
        assert main.drop_enabled  # tkdnd (tkinterdnd2) loads under Xvfb

        # The paperclip: a file dialog, then a progress bar with a cancel button.
        monkeypatch.setattr(
            ttk.Querybox, "get_open_filenames", lambda **_options: (str(chart), str(report))
        )
        main.attach_button.invoke()
        pump(app, lambda: len(main.transfer_panel.rows) == 2)
        chart_upload, report_upload = list(main.transfer_panel.rows)
        row = main.transfer_panel.rows[chart_upload]
        pump(app, lambda: float(row.bar.cget("value")) == chart.stat().st_size // 3)
        assert row.bar.winfo_ismapped()
        shot(app, f"files-uploading-{language}")

        # Stored: the picture shows as a thumbnail, the document as a card.
        picture_message = fake.finish_upload(chart_upload, 901)
        document_message = fake.finish_upload(report_upload, 902)
        pump(app, lambda: not main.transfer_panel.rows and thumbnail_shown(app))
        cards = [view for view in attachments(app) if isinstance(view, FileCard)]
        assert len(cards) == 1
        size_words = "78 KB" if language == "en" else "78 Ko"
        assert cards[0].size_label.cget("text") == size_words
        shot(app, f"files-{language}")

        # A refused upload says why, in the user's language.
        main.attach_button.invoke()
        pump(app, lambda: len(main.transfer_panel.rows) == 2)
        first, second = list(main.transfer_panel.rows)
        app.network.updates.put(TransferFailed(first, "file_too_large"))
        too_large = {
            "en": "larger than the server takes",
            "fr": "dépasse la taille que le serveur accepte",
        }[language]
        pump(app, lambda: first not in main.transfer_panel.rows)
        assert too_large in app.model.notices[-1]
        # Cancel: the network thread is told, and the bar goes.
        main.transfer_panel.rows[second].cancel_button.invoke()
        pump(app, lambda: not main.transfer_panel.rows)
        assert fake.cancelled == [second]

    # Bob's client: the message arrives live, its thumbnail shows, he downloads the picture.
    language, theme = bob_look
    with desktop_client(running_server, language=language, theme=theme) as app:
        log_in(app, "bob")
        fake = FakeTransfers(app, stored)
        main = app.main_window
        for message in (picture_message, document_message):
            app.network.updates.put(ServerEvent(MessageEvent(message)))
        pump(app, lambda: thumbnail_shown(app))
        shot(app, f"files-received-{language}")
        view = next(v for v in attachments(app) if isinstance(v, PictureView))
        view.download_button.invoke()
        saved = places / chart.name
        pump(app, lambda: saved.exists() and not app.model.transfers)
        assert saved.read_bytes() == chart.read_bytes()
        assert str(places) in app.model.notices[-1]

        # Again: the name is taken; the user keeps both.
        asked: list[Path] = []

        def keep_both(path: Path) -> str:
            asked.append(path)
            return KEEP_BOTH

        app.files.ask_conflict = keep_both
        view = next(v for v in attachments(app) if isinstance(v, PictureView))
        view.download_button.invoke()
        second_copy = places / "ventes-2026 (2).png"
        pump(app, lambda: second_copy.exists())
        assert asked == [saved]
        assert second_copy.read_bytes() == chart.read_bytes()
        # Cancelled at the question: nothing is downloaded.
        app.files.ask_conflict = lambda _path: None
        assert app.files.download(picture_message.file) is None  # type: ignore[arg-type]
        assert {p.name for p in places.iterdir()} == {chart.name, second_copy.name}


def test_pasting(display: str, running_server: RunningServer, places: Path, tmp_path: Path) -> None:
    """Ctrl+V sends the clipboard's picture; with text on the clipboard, the text is pasted."""
    xclip = shutil.which("xclip")
    if xclip is None:
        pytest.skip("xclip is not installed (Pillow reads the X11 clipboard with it)")
    chart, _report = sample_files(tmp_path / "originals")
    register(running_server, "carol")
    with desktop_client(running_server) as app:
        log_in(app, "carol")
        fake = FakeTransfers(app, {})
        box = app.main_window.input

        app.clipboard_clear()
        app.clipboard_append("du texte")
        box.focus_force()
        box.event_generate("<<Paste>>")
        app.update()
        assert box.get("1.0", "end-1c") == "du texte"
        assert not fake.uploads

        # Another program (xclip here) holds a picture on the clipboard.
        holder = subprocess.Popen(
            [xclip, "-quiet", "-selection", "clipboard", "-t", "image/png", "-i", str(chart)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={"DISPLAY": display},
        )
        try:
            pump(
                app, lambda: "image/png" in str(app.tk.call("clipboard", "get", "-type", "TARGETS"))
            )
            box.event_generate("<<Paste>>")
            pump(app, lambda: len(fake.uploads) == 1)
        finally:
            holder.terminate()
            holder.wait(10)
        key, pasted = next(iter(fake.uploads.values()))
        assert key == GENERAL
        assert pasted.suffix == ".png"
        with Image.open(pasted) as image:
            assert image.size == (480, 300)
        assert box.get("1.0", "end-1c") == "du texte"  # the picture was not pasted as text
