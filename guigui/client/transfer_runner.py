"""The desktop client's file transfers: one thread each, beside the network thread.

A transfer is long (25 MB), the chat is not: so ``NetworkThread`` hands each
upload and download to a ``TransferRunner``, which runs it in its own thread
on the session's ``ChatConnection`` (thread-safe; its chunks give way to chat
frames), and puts ``TransferProgress``, ``TransferDone``, ``TransferFailed``
or ``TransferCancelled`` on the same ``updates`` queue. The network thread
tells the runner when a session opens (login, or RESUME after a cut), is lost
(it reconnects) or ends (logout, resume refused): a transfer cut by a lost
connection waits for the next session and goes on where the server (an
upload) or the ``.part`` file (a download) stands.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from guigui.client.connection import ChatConnection
from guigui.client.errors import ConnectionLost, RequestFailed
from guigui.client.file_transfer import POLL
from guigui.client.model import ConversationKey
from guigui.client.transfers import (
    DownloadCorrupt,
    TransferCancelledError,
    Upload,
    describe_file,
)
from guigui.client.updates import (
    TransferCancelled,
    TransferDone,
    TransferFailed,
    TransferProgress,
    Update,
)
from guigui.common.i18n import _
from guigui.common.objects import FileInfo
from guigui.common.protocol import ErrorCode

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_LATER = {ErrorCode.UNAVAILABLE, ErrorCode.RATE_LIMITED}
"""Refusals that mean "not now": the transfer tries again a little later."""


def failure_in_words(error: RequestFailed) -> str:
    """Why the server refused a transfer, in the user's language (else the server's message)."""
    details = error.details
    code = str(error.code)
    if code == ErrorCode.FILE_TOO_LARGE and isinstance(details.get("max_file"), int):
        megabytes = details["max_file"] / (1024 * 1024)
        return _("This file is too large: the server takes {size:g} MB at most.").format(
            size=round(megabytes, 1)
        )
    if code == ErrorCode.FILE_TYPE_MISMATCH and "extension" in details:  # found here, in words
        return _("Its name ends in {extension}, but its content is {type}.").format(
            extension=details["extension"], type=details.get("detected", "")
        )
    if code == ErrorCode.QUOTA_EXCEEDED and details.get("reason") == "too_many_uploads":
        return _("You are sending too many files at once: wait until one has gone.")
    words: dict[str, str] = {
        ErrorCode.FILE_TOO_LARGE: _("This file is too large for the server."),
        ErrorCode.QUOTA_EXCEEDED: _(
            "This file would take your files over your quota on the server."
        ),
        ErrorCode.CHECKSUM_MISMATCH: _("The file changed while it was being sent: send it again."),
        ErrorCode.FILE_TYPE_MISMATCH: _("The file's content does not match its name or type."),
        ErrorCode.INVALID_FIELD: _("This file name is not accepted."),
        ErrorCode.INTERNAL: _("Something went wrong on our side. Try again."),
        ErrorCode.NO_SUCH_FILE: _("This file is no longer on the server."),
        ErrorCode.NOT_MEMBER: _("You are not a member of this room."),
        ErrorCode.NO_SUCH_ROOM: _("This room does not exist."),
        ErrorCode.NO_SUCH_USER: _("Nobody has this login."),
    }
    return words.get(code, error.message)


@dataclass
class _Transfer:
    """One transfer under way: its key and the flag that cancels it."""

    key: str
    cancel: threading.Event = field(default_factory=threading.Event)


class TransferRunner:
    """Runs uploads and downloads in their own threads, on whatever session is open.

    ``report_failed_connection`` is called (from a transfer's thread) with a
    connection a transfer found broken, so that the network thread reconnects.
    """

    def __init__(
        self,
        updates: queue.Queue[Update],
        report_failed_connection: Callable[[ChatConnection], None],
    ) -> None:
        self.updates = updates
        self.report_failed_connection = report_failed_connection
        self._session: ChatConnection | None = None
        self._session_over = True
        """No session will come (not logged in, logged out, resume refused): transfers fail."""
        self._stopping = False
        self._changed = threading.Condition()
        """Guards the session and the table below; notified when the session changes."""
        self._transfers: dict[str, _Transfer] = {}
        self._numbers = itertools.count(1)

    # ---- the session, told by the network thread ---------------------------------------

    def session_opened(self, connection: ChatConnection) -> None:
        """A session is open on ``connection`` (login, or RESUME after a cut)."""
        with self._changed:
            self._session = connection
            self._session_over = False
            self._changed.notify_all()

    def session_lost(self) -> None:
        """The connection was lost; the network thread reconnects: transfers wait."""
        with self._changed:
            self._session = None
            self._changed.notify_all()

    def session_ended(self) -> None:
        """No session any more (logout, resume refused): waiting transfers fail."""
        with self._changed:
            self._session = None
            self._session_over = True
            self._changed.notify_all()

    def cancel_all(self) -> None:
        """Cancel every transfer (at logout)."""
        with self._changed:
            transfers = list(self._transfers.values())
        for transfer in transfers:
            transfer.cancel.set()

    def stop(self) -> None:
        """The client closes: transfers stop where they are, saying nothing more."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()

    @property
    def running(self) -> int:
        """Transfers not finished yet."""
        with self._changed:
            return len(self._transfers)

    # ---- transfers (any thread) ------------------------------------------------------

    def send_file(self, key: ConversationKey, path: Path, text: str | None = None) -> str:
        """Start uploading ``path`` to ``key``; returns the transfer's key."""
        transfer = self._start("upload")
        self._thread(transfer, lambda: self._upload(transfer, key, path, text))
        return transfer.key

    def get_file(self, file: FileInfo, destination: Path) -> str:
        """Start downloading ``file`` to ``destination`` (a file, or a directory)."""
        transfer = self._start("download")
        self._thread(transfer, lambda: self._download(transfer, file, destination))
        return transfer.key

    def cancel(self, key: str) -> None:
        """Cancel the transfer ``key``; nothing if it is over."""
        with self._changed:
            transfer = self._transfers.get(key)
        if transfer is not None:
            transfer.cancel.set()

    # ---- inside a transfer's thread ---------------------------------------------------

    def _start(self, kind: str) -> _Transfer:
        # Unique beyond this run: an upload's key is also its FILE_SEND nonce.
        transfer = _Transfer(f"{kind}-{next(self._numbers)}-{uuid.uuid4().hex[:12]}")
        with self._changed:
            self._transfers[transfer.key] = transfer
        return transfer

    def _thread(self, transfer: _Transfer, work: Callable[[], None]) -> None:
        def run() -> None:
            try:
                work()
            except Exception as error:  # never die silently: say it
                log.exception("transfer %s failed", transfer.key)
                self.updates.put(TransferFailed(transfer.key, str(error)))
            finally:
                with self._changed:
                    self._transfers.pop(transfer.key, None)

        name = f"guigui-{transfer.key.split('-', 1)[0]}"
        threading.Thread(target=run, name=name, daemon=True).start()

    def _upload(
        self, transfer: _Transfer, key: ConversationKey, path: Path, text: str | None
    ) -> None:
        try:
            source = describe_file(path)  # hashes it: seconds for a large file, not in Tk
        except OSError as error:
            reason = _("Cannot read {path}: {error}").format(path=path, error=error.strerror)
            self.updates.put(TransferFailed(transfer.key, reason))
            return
        self.updates.put(TransferProgress(transfer.key, 0, source.size))
        state = Upload(source)
        room, to = (key.name, None) if key.kind == "room" else (None, key.name)
        message = self._on_session(
            transfer,
            lambda connection: connection.upload_file(
                state,
                room=room,
                to=to,
                text=text,
                nonce=transfer.key,
                progress=self._progress(transfer),
                cancel=transfer.cancel,
            ),
        )
        if message is not None:
            self.updates.put(TransferDone(transfer.key, message, None))

    def _download(self, transfer: _Transfer, file: FileInfo, destination: Path) -> None:
        self.updates.put(TransferProgress(transfer.key, 0, file.size))
        path = self._on_session(
            transfer,
            lambda connection: connection.download_file(
                file, destination, progress=self._progress(transfer), cancel=transfer.cancel
            ),
        )
        if path is not None:
            self.updates.put(TransferDone(transfer.key, None, path))

    def _progress(self, transfer: _Transfer) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            self.updates.put(TransferProgress(transfer.key, done, total))

        return report

    def _on_session(self, transfer: _Transfer, work: Callable[[ChatConnection], T]) -> T | None:
        """Do ``work`` on the session, again on the next one after a cut; None if it failed.

        Every way it ends but success is put on ``updates`` here.
        """
        failed: ChatConnection | None = None
        while True:
            connection = self._wait_for_session(transfer, failed)
            if connection is None:
                if transfer.cancel.is_set():
                    self.updates.put(TransferCancelled(transfer.key))
                elif not self._stopping:
                    reason = _("The session ended before the transfer was over.")
                    self.updates.put(TransferFailed(transfer.key, reason))
                return None
            try:
                return work(connection)
            except ConnectionLost:
                failed = connection  # wait for the next session, and go on there
                self.report_failed_connection(connection)
            except TimeoutError:
                reason = _("The server stopped answering during the transfer.")
                self.updates.put(TransferFailed(transfer.key, reason))
                return None
            except RequestFailed as error:
                if error.code not in RETRY_LATER:
                    self.updates.put(TransferFailed(transfer.key, failure_in_words(error)))
                    return None
                retry = float(error.details.get("retry_after_ms", 1000)) / 1000
                transfer.cancel.wait(retry)
            except TransferCancelledError:
                self.updates.put(TransferCancelled(transfer.key))
                return None
            except DownloadCorrupt:
                reason = _("The file received is damaged (its SHA-256 does not match).")
                self.updates.put(TransferFailed(transfer.key, reason))
                return None
            except OSError as error:
                reason = _("Cannot use the file: {error}").format(error=error.strerror or error)
                self.updates.put(TransferFailed(transfer.key, reason))
                return None

    def _wait_for_session(
        self, transfer: _Transfer, failed: ChatConnection | None
    ) -> ChatConnection | None:
        """The open session (not ``failed``); None if cancelled, stopping or none will come."""
        with self._changed:
            while True:
                if transfer.cancel.is_set() or self._stopping or self._session_over:
                    return None
                session = self._session
                if session is not None and session is not failed and not session.closed:
                    return session
                self._changed.wait(POLL)
