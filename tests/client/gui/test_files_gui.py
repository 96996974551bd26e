"""Files in the desktop client, end to end: real Tk windows on Xvfb, the real
network thread and its transfers, a real server over real sockets.

Alice attaches a picture and a document with the paperclip; her window shows
the picture's thumbnail and the document's card. A large upload shows its
progress bar, and cancelled, leaves nothing posted. Bob's client (one Tk
application per process: his window opens after hers) shows the same
thumbnail, fetched from the server, and one Alice sends while he is there;
he downloads the picture and the document into his Downloads folder, and
what is saved there is the original (SHA-256). A file larger than the
server's ``max_file`` is refused at once, in the user's language. Ctrl+V
sends a picture on the clipboard and pastes text otherwise.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import ttkbootstrap as ttk
from PIL import Image

from guigui.client.connection import ChatConnection
from guigui.client.gui.app import ClientApp
from guigui.client.gui.attachments import FileCard, PictureView
from guigui.client.gui.file_actions import KEEP_BOTH
from guigui.client.transfers import PROGRESS_INTERVAL, Upload, describe_file
from guigui.common.objects import ChatMessage
from tests.client.gui.support import (
    GENERAL,
    PASSWORD,
    desktop_client,
    log_in,
    pump,
    register,
    shot,
)
from tests.conftest import RunningServer
from tests.support.display import display
from tests.support.missing import missing

__all__ = ["display"]


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Downloads folder set in user-dirs.dirs, and a cache, in a temporary home."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "user-dirs.dirs").write_text(f'XDG_DOWNLOAD_DIR="{tmp_path}/Downloads"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "Downloads"


def chart_picture(path: Path, bars: list[tuple[int, tuple[int, int, int]]]) -> Path:
    """A small bar chart saved as a PNG at ``path``."""
    picture = Image.new("RGB", (480, 300), (245, 245, 250))
    for index, (height, colour) in enumerate(bars):
        left = 40 + index * 105
        picture.paste(colour, (left, 280 - height, left + 70, 280))
    picture.save(path)
    return path


def sample_files(folder: Path) -> tuple[Path, Path]:
    """A picture (a small chart) and a document."""
    folder.mkdir(exist_ok=True)
    chart = chart_picture(
        folder / "ventes-2026.png",
        [(120, (13, 110, 253)), (200, (25, 135, 84)), (260, (220, 53, 69)), (170, (255, 193, 7))],
    )
    report = folder / "rapport.txt"
    report.write_text("Rapport trimestriel\n" * 4000, encoding="utf-8")
    return chart, report


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def attachments(app: ClientApp) -> list[object]:
    return list(app.main_window.message_view.attachments)


def thumbnails(app: ClientApp) -> int:
    """How many pictures the conversation on screen shows as thumbnails."""
    return sum(
        isinstance(view, PictureView) and view.picture is not None for view in attachments(app)
    )


def cards(app: ClientApp) -> list[FileCard]:
    return [view for view in attachments(app) if isinstance(view, FileCard)]


def files_in(app: ClientApp) -> list[ChatMessage]:
    """The messages with a file that the client holds in Général."""
    return [m for m in app.model.conversation(GENERAL).messages if m.file is not None]


@contextmanager
def upload_held(from_offset: int) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Hold every upload once ``from_offset`` bytes are sent: (held, release).

    The chunk at ``from_offset`` goes after a pause long enough for its
    progress to be reported; the next one waits for ``release``. So a test sees
    an upload in progress, whatever the machine's speed, and can cancel it.
    """
    held, release = threading.Event(), threading.Event()
    original = ChatConnection.send_chunk

    def send_chunk(self: ChatConnection, transfer: int, offset: int, data: bytes) -> None:
        if offset >= from_offset:
            if not held.is_set():
                time.sleep(PROGRESS_INTERVAL * 2)  # this chunk's progress is then reported
                held.set()
            else:
                release.wait(30)
        original(self, transfer, offset, data)

    ChatConnection.send_chunk = send_chunk  # type: ignore[method-assign]
    try:
        yield held, release
    finally:
        release.set()
        ChatConnection.send_chunk = original  # type: ignore[method-assign]


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
    journal = tmp_path / "originals" / "journal.txt"
    journal.write_text("Une ligne du journal de bord.\n" * 100_000, encoding="utf-8")  # 3 MB
    register(running_server, "alice")
    register(running_server, "bob")

    # ---- Alice's client ----
    language, theme = alice_look
    with desktop_client(running_server, language=language, theme=theme) as app:
        log_in(app, "alice")
        main = app.main_window
        assert main.attach_button.winfo_ismapped()
        assert main.drop_enabled  # tkdnd (tkinterdnd2) loads under Xvfb
        assert app.network.max_file == running_server.server.config.max_file

        # The paperclip: a file dialog (answered here), then real uploads.
        chosen = (str(chart), str(report))
        monkeypatch.setattr(ttk.Querybox, "get_open_filenames", lambda **_options: chosen)
        main.attach_button.invoke()
        pump(app, lambda: len(files_in(app)) == 2 and not app.model.transfers)
        # Stored: the picture shows as a thumbnail, the document as a card.
        pump(app, lambda: thumbnails(app) == 1 and len(cards(app)) == 1)
        assert cards(app)[0].size_label.cget("text") == ("78 KB" if language == "en" else "78 Ko")
        assert {m.file.sha256 for m in files_in(app) if m.file} == {sha256(chart), sha256(report)}

        # A large upload: its progress bar, then cancelled, and nothing is posted.
        with upload_held(journal.stat().st_size * 2 // 5) as (held, _release):
            monkeypatch.setattr(ttk.Querybox, "get_open_filenames", lambda **_o: (str(journal),))
            main.attach_button.invoke()
            pump(app, lambda: len(main.transfer_panel.rows) == 1)
            (upload,) = main.transfer_panel.rows
            row = main.transfer_panel.rows[upload]
            pump(app, lambda: held.is_set() and float(row.bar.cget("value")) > 0)
            assert row.bar.winfo_ismapped()
            shot(app, f"files-uploading-{language}")
            row.cancel_button.invoke()
        pump(app, lambda: not main.transfer_panel.rows and not app.network.transfers)
        cancelled = {"en": "journal.txt: cancelled.", "fr": "journal.txt : annulé."}[language]
        assert app.model.notices[-1] == cancelled
        shot(app, f"files-{language}")

    # Nothing of the cancelled upload is on the server: Général holds the two files.
    watcher = ChatConnection.connect(running_server.host, running_server.port)
    watcher.login("alice", PASSWORD)
    history, _more = watcher.history("Général", None, None, 50)
    assert [m.file.name for m in history if m.file] == [chart.name, report.name]
    picture_message = next(m for m in history if m.file and m.file.name == chart.name)

    # ---- Bob's client: the thumbnail, fetched from the server; the downloads ----
    language, theme = bob_look
    with desktop_client(running_server, language=language, theme=theme) as app:
        log_in(app, "bob")
        main = app.main_window
        pump(app, lambda: thumbnails(app) == 1 and len(cards(app)) == 1)

        # Alice sends another picture while Bob is there: it shows at once.
        second = chart_picture(
            tmp_path / "originals" / "objectifs.png",
            [(90, (111, 66, 193)), (150, (13, 202, 240)), (230, (25, 135, 84))],
        )
        watcher.upload_file(Upload(describe_file(second)), room="Général")
        pump(app, lambda: thumbnails(app) == 2)
        app.update()
        # The view stays at the bottom, thumbnails counted at their height: the new one shows.
        assert main.message_view.text.yview()[1] >= 0.999
        shot(app, f"files-received-{language}")

        # The picture, downloaded into the Downloads folder: the original, byte for byte.
        view = next(v for v in attachments(app) if isinstance(v, PictureView))
        view.download_button.invoke()
        saved = places / chart.name
        pump(app, lambda: saved.exists() and not app.model.transfers)
        assert sha256(saved) == sha256(chart)
        assert str(places) in app.model.notices[-1]
        # The document too, from its card.
        cards(app)[0].download_button.invoke()
        pump(app, lambda: (places / report.name).exists() and not app.model.transfers)
        assert sha256(places / report.name) == sha256(report)

        # Again: the name is taken; the user keeps both.
        asked: list[Path] = []

        def keep_both(path: Path) -> str:
            asked.append(path)
            return KEEP_BOTH

        app.files.ask_conflict = keep_both
        view = next(v for v in attachments(app) if isinstance(v, PictureView))
        view.download_button.invoke()
        second_copy = places / "ventes-2026 (2).png"
        pump(app, lambda: second_copy.exists() and not app.model.transfers)
        assert asked == [saved]
        assert sha256(second_copy) == sha256(chart)
        # Cancelled at the question: nothing is downloaded.
        app.files.ask_conflict = lambda _path: None
        assert picture_message.file is not None
        assert app.files.download(picture_message.file) is None
        assert {p.name for p in places.iterdir()} == {chart.name, second_copy.name, report.name}
    watcher.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.server_settings(max_file=1024 * 1024)
def test_a_file_too_large_is_refused_at_once(
    display: str,
    running_server: RunningServer,
    places: Path,
    tmp_path: Path,
    language: str,
) -> None:
    """Over the server's ``max_file`` (1 MiB here): refused before any byte, with the limit."""
    large = tmp_path / "large.txt"
    large.write_text("x" * (1024 * 1024 + 600 * 1024), encoding="utf-8")  # 1.6 MiB
    register(running_server, "dave")
    with desktop_client(running_server, language=language) as app:
        log_in(app, "dave")
        assert app.network.max_file == 1024 * 1024
        assert app.files.attach([large]) == []
        assert not app.model.transfers
        refusal = {
            "en": "⚠ large.txt not sent: it is 1.6 MB, and the server takes 1 MB at most.",
            "fr": "⚠ large.txt non envoyé : il fait 1,6 Mo, et le serveur prend 1 Mo au plus.",
        }[language]
        assert app.model.notices[-1] == refusal
        app.update()
        assert not files_in(app)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pasting(display: str, running_server: RunningServer, places: Path, tmp_path: Path) -> None:
    """Ctrl+V sends the clipboard's picture; with text on the clipboard, the text is pasted."""
    xclip = shutil.which("xclip")
    if xclip is None:
        missing("xclip is not installed (Pillow reads the X11 clipboard with it)")
    chart, _report = sample_files(tmp_path / "originals")
    register(running_server, "carol")
    with desktop_client(running_server) as app:
        log_in(app, "carol")
        box = app.main_window.input

        app.clipboard_clear()
        app.clipboard_append("du texte")
        box.focus_force()
        box.event_generate("<<Paste>>")
        app.update()
        assert box.get("1.0", "end-1c") == "du texte"
        assert not app.model.transfers

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
            pump(app, lambda: len(files_in(app)) == 1 and thumbnails(app) == 1)
        finally:
            holder.terminate()
            holder.wait(10)
        (pasted,) = files_in(app)
        assert pasted.file is not None
        assert pasted.file.type == "image/png"
        assert pasted.file.name.startswith("pasted-")
        assert box.get("1.0", "end-1c") == "du texte"  # the picture was not pasted as text
