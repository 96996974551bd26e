"""Files between two users of a real server: ChatConnection, the network thread and the CLI.

Real sockets, a real server on SQLite and on MariaDB. What issue 18 asks of
the client: a large file uploaded by one user is downloaded intact (SHA-256)
by another; an upload cut in the middle goes on after RESUME and is stored
once; a chat message typed during an upload is not held behind it; a
non-member cannot download; a refusal reaches the user in words.
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from guigui.client.cli import main as cli_main
from guigui.client.connection import ChatConnection, ConnectionLost, RequestFailed
from guigui.client.model import ConversationKey
from guigui.client.network_thread import NetworkThread
from guigui.client.settings import ClientSettings
from guigui.client.transfers import TransferCancelledError, Upload, describe_file, part_path
from guigui.client.updates import (
    LoggedIn,
    MessageAcknowledged,
    ServerEvent,
    TransferCancelled,
    TransferDone,
    TransferFailed,
    TransferProgress,
    Update,
)
from guigui.common.messages import MessageEvent
from guigui.common.objects import ChatMessage, FileInfo
from guigui.common.protocol import ErrorCode
from tests.conftest import RunningServer
from tests.support.updates import next_update

GENERAL = ConversationKey.room("Général")
PASSWORD = "correct horse"
PATIENCE = 60.0
"""Seconds before a wait gives up: a failure's bound, not a measured time."""
MB = 1024 * 1024


def make_file(directory: Path, name: str, size: int) -> Path:
    """A file of ``size`` bytes that compress badly (so no layer can cheat on its size)."""
    path = directory / name
    path.write_bytes(os.urandom(size))
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def user(running_server: RunningServer) -> Iterator[Callable[[str], ChatConnection]]:
    """``user("alice")``: a connection of that user, registered if needed and logged in."""
    opened: list[ChatConnection] = []
    registered: set[str] = set()

    def open_as(login: str) -> ChatConnection:
        connection = ChatConnection.connect(running_server.host, running_server.port)
        opened.append(connection)
        if login not in registered:
            connection.register(login, PASSWORD, "Ada", "Lovelace", f"{login}@example.org")
            registered.add(login)
        connection.login(login, PASSWORD)
        return connection

    yield open_as
    for connection in opened:
        connection.close()


def next_message_event(connection: ChatConnection) -> ChatMessage:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        try:
            event = connection.events.get(timeout=0.5)
        except queue.Empty:
            continue
        if isinstance(event, MessageEvent):
            return event.message
    raise AssertionError("no MESSAGE came")


# ---- ChatConnection ----------------------------------------------------------------


def test_a_10_mb_file_from_alice_is_downloaded_intact_by_bob(
    user: Callable[[str], ChatConnection], tmp_path: Path
) -> None:
    alice, bob = user("alice"), user("bob")
    path = make_file(tmp_path, "scan.bin", 10 * MB)
    message = alice.upload_file(
        Upload(describe_file(path)), room="Général", text="the scan", nonce="scan-1"
    )
    assert message.text == "the scan" and message.file is not None
    assert (message.file.name, message.file.size) == ("scan.bin", 10 * MB)
    assert message.file.sha256 == sha256_of(path)

    seen = next_message_event(bob)
    assert seen.id == message.id and seen.file == message.file
    downloads = tmp_path / "bob"
    downloads.mkdir()
    saved = bob.download_file(seen.file, downloads)
    assert saved == downloads / "scan.bin"
    assert sha256_of(saved) == sha256_of(path)
    assert not part_path(saved).exists()
    history, _more = bob.history(room="Général")
    assert [m.file for m in history if m.file is not None] == [message.file]


def test_an_upload_cut_in_the_middle_goes_on_after_resume_and_is_stored_once(
    running_server: RunningServer, user: Callable[[str], ChatConnection], tmp_path: Path
) -> None:
    user("alice")  # registered
    bob = user("bob")
    session = ChatConnection.connect(running_server.host, running_server.port)
    token = session.login("alice", PASSWORD).token
    path = make_file(tmp_path, "video.bin", 6 * MB)
    offers: list[int] = []

    class CutAtHalf(Upload):
        """Records the offers' ``received``; the connection drops once half is sent."""

        def offered(self, transfer: int, received: int, max_chunk: int) -> None:
            offers.append(received)
            super().offered(transfer, received, max_chunk)

        def chunk_sent(self, length: int) -> None:
            super().chunk_sent(length)
            if len(offers) == 1 and self.sent >= self.source.size // 2:
                session.close()  # the connection drops in the middle of the upload

    state = CutAtHalf(describe_file(path))
    with pytest.raises(ConnectionLost):
        session.upload_file(state, room="Général", nonce="video-1")
    again = ChatConnection.connect(running_server.host, running_server.port)
    try:
        again.resume(token)
        deadline = time.monotonic() + PATIENCE
        while True:  # the server may still be taking the old connection's last chunks in
            try:
                message = again.upload_file(state, room="Général", nonce="video-1")
                break
            except RequestFailed as error:
                if error.code != ErrorCode.UNAVAILABLE or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        again.close()
    # The second offer went on from what the server held (it acknowledges every 256 KiB).
    assert offers[0] == 0 and 0 < offers[-1] <= path.stat().st_size // 2
    assert message.file is not None and message.file.sha256 == sha256_of(path)
    history, _more = bob.history(room="Général")
    assert len([m for m in history if m.file is not None]) == 1
    saved = bob.download_file(message.file, tmp_path / "copy.bin")
    assert sha256_of(saved) == sha256_of(path)


def test_a_non_member_cannot_download_a_room_file(
    user: Callable[[str], ChatConnection], tmp_path: Path
) -> None:
    alice, bob = user("alice"), user("bob")
    alice.join("Blabla")
    path = make_file(tmp_path, "secret.bin", 1000)
    message = alice.upload_file(Upload(describe_file(path)), room="Blabla")
    assert message.file is not None
    with pytest.raises(RequestFailed) as refused:
        bob.download_file(message.file, tmp_path / "stolen.bin")
    assert refused.value.code in {ErrorCode.NOT_MEMBER, ErrorCode.NO_SUCH_FILE}
    assert not (tmp_path / "stolen.bin").exists()
    assert not part_path(tmp_path / "stolen.bin").exists()


def test_a_file_whose_name_lies_about_its_content_is_refused_before_a_byte_is_sent(
    user: Callable[[str], ChatConnection], tmp_path: Path
) -> None:
    alice = user("alice")
    fake = tmp_path / "facture.pdf"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(5000))  # a picture named as a PDF
    with pytest.raises(RequestFailed) as refused:
        alice.upload_file(Upload(describe_file(fake)), room="Général")
    assert refused.value.code == ErrorCode.FILE_TYPE_MISMATCH
    assert ".pdf" in refused.value.details["reason"]
    assert alice.history(room="Général")[0] == []  # nothing was posted


def test_a_cancelled_download_leaves_nothing_and_the_chat_goes_on(
    user: Callable[[str], ChatConnection], tmp_path: Path
) -> None:
    alice, bob = user("alice"), user("bob")
    path = make_file(tmp_path, "big.bin", 8 * MB)
    message = alice.upload_file(Upload(describe_file(path)), room="Général")
    assert message.file is not None
    cancel = threading.Event()
    target = tmp_path / "down.bin"

    def cancel_soon(done: int, total: int) -> None:
        if done > 0:
            cancel.set()

    with pytest.raises(TransferCancelledError):
        bob.download_file(message.file, target, progress=cancel_soon, cancel=cancel)
    assert not target.exists() and not part_path(target).exists()
    said = bob.say("Général", "still here")  # the connection is in sync after the cancel
    assert said.text == "still here"


# ---- the network thread ------------------------------------------------------------


@pytest.fixture
def network(running_server: RunningServer) -> Iterator[Callable[[str], NetworkThread]]:
    """``network("alice")``: a desktop client's network thread, registered and logged in."""
    threads: list[NetworkThread] = []

    def start(login: str) -> NetworkThread:
        settings = ClientSettings(host=f"{running_server.host}:{running_server.port}")
        thread = NetworkThread(settings)
        threads.append(thread)
        thread.register(login, PASSWORD, "Ada", "Lovelace", f"{login}@example.org")
        thread.login(login, PASSWORD)
        next_update(thread.updates, LoggedIn)
        return thread

    yield start
    for thread in threads:
        thread.close()


def test_a_message_typed_during_a_25_mb_upload_is_not_held_behind_it(
    network: Callable[[str], NetworkThread], tmp_path: Path
) -> None:
    alice, bob = network("alice"), network("bob")
    path = make_file(tmp_path, "movie.bin", 25 * MB)
    transfer = alice.send_file(GENERAL, path, "the movie")
    first = next_update(alice.updates, TransferProgress, lambda update: update.transfer == transfer)
    assert (first.done, first.total) == (0, 25 * MB)
    next_update(alice.updates, TransferProgress, lambda u: u.transfer == transfer and u.done > 0)
    alice.send(GENERAL, "typed during the upload", "during-1")
    order: list[str] = []
    deadline = time.monotonic() + PATIENCE
    done: TransferDone | None = None
    while done is None and time.monotonic() < deadline:
        try:
            update = alice.updates.get(timeout=0.5)
        except queue.Empty:
            continue
        if isinstance(update, MessageAcknowledged) and update.nonce == "during-1":
            order.append("message")
        elif isinstance(update, TransferDone) and update.transfer == transfer:
            order.append("file")
            done = update
        elif isinstance(update, TransferFailed):
            raise AssertionError(update.reason)
    assert order == ["message", "file"]
    assert done is not None and done.message is not None and done.message.file is not None
    file = done.message.file
    assert file.sha256 == sha256_of(path)

    seen = next_update(
        bob.updates,
        ServerEvent,
        lambda u: isinstance(u.event, MessageEvent) and u.event.message.file is not None,
    )
    assert isinstance(seen.event, MessageEvent) and seen.event.message.file == file
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    key = bob.get_file(file, downloads)
    saved = next_update(bob.updates, TransferDone, lambda u: u.transfer == key)
    assert saved.path == downloads / "movie.bin" and saved.message is None
    assert sha256_of(downloads / "movie.bin") == file.sha256


def test_an_upload_of_the_network_thread_goes_on_after_a_reconnection(
    network: Callable[[str], NetworkThread],
    user: Callable[[str], ChatConnection],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = network("alice")
    bob = user("bob")
    path = make_file(tmp_path, "backup.bin", 8 * MB)
    cut = threading.Event()
    send_chunk = ChatConnection.send_chunk

    def cut_once_past_2_mb(self: ChatConnection, transfer: int, offset: int, data: bytes) -> None:
        if offset >= 2 * MB and not cut.is_set():
            cut.set()
            self._sock.shutdown(socket.SHUT_RDWR)  # the network drops
        send_chunk(self, transfer, offset, data)

    monkeypatch.setattr(ChatConnection, "send_chunk", cut_once_past_2_mb)
    transfer = alice.send_file(GENERAL, path)
    resumed = False
    after_resume: list[int] = []
    done: TransferDone | None = None
    deadline = time.monotonic() + PATIENCE
    while done is None and time.monotonic() < deadline:
        try:
            update = alice.updates.get(timeout=0.5)
        except queue.Empty:
            continue
        if isinstance(update, LoggedIn) and update.resumed:
            resumed = True
        elif isinstance(update, TransferProgress) and resumed:
            after_resume.append(update.done)
        elif isinstance(update, TransferDone) and update.transfer == transfer:
            done = update
        elif isinstance(update, TransferFailed):
            raise AssertionError(update.reason)
    assert cut.is_set() and resumed
    # Going on from what the server held: at least 2 MB less the 512 KiB window.
    assert after_resume[0] > MB
    assert done is not None and done.message is not None and done.message.file is not None
    history, _more = bob.history(room="Général")
    assert [m.file for m in history if m.file is not None] == [done.message.file]
    saved = bob.download_file(done.message.file, tmp_path / "copy.bin")
    assert sha256_of(saved) == sha256_of(path)


def test_an_upload_cancelled_from_the_network_thread_posts_nothing(
    network: Callable[[str], NetworkThread],
    user: Callable[[str], ChatConnection],
    tmp_path: Path,
) -> None:
    alice = network("alice")
    bob = user("bob")
    path = make_file(tmp_path, "draft.bin", 25 * MB)
    key = alice.send_file(GENERAL, path)
    next_update(alice.updates, TransferProgress, lambda u: u.transfer == key and u.done > 0)
    alice.cancel_transfer(key)
    ended: Update = next_update(
        alice.updates,
        (TransferCancelled, TransferDone),  # type: ignore[arg-type]
        lambda u: u.transfer == key,
    )
    history, _more = bob.history(room="Général")
    files = [m.file for m in history if m.file is not None]
    if isinstance(ended, TransferCancelled):  # it may have finished first, on a fast machine
        assert files == []
    else:
        assert len(files) == 1
    alice.send(GENERAL, "after the cancel", "after-1")  # the session is still usable
    assert next_update(alice.updates, MessageAcknowledged).nonce == "after-1"


@pytest.mark.server_settings(max_file=100_000)
def test_a_refused_file_fails_with_a_reason_in_words(
    network: Callable[[str], NetworkThread], tmp_path: Path
) -> None:
    alice = network("alice")
    path = make_file(tmp_path, "too-big.bin", 200_000)
    transfer = alice.send_file(GENERAL, path)
    failed = next_update(alice.updates, TransferFailed, lambda u: u.transfer == transfer)
    assert "too large" in failed.reason
    missing = alice.send_file(GENERAL, tmp_path / "nowhere.bin")
    failed = next_update(alice.updates, TransferFailed, lambda u: u.transfer == missing)
    assert "nowhere.bin" in failed.reason


def test_a_download_cancelled_from_the_network_thread(
    network: Callable[[str], NetworkThread], user: Callable[[str], ChatConnection], tmp_path: Path
) -> None:
    bob = network("bob")
    alice = user("alice")
    path = make_file(tmp_path, "big.bin", 20 * MB)
    message = alice.upload_file(Upload(describe_file(path)), room="Général")
    assert message.file is not None
    file: FileInfo = message.file
    key = bob.get_file(file, tmp_path / "mine.bin")
    next_update(bob.updates, TransferProgress, lambda u: u.transfer == key)
    bob.cancel_transfer(key)
    ended: Update = next_update(
        bob.updates,
        (TransferCancelled, TransferDone),  # type: ignore[arg-type]
        lambda u: u.transfer == key,
    )
    if isinstance(ended, TransferCancelled):  # it may have finished first, on a fast machine
        assert not (tmp_path / "mine.bin").exists()
        assert not part_path(tmp_path / "mine.bin").exists()
    else:
        assert sha256_of(tmp_path / "mine.bin") == file.sha256


# ---- the command-line client -------------------------------------------------------


def run_cli(
    running_server: RunningServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    login: str,
    *argv: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = cli_main(
        ["--host", running_server.host, "--port", str(running_server.port),
         "--session-file", str(tmp_path / f"{login}.json"), *argv]
    )  # fmt: skip
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_send_file_and_get_file(
    running_server: RunningServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def cli(login: str, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        return run_cli(running_server, tmp_path, capsys, monkeypatch, login, *argv, stdin=stdin)

    for login in ("alice", "bob"):
        assert cli(login, "register", login, "--first-name", "Ada", "--last-name", "Lovelace",
                   "--email", f"{login}@example.org", "--password-stdin",
                   stdin=PASSWORD + "\n")[0] == 0  # fmt: skip
        assert cli(login, "login", login, "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    path = make_file(tmp_path, "report.bin", 300_000)
    status, out, err = cli("alice", "send-file", str(path), "Général", "--text", "the report")
    assert status == 0, err
    assert "alice: the report [file " in out and "report.bin" in out
    assert "report.bin: 100 %" in err  # progress, on standard error
    file_id = out.split("[file ", 1)[1].split(":", 1)[0]

    status, out, _ = cli("bob", "history", "Général")
    assert f"[file {file_id}: report.bin, 293.0 KB, " in out
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    status, out, err = cli("bob", "get-file", file_id, str(downloads))
    assert status == 0, err
    assert f"saved {downloads / 'report.bin'}" in out
    assert sha256_of(downloads / "report.bin") == sha256_of(path)
    # Not replaced unless told.
    (downloads / "report.bin").write_bytes(b"mine")
    status, _, err = cli("bob", "get-file", file_id, str(downloads))
    assert status == 1 and "--force" in err
    assert (downloads / "report.bin").read_bytes() == b"mine"
    status, _, err = cli("bob", "get-file", file_id, str(downloads), "--force")
    assert status == 0, err
    assert sha256_of(downloads / "report.bin") == sha256_of(path)

    status, out, err = cli("alice", "send-file", str(path), "--to", "bob")
    assert status == 0 and "(dm alice→bob)" in out
    status, _, err = cli("alice", "send-file", str(tmp_path / "nowhere"), "Général")
    assert status == 2 and "cannot read" in err
    status, _, err = cli("alice", "send-file", str(path))
    assert status == 2 and "ROOM or --to" in err
    status, _, err = cli("bob", "get-file", "999999", str(downloads))
    assert status == 1 and "no_such_file" in err


def test_cli_help_names_the_file_commands(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("send-file", "get-file"):
        with pytest.raises(SystemExit):
            cli_main([command, "--help"])
        assert "--quiet" in capsys.readouterr().out
