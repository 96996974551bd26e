"""Files on the loop thread: chunks in, chunks out, content kept while a live file uses it.

``FileService`` is the loop's side of the file transfers (PROTOCOL.md section
7); the requests themselves (FILE_OFFER, FILE_SEND...) are checked in
``guigui.server.handlers.files``. The bytes never pass through the loop
whole: each chunk received is handed to the ``FileWorker`` to be written,
each chunk sent is read by it, one at a time.

- **Uploads**: ``chunk_received`` checks a FILE_CHUNK against its upload
  (``no_such_transfer``, ``bad_chunk``: an ERROR without id, the connection
  stays open) and hands it to the worker. A connection has at most
  ``MAX_UNWRITTEN_CHUNKS`` chunks waiting to be written; past that it is not
  read (``Connection._must_wait``). The worker syncs the upload to disk every
  ``ACK_EVERY`` bytes and at its end, and each sync is told to the client as
  FILE_ACK. An upload is keyed by (user, SHA-256): a FILE_OFFER of the same
  content by the same user takes it over, from another connection too (the
  old one, cut or not, loses it).
- **Unfinished uploads** count against their user's quota (see
  ``handlers.files``); ``sweep_partials`` removes those untouched for
  ``partial_max_age``, the uploads in progress and being offered kept, and
  ``forget_user`` those of an erased account.
- **Downloads**: ``pump`` runs once per loop iteration, after the output is
  flushed. For each connection with downloads, when no chunk of it is being
  read and its output holds less than ``MAX_WAITING_OUTPUT_CHUNKS`` chunks,
  the worker reads the next chunk of one of its downloads (in turn); it is
  queued as FILE_DATA when read. So a connection gets at most one chunk per
  iteration, its chat events go out between chunks, and a client that does
  not read holds back only its own download.
- **Content** is removed when no live file uses it (``release``): the store
  says which, and a content being placed for a new file meanwhile is kept.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from guigui.common.errors import ProtocolError
from guigui.common.file_frames import FileChunk, encode_chunk, max_chunk_data
from guigui.common.messages import Error, FileAck, encode
from guigui.common.protocol import ErrorCode, MessageType
from guigui.server.connection import Connection
from guigui.server.file_storage import ContentStore, FileWorker
from guigui.server.file_transfers import MAX_WAITING_OUTPUT_CHUNKS, Download, Transfers, Upload
from guigui.server.handoff import Outcome
from guigui.server.store import FileRecord, Store
from guigui.server.workers import StoreWorker

log = logging.getLogger(__name__)

ACK_EVERY = 256 * 1024
"""Bytes of an upload between two syncs to disk (each one a FILE_ACK)."""


class FileService:
    """Uploads, downloads and content, on the loop thread (see the module's doc)."""

    def __init__(
        self,
        storage: ContentStore,
        worker: FileWorker,
        store_worker: StoreWorker[Any],
        max_frame: int,
    ) -> None:
        self.storage = storage
        self.worker = worker
        self.store_worker = store_worker
        self.max_chunk = max_chunk_data(max_frame)
        """The most data bytes in one FILE_CHUNK or FILE_DATA."""
        self._waiting_output = MAX_WAITING_OUTPUT_CHUNKS * (max_frame + 4)
        self.uploads: dict[tuple[int, str], tuple[Connection, Upload]] = {}
        """Every upload in progress by (user id, SHA-256), with its connection."""
        self.downloading: set[Connection] = set()
        """Connections with downloads in progress (``pump`` serves them)."""
        self.offering: Counter[tuple[int, str]] = Counter()
        """(user id, SHA-256) of the FILE_OFFERs being checked: a sweep keeps their bytes."""
        self.placing: Counter[str] = Counter()
        """Contents being placed for a new file, not yet in the store: never removed."""
        self._release_checks: dict[str, bool] = {}
        """Contents whose use the store is checking; True once one was placed meanwhile."""

    # ---- uploads -------------------------------------------------------------

    @staticmethod
    def transfers_of(connection: Connection) -> Transfers:
        """The connection's transfers, made at its first."""
        if connection.transfers is None:
            connection.transfers = Transfers()
        return connection.transfers

    def start_upload(self, connection: Connection, upload: Upload) -> None:
        """Record a new upload on ``connection``, taking over the same one anywhere else."""
        key = (upload.user_id, upload.sha256)
        previous = self.uploads.get(key)
        if previous is not None:
            old_connection, old_upload = previous
            if old_connection.transfers is not None:
                old_connection.transfers.uploads.pop(old_upload.transfer, None)
        self.transfers_of(connection).uploads[upload.transfer] = upload
        self.uploads[key] = (connection, upload)

    def uploads_of(self, user_id: int) -> dict[str, int]:
        """The user's uploads in progress on this server: size offered by SHA-256."""
        return {
            sha256: upload.size
            for (owner, sha256), (_, upload) in self.uploads.items()
            if owner == user_id
        }

    def end_upload(self, connection: Connection, upload: Upload) -> None:
        """Forget an upload (sent, cancelled, failed); its partial content is the caller's."""
        if connection.transfers is not None:
            connection.transfers.uploads.pop(upload.transfer, None)
        key = (upload.user_id, upload.sha256)
        if self.uploads.get(key, (None, None))[1] is upload:
            del self.uploads[key]

    def chunk_received(self, connection: Connection, chunk: FileChunk) -> None:
        """Check a FILE_CHUNK against its upload and hand it to the worker to be written."""
        transfers = connection.transfers
        upload = None if transfers is None else transfers.uploads.get(chunk.transfer)
        user = connection.user
        if (
            transfers is None
            or upload is None
            or upload.sending
            or user is None
            or upload.user_id != user.id  # offered before a LOGOUT: not this session's
        ):
            connection.refuse(
                ProtocolError(
                    ErrorCode.NO_SUCH_TRANSFER, f"no upload #{chunk.transfer} on this connection"
                )
            )
            return
        if chunk.offset != upload.next_offset:
            connection.refuse(
                ProtocolError(
                    ErrorCode.BAD_CHUNK,
                    f"a chunk at offset {chunk.offset}; the next starts at {upload.next_offset}",
                )
            )
            return
        if chunk.end > upload.size:
            connection.refuse(
                ProtocolError(
                    ErrorCode.BAD_CHUNK,
                    f"a chunk ending at {chunk.end}, past the file's size {upload.size}",
                )
            )
            return
        upload.next_offset = chunk.end
        sync = chunk.end == upload.size or chunk.end - upload.synced_to >= ACK_EVERY
        if sync:
            upload.synced_to = chunk.end
        transfers.unwritten += 1
        storage, user_id, sha256 = self.storage, upload.user_id, upload.sha256
        offset, data, end = chunk.offset, chunk.data, chunk.end

        def write() -> None:
            storage.write_partial(user_id, sha256, offset, data, sync)

        def written(outcome: Outcome[None]) -> None:
            connection.chunk_written()
            current = transfers.uploads.get(upload.transfer) is upload
            if isinstance(outcome, BaseException):
                log.error("%s: a chunk of upload #%d not written", connection.peer, upload.transfer)
                if not current:
                    return  # an earlier chunk failed: the upload is already over
                # The bytes after this chunk's offset cannot be trusted: the upload is
                # over, what it held is dropped, and the client offers the file again.
                self.end_upload(connection, upload)
                self.drop_partial(user_id, sha256)
                if connection.active:
                    message = "a file chunk could not be written: offer the file again"
                    connection.send(encode(Error(None, str(ErrorCode.INTERNAL), message)))
                return
            if sync and current and connection.active:
                connection.send(encode(FileAck(upload.transfer, end)))

        self.worker.submit(write, written)

    def drop_partial(self, user_id: int, sha256: str) -> None:
        """Drop what an upload held (cancelled, or a chunk not written), on the worker."""
        storage = self.storage

        def drop() -> None:
            storage.drop_partial(user_id, sha256)

        def dropped(outcome: Outcome[None]) -> None:
            if isinstance(outcome, BaseException):
                log.warning("could not drop the bytes of an upload: %s", outcome)

        self.worker.submit(drop, dropped)

    def connection_closed(self, connection: Connection) -> None:
        """Forget the connection's transfers (its uploads' content stays, to be resumed)."""
        transfers = connection.transfers
        if transfers is None:
            return
        for upload in list(transfers.uploads.values()):
            self.end_upload(connection, upload)
        transfers.downloads.clear()
        self.downloading.discard(connection)

    def sweep_partials(self, max_age: float) -> None:
        """Remove the unfinished uploads untouched for ``max_age`` seconds (on the worker).

        The uploads in progress and those being offered are kept: the worker
        runs jobs in order, so an offer checked after this snapshot finds the
        sweep done.
        """
        keep = set(self.uploads) | set(self.offering)
        storage = self.storage

        def sweep() -> int:
            return storage.sweep_partials(max_age, keep)

        def swept(outcome: Outcome[int]) -> None:
            if isinstance(outcome, BaseException):
                log.warning("could not remove the unfinished uploads: %s", outcome)
            elif outcome:
                log.info("removed %d upload(s) untouched for %.0f s", outcome, max_age)

        self.worker.submit(sweep, swept)

    def forget_user(self, user_id: int) -> None:
        """An erased account: end its uploads and remove every byte of them."""
        for (owner, _), (connection, upload) in list(self.uploads.items()):
            if owner == user_id:
                self.end_upload(connection, upload)
        storage = self.storage

        def drop() -> None:
            storage.drop_partials_of(user_id)

        def dropped(outcome: Outcome[None]) -> None:
            if isinstance(outcome, BaseException):
                log.warning("could not remove the uploads of user #%d: %s", user_id, outcome)

        self.worker.submit(drop, dropped)

    # ---- downloads -----------------------------------------------------------

    def start_download(
        self, connection: Connection, user_id: int, file: FileRecord, offset: int
    ) -> int:
        """Start sending ``file`` from ``offset`` to the user; returns the transfer number."""
        transfers = self.transfers_of(connection)
        number = transfers.new_number()
        transfers.downloads[number] = Download(number, user_id, file, offset)
        self.downloading.add(connection)
        return number

    def pump(self) -> None:
        """Read the next chunk of a download for each connection that can take one (per turn)."""
        for connection in list(self.downloading):
            transfers = connection.transfers
            if not connection.active or transfers is None or not transfers.downloads:
                self.downloading.discard(connection)
                continue
            user = connection.user
            if user is None or any(d.user_id != user.id for d in transfers.downloads.values()):
                self._forget_other_sessions(connection, transfers)
                if not transfers.downloads:
                    continue
            if transfers.reading or connection.pending_bytes >= self._waiting_output:
                continue
            number = next(iter(transfers.downloads))
            download = transfers.downloads.pop(number)
            transfers.downloads[number] = download  # to the end: the next one's turn
            self._read_next(connection, transfers, download)

    @staticmethod
    def _forget_other_sessions(connection: Connection, transfers: Transfers) -> None:
        """Drop the downloads a session that logged out asked for (not this user's)."""
        user_id = None if connection.user is None else connection.user.id
        for number, download in list(transfers.downloads.items()):
            if download.user_id != user_id:
                del transfers.downloads[number]

    def _read_next(self, connection: Connection, transfers: Transfers, download: Download) -> None:
        storage, sha256, offset = self.storage, download.file.sha256, download.offset
        length = min(self.max_chunk, download.file.size - offset)
        transfers.reading = True

        def read() -> bytes:
            return storage.read(sha256, offset, length)

        def done(outcome: Outcome[bytes]) -> None:
            transfers.reading = False
            if transfers.downloads.get(download.transfer) is not download or connection.closed:
                return  # cancelled, or the connection is gone
            if isinstance(outcome, BaseException) or (len(outcome) != length):
                del transfers.downloads[download.transfer]
                log.error(
                    "%s: the content of file #%d is missing", connection.peer, download.file.id
                )
                error = Error(None, str(ErrorCode.NO_SUCH_FILE), "the file's content is missing")
                connection.send(encode(error))
                return
            connection.send(encode_chunk(MessageType.FILE_DATA, download.transfer, offset, outcome))
            download.offset = offset + length
            if download.offset >= download.file.size:
                del transfers.downloads[download.transfer]

        self.worker.submit(read, done)

    def stop_downloads_of(self, file_id: int) -> None:
        """No more FILE_DATA of this file, to anyone (it was deleted)."""
        for connection in self.downloading:
            transfers = connection.transfers
            if transfers is None:
                continue
            for number, download in list(transfers.downloads.items()):
                if download.file.id == file_id:
                    del transfers.downloads[number]

    # ---- content -------------------------------------------------------------

    def placed(self, sha256: str) -> None:
        """A content placed for a new file is in the store now (or failed to be): count it out."""
        self.placing[sha256] -= 1
        if self.placing[sha256] <= 0:
            del self.placing[sha256]
        if sha256 in self._release_checks:
            self._release_checks[sha256] = True

    def release(self, sha256s: Iterable[str], then: Callable[[], None] = lambda: None) -> None:
        """Remove these contents if no live file uses them (the store decides), then ``then``.

        A content being placed for a new file is kept, and so is one placed
        while the store was checking: the check may have come before the new
        file's row.
        """
        wanted = [sha256 for sha256 in sha256s if sha256 not in self._release_checks]
        if not wanted:
            then()
            return
        for sha256 in wanted:
            self._release_checks[sha256] = False

        def unused(store: Store) -> list[str]:
            return [sha256 for sha256 in wanted if not store.sha256_in_use(sha256)]

        def checked(outcome: Outcome[list[str]]) -> None:
            placed_meanwhile = {sha256: self._release_checks.pop(sha256) for sha256 in wanted}
            if isinstance(outcome, BaseException):
                log.warning("could not check which contents are unused: %s", outcome)
                then()
                return
            doomed = [
                sha256
                for sha256 in outcome
                if not placed_meanwhile[sha256] and sha256 not in self.placing
            ]
            if not doomed:
                then()
                return
            storage = self.storage

            def remove() -> None:
                for sha256 in doomed:
                    storage.remove(sha256)

            def removed(result: Outcome[None]) -> None:
                if isinstance(result, BaseException):
                    log.warning("could not remove %d contents: %s", len(doomed), result)
                else:
                    log.info("removed the content of %d file(s) no live file uses", len(doomed))
                then()

            self.worker.submit(remove, removed)

        self.store_worker.submit(unused, checked)

    def delete_file(
        self, file_id: int, callback: Callable[[Outcome[FileRecord | None]], None]
    ) -> None:
        """For the admin: mark the file deleted, stop its downloads, remove its unused content.

        ``callback`` gets the file as deleted (None: unknown or already
        deleted) or the exception, on the loop thread, once the content is
        removed if it was the last live file to use it.
        """

        def mark(store: Store) -> FileRecord | None:
            return store.delete_file(file_id)

        def marked(outcome: Outcome[FileRecord | None]) -> None:
            if isinstance(outcome, BaseException) or outcome is None:
                callback(outcome)
                return
            self.stop_downloads_of(file_id)
            record = outcome
            self.release([record.sha256], lambda: callback(record))

        self.store_worker.submit(mark, marked)
