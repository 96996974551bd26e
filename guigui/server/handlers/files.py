"""FILE_OFFER, FILE_SEND, FILE_GET and FILE_CANCEL (PROTOCOL.md section 7).

The checks that need no disk nor database run first, on the loop (name,
size, conversation, membership); the rest goes to the workers in order:

- FILE_OFFER: the live files' bytes (store worker), then how much of this
  very file the user's cut upload holds and what the others hold (file
  worker), then, on the loop, the uploads in progress (``max_uploads``) and
  the quota, unfinished uploads included; the OK gives the transfer number.
- FILE_SEND: the file worker checks the size, the SHA-256 and the type found
  in the content against the declared one and the name's extension, and
  places the content (one copy per SHA-256); then the store worker checks the
  quota again and stores the file and its message in one transaction; the
  message is answered and delivered exactly as a SAY or a DIRECT is
  (``Delivery.messages_saved``).
- FILE_GET: the store worker reads the file; the same rule as HISTORY decides
  who may have it; the chunks then go out through ``FileService.pump``.

The chunks themselves (FILE_CHUNK) are ``FileService.chunk_received``'s.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from guigui.common.errors import ProtocolError
from guigui.common.file_names import file_name_problem
from guigui.common.file_types import detect_type, type_mismatch
from guigui.common.messages import (
    FileCancel,
    FileGet,
    FileGetOk,
    FileOffer,
    FileOfferOk,
    FileSend,
    Ok,
)
from guigui.common.protocol import ErrorCode
from guigui.server.clock import now_ms
from guigui.server.config import ServerConfig
from guigui.server.connection import Connection
from guigui.server.core.accounts import UserDirectory
from guigui.server.core.rooms import RoomDirectory
from guigui.server.delivery import Delivery, Sender, file_info
from guigui.server.file_transfers import Upload
from guigui.server.files import FileService
from guigui.server.handlers.base import HandlerFamily, RequestHandler, check_text
from guigui.server.handlers.messaging import MessageIds
from guigui.server.handoff import Outcome
from guigui.server.replies import error_for, rate_limited, reject, reply, when_done
from guigui.server.store import UNNUMBERED, FileRecord, SavedBatch, Store, StoredMessage
from guigui.server.workers import SavedMessage, StoreWorker

log = logging.getLogger(__name__)


def _quota_exceeded(quota: int) -> ProtocolError:
    return ProtocolError(
        ErrorCode.QUOTA_EXCEEDED,
        f"your files would take more than your quota of {quota} bytes",
    )


@dataclass(eq=False)
class FileHandlers(HandlerFamily):
    """Sending and getting files."""

    config: ServerConfig
    users: UserDirectory
    rooms: RoomDirectory
    message_ids: MessageIds
    store_worker: StoreWorker[Sender]
    delivery: Delivery
    files: FileService

    def handlers(self) -> dict[type, RequestHandler]:
        """Request class to handler."""
        return {
            FileOffer: self.offer,
            FileSend: self.send,
            FileGet: self.get,
            FileCancel: self.cancel,
        }

    def _place(
        self, user_id: int, room: str | None, to: str | None
    ) -> tuple[int | None, int | None]:
        """(room id, recipient id) of a conversation the user may send to, or its ERROR."""
        if room is not None:
            record = self.rooms.require(room)
            self.rooms.require_member(user_id, record)
            return record.id, None
        assert to is not None
        return None, self.users.require_reachable(to).id

    def offer(self, connection: Connection, request: FileOffer) -> None:
        """Check the offer, then the quota and what is already held; OK with the transfer."""
        user = self.require_login(connection)
        problem = file_name_problem(request.name)
        if problem is not None:
            raise ProtocolError(
                ErrorCode.INVALID_FIELD, f"bad file name: {problem}", field="name", reason=problem
            )
        max_file = self.config.max_file
        if request.size > max_file:
            raise ProtocolError(
                ErrorCode.FILE_TOO_LARGE,
                f"a file of {request.size} bytes is over the limit of {max_file} bytes",
                max_file=max_file,
            )
        room_id, recipient_id = self._place(user.id, request.room, request.to)
        quota, size, sha256 = self.config.file_quota, request.size, request.sha256
        files, storage = self.files, self.files.storage
        key = (user.id, sha256)

        def used(store: Store) -> int:
            return store.file_bytes_of(user.id)

        def quota_checked(used_bytes: int) -> None:
            if used_bytes + size > quota:
                raise _quota_exceeded(quota)

            def held() -> tuple[int, dict[str, int]]:
                received = storage.partial_size(user.id, sha256)
                if received > size:  # not this file after all: start again
                    storage.drop_partial(user.id, sha256)
                    received = 0
                return received, storage.partials_of(user.id)

            files.offering[key] += 1  # a sweep meanwhile keeps its bytes

            def offer_checked() -> None:
                files.offering[key] -= 1
                if files.offering[key] <= 0:
                    del files.offering[key]

            files.worker.submit(
                held,
                when_done(
                    connection,
                    request.id,
                    lambda found: offered(used_bytes, *found),
                    finally_=offer_checked,
                ),
            )

        def offered(used_bytes: int, received: int, partials: dict[str, int]) -> None:
            self._check_uploads(user.id, sha256, size, used_bytes, partials)
            number = files.transfers_of(connection).new_number()
            if connection.active:
                upload = Upload(
                    number, user.id, sha256, size, request.name, request.type,
                    room_id, recipient_id, next_offset=received, synced_to=received,
                )  # fmt: skip
                files.start_upload(connection, upload)
            reply(connection, FileOfferOk(request.id, number, received, files.max_chunk))

        self.store_worker.submit(used, when_done(connection, request.id, quota_checked))

    def _check_uploads(
        self, user_id: int, sha256: str, size: int, used_bytes: int, partials: dict[str, int]
    ) -> None:
        """Refuse a new upload past ``max_uploads`` in progress, or past the quota.

        The quota counts the live files (``used_bytes``), every other upload
        of the user (in progress: at the size offered; unfinished: at the
        bytes held) and this one at its size. Offering again the content of
        an upload in progress takes it over: it is not one more.
        """
        in_progress = self.files.uploads_of(user_id)
        in_progress.pop(sha256, None)
        partials = {other: held for other, held in partials.items() if other != sha256}
        max_uploads = self.config.max_uploads
        if len(in_progress) >= max_uploads:
            raise ProtocolError(
                ErrorCode.QUOTA_EXCEEDED,
                f"you already have {len(in_progress)} uploads in progress, the most allowed:"
                " finish or cancel one first",
                reason="too_many_uploads",
            )
        reserved = sum(
            max(in_progress.get(other, 0), partials.get(other, 0))
            for other in in_progress.keys() | partials.keys()
        )
        if used_bytes + reserved + size > self.config.file_quota:
            raise ProtocolError(
                ErrorCode.QUOTA_EXCEEDED,
                f"your files and unfinished uploads would take more than your quota of "
                f"{self.config.file_quota} bytes (an unfinished upload counts until it is "
                "sent, cancelled or removed after a while)",
            )

    def send(self, connection: Connection, request: FileSend) -> None:
        """Check the upload (file worker), store the file and its message; delivered as SAY."""
        user = self.require_login(connection)
        transfers = connection.transfers
        upload = None if transfers is None else transfers.uploads.get(request.transfer)
        if upload is None or upload.sending or upload.user_id != user.id:
            raise ProtocolError(
                ErrorCode.NO_SUCH_TRANSFER, f"no upload #{request.transfer} on this connection"
            )
        if upload.room_id is not None:
            self.rooms.require_member(user.id, self.rooms.get(upload.room_id))
        if request.text is not None:
            check_text(request.text, self.config.max_text)  # a caption: a message's text
        wait = connection.message_bucket.take(time.monotonic())
        if wait:
            raise rate_limited("too many messages", wait, connection)
        files, storage = self.files, self.files.storage
        # Copies for the worker thread: the upload itself is the loop's.
        user_id, sha256, size, name, declared = (
            upload.user_id, upload.sha256, upload.size, upload.name, upload.type,
        )  # fmt: skip
        upload.sending = True
        files.placing[sha256] += 1

        def finish() -> str:
            head = storage.check_partial(user_id, sha256, size)
            detected = detect_type(head)
            mismatch = type_mismatch(name, declared, detected)
            if mismatch is not None:
                storage.drop_partial(user_id, sha256)
                raise ProtocolError(
                    ErrorCode.FILE_TYPE_MISMATCH, f"refused: {mismatch}", reason=mismatch
                )
            storage.place(user_id, sha256)
            return detected

        def finished(outcome: Outcome[str]) -> None:
            if isinstance(outcome, BaseException):
                files.placed(sha256)
                incomplete = (
                    isinstance(outcome, ProtocolError) and outcome.code == ErrorCode.FILE_INCOMPLETE
                )
                if incomplete:
                    upload.sending = False  # the upload goes on
                else:
                    files.end_upload(connection, upload)
                reject(connection, request.id, error_for(outcome, connection))
                return
            files.end_upload(connection, upload)
            self._store(connection, request, upload, outcome)

        files.worker.submit(finish, finished)

    def _store(
        self, connection: Connection, request: FileSend, upload: Upload, detected: str
    ) -> None:
        """Store the file and its message (the quota checked again), then deliver it."""
        ts = now_ms()
        record = FileRecord(
            0, upload.sha256, upload.size, upload.name, detected, upload.user_id,
            upload.room_id, upload.recipient_id, ts,
        )  # fmt: skip
        number_ids = self.store_worker.number_ids
        message = StoredMessage(
            UNNUMBERED if number_ids else self.message_ids.next(),
            upload.room_id,
            upload.user_id,
            upload.recipient_id,
            upload.name if request.text is None else request.text,
            ts,
            None if request.nonce is None else str(request.nonce),
            connection.ip,
        )
        quota, files, sender = self.config.file_quota, self.files, Sender(connection, request.id)
        owner_id, size = upload.user_id, upload.size  # copies for the store thread

        def save(store: Store) -> SavedBatch:
            if store.file_bytes_of(owner_id) + size > quota:
                raise _quota_exceeded(quota)
            return store.save_file_message(record, message, number_ids=number_ids)

        def saved(outcome: Outcome[SavedBatch]) -> None:
            files.placed(upload.sha256)
            if isinstance(outcome, BaseException):
                files.release([upload.sha256])  # no file of this upload uses it
                result = SavedMessage(sender, message, outcome, first_time=False)
            else:
                first_time = outcome.first_time[0]
                if not first_time:  # a repeated nonce: the first message's file is the one
                    files.release([upload.sha256])
                result = SavedMessage(sender, message, outcome.messages[0], first_time)
            self.delivery.messages_saved([result])

        self.store_worker.submit(save, saved)

    def get(self, connection: Connection, request: FileGet) -> None:
        """The file if the user may have it (as HISTORY decides), then its chunks."""
        user = self.require_login(connection)
        file_id = request.file

        def find(store: Store) -> FileRecord | None:
            return store.file(file_id)

        def found(file: FileRecord | None) -> None:
            if file is None or file.deleted_at is not None:
                raise ProtocolError(ErrorCode.NO_SUCH_FILE, f"no file #{file_id}")
            if file.room_id is not None:
                self.rooms.require_member(user.id, self.rooms.get(file.room_id))
            elif user.id not in (file.owner_id, file.recipient_id):
                raise ProtocolError(ErrorCode.NO_SUCH_FILE, f"no file #{file_id}")
            if request.offset > file.size:
                raise ProtocolError(
                    ErrorCode.BAD_REQUEST,
                    f"offset {request.offset} is past the end of the file ({file.size} bytes)",
                    field="offset",
                )
            number = self.files.start_download(connection, user.id, file, request.offset)
            reply(connection, FileGetOk(request.id, file_info(file), number))

        self.store_worker.submit(find, when_done(connection, request.id, found))

    def cancel(self, connection: Connection, request: FileCancel) -> None:
        """Stop an upload (its bytes dropped) or a download (no FILE_DATA after the OK)."""
        user = self.require_login(connection)
        transfers = connection.transfers
        number = request.transfer
        upload = None if transfers is None else transfers.uploads.get(number)
        download = None if transfers is None else transfers.downloads.get(number)
        if (
            transfers is not None
            and upload is not None
            and not upload.sending
            and upload.user_id == user.id
        ):
            self.files.end_upload(connection, upload)
            self.files.drop_partial(upload.user_id, upload.sha256)
        elif transfers is not None and download is not None and download.user_id == user.id:
            del transfers.downloads[number]
        else:
            raise ProtocolError(ErrorCode.NO_SUCH_TRANSFER, f"no transfer #{number} in progress")
        reply(connection, Ok(request.id))
