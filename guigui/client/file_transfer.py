"""Uploading and downloading one file over a connection, blocking (PROTOCOL.md section 7).

``upload`` offers the file, sends its chunks from where the server stands,
then FILE_SEND; ``download`` asks for the file from what a ``.part`` file
already holds, writes the chunks there, checks the SHA-256 and renames it.
Both report progress through a callback and stop when a ``cancel`` event is
set. The decisions (which chunk, which offset, is it intact) are made by
``guigui.client.transfers``; the I/O goes through a ``FileChannel``, which
``ChatConnection`` is. They run in the caller's thread: the chat goes on
meanwhile in the others, since chunks give way to every other frame
(``ChatConnection.send_chunk``).

A lost connection raises ``ConnectionLost`` and leaves what was done: call
``upload`` again with the same ``Upload`` on a new connection (after RESUME)
and it goes on from what the server holds; call ``download`` again and it
goes on from the ``.part`` file.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any, Protocol

from guigui.client.errors import ConnectionLost, RequestFailed
from guigui.client.transfers import (
    READ_SIZE,
    Download,
    DownloadCorrupt,
    ProgressThrottle,
    TransferCancelledError,
    Upload,
    download_target,
    part_path,
)
from guigui.common.file_frames import FileChunk
from guigui.common.file_types import type_mismatch
from guigui.common.messages import (
    FileCancel,
    FileGet,
    FileGetOk,
    FileOffer,
    FileOfferOk,
    FileSend,
    MessageOk,
    Request,
)
from guigui.common.objects import ChatMessage, FileInfo
from guigui.common.protocol import ErrorCode

Progress = Callable[[int, int], None]
"""Called with ``(done, total)`` bytes, at most every ``PROGRESS_INTERVAL``, and at the end."""

ACK_PATIENCE = 1.0
"""Seconds an upload waits for a FILE_ACK when its window is full before sending on anyway.

TCP then holds it back; a server that acknowledges seldom slows nothing down.
"""
SEND_TIMEOUT = 120.0
"""Seconds to wait for FILE_SEND's answer: the server hashes and checks the whole file first."""
DATA_TIMEOUT = 60.0
"""Seconds without a FILE_DATA after which a download gives up (the server stopped)."""
POLL = 0.2
"""Seconds between two looks at the ``cancel`` event while waiting."""
MAX_ATTEMPTS = 3
"""Offers (or downloads) tried on one connection before giving up: a few ways to go on."""


class FileChannel(Protocol):
    """What the transfers need of a connection (``ChatConnection`` has it)."""

    def request(self, request: Request, timeout: float = ...) -> Any:
        """Send a request and return its OK; ``RequestFailed`` or ``ConnectionLost``."""
        ...

    def send_chunk(self, transfer: int, offset: int, data: bytes) -> None:
        """Send one FILE_CHUNK, after any chat frame waiting to go."""
        ...

    def wait_for_ack(self, transfer: int, above: int, timeout: float) -> int:
        """The bytes of ``transfer`` acknowledged, once more than ``above`` or after ``timeout``."""
        ...

    def file_chunks(self, transfer: int) -> queue.Queue[FileChunk | None]:
        """The FILE_DATA chunks of ``transfer`` as they come; None when the connection closed."""
        ...

    def end_transfer(self, transfer: int) -> None:
        """Forget ``transfer``: its late chunks and acknowledgements are dropped."""
        ...


def _cancelled(cancel: threading.Event | None) -> bool:
    return cancel is not None and cancel.is_set()


def _cancel_on_server(channel: FileChannel, transfer: int) -> None:
    """FILE_CANCEL, if the connection still works; a transfer already over is fine."""
    with contextlib.suppress(RequestFailed, ConnectionLost, TimeoutError):
        channel.request(FileCancel(0, transfer))


# ---- upload -----------------------------------------------------------------------


def upload(
    channel: FileChannel,
    state: Upload,
    *,
    room: str | None = None,
    to: str | None = None,
    text: str | None = None,
    nonce: str | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ChatMessage:
    """Send ``state.source`` to ``room`` or to the user ``to``; the message stored with it.

    Goes on from what the server already holds (the offer's ``received``).
    Raises ``RequestFailed`` (the server refused: too large, over quota, not
    a member, checksum or type mismatch...), ``ConnectionLost`` (call again on
    a new connection), ``TransferCancelledError`` (``cancel`` was set; the
    server dropped what it had) or ``OSError`` (the local file cannot be read,
    or changed while being sent).
    """
    source = state.source
    # The server would refuse it once every byte is sent: say so before sending one.
    mismatch = type_mismatch(source.name, source.type, source.type)
    if mismatch is not None:
        raise RequestFailed(
            ErrorCode.FILE_TYPE_MISMATCH,
            f"refused: {mismatch}",
            reason=mismatch,
            extension=PurePath(source.name).suffix.lower(),
            detected=source.type,
        )
    throttle = ProgressThrottle()
    for _attempt in range(MAX_ATTEMPTS):
        if _cancelled(cancel):
            raise TransferCancelledError
        if state.transfer is None:
            offer = FileOffer(
                id=0,
                room=room,
                to=to,
                name=source.name,
                size=source.size,
                type=source.type,
                sha256=source.sha256,
            )
            ok: FileOfferOk = channel.request(offer)
            state.offered(ok.transfer, ok.received, ok.max_chunk)
        transfer = state.transfer
        assert transfer is not None
        try:
            _send_chunks(channel, state, throttle, progress, cancel)
            reply: MessageOk = channel.request(
                FileSend(0, transfer, text, nonce), timeout=SEND_TIMEOUT
            )
        except RequestFailed as error:
            received = error.details.get("received")
            if error.code == ErrorCode.FILE_INCOMPLETE and isinstance(received, int):
                state.rewind(received)  # some chunks were refused: send them again
                continue
            state.lost()  # any other refusal ends the upload on the server's side
            if error.code == ErrorCode.NO_SUCH_TRANSFER:
                continue  # it forgot it (or another offer took it over): offer again
            raise
        except TransferCancelledError:
            _cancel_on_server(channel, transfer)
            raise
        except ConnectionLost:
            state.lost()
            raise
        finally:
            channel.end_transfer(transfer)
        if progress is not None:
            progress(source.size, source.size)
        return reply.message
    raise RequestFailed(ErrorCode.FILE_INCOMPLETE, "the server kept missing parts of the file")


def _send_chunks(
    channel: FileChannel,
    state: Upload,
    throttle: ProgressThrottle,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> None:
    """Send every chunk not yet sent, keeping at most ``state.window`` bytes unacknowledged."""
    transfer = state.transfer
    assert transfer is not None
    size = state.source.size
    with state.source.path.open("rb") as file:
        while (chunk := state.next_chunk()) is not None:
            while state.window_full and not _cancelled(cancel):
                before = state.acknowledged
                waited = 0.0
                while waited < ACK_PATIENCE and state.acknowledged == before:
                    if _cancelled(cancel):
                        break
                    state.acknowledge(channel.wait_for_ack(transfer, before, POLL))
                    waited += POLL
                if state.acknowledged == before:
                    break  # no FILE_ACK for a while: send on, TCP holds us back
            if _cancelled(cancel):
                raise TransferCancelledError
            offset, length = chunk
            file.seek(offset)
            data = file.read(length)
            if len(data) != length:
                raise OSError(f"{state.source.path} changed while being sent")
            channel.send_chunk(transfer, offset, data)
            state.chunk_sent(length)
            state.acknowledge(channel.wait_for_ack(transfer, state.sent, 0))
            if progress is not None and throttle.due(state.sent, size):
                progress(state.sent, size)


# ---- download ---------------------------------------------------------------------


def download(
    channel: FileChannel,
    file: FileInfo | int,
    destination: Path,
    *,
    overwrite: bool = True,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Save the file ``file`` (a ``FileInfo``, or only its id) to ``destination``; the path.

    ``destination`` is the file to write, or a directory to write it in under
    its own name made safe. The content goes to ``<name>.part`` first (what
    one holds from an earlier attempt is not asked again), and is renamed once
    its SHA-256 is the one announced. Raises ``FileExistsError`` when the file
    exists and not ``overwrite`` (nothing written), ``RequestFailed``
    (``no_such_file``, ``not_member``...), ``ConnectionLost`` (the ``.part``
    stays: call again), ``DownloadCorrupt`` (the content does not match even
    from the start: nothing kept), ``TransferCancelledError`` (the ``.part``
    is removed) or ``OSError`` (cannot write).
    """
    info = file if isinstance(file, FileInfo) else None
    file_id = file.id if isinstance(file, FileInfo) else file
    for _attempt in range(MAX_ATTEMPTS):
        held = 0
        if info is not None:
            target = _target(destination, info, overwrite)
            held = _held(part_path(target), info)
            if held == info.size:
                if _finish_held(target, info):
                    return target
                held = 0  # the .part was not this file: it is gone, start again
        if _cancelled(cancel):
            raise TransferCancelledError
        ok: FileGetOk = channel.request(FileGet(0, file_id, held))
        try:
            if info is None:
                # Only the id was known: now that the name is, see whether it is
                # taken, and whether a .part holds some of it already.
                info = ok.file
                target = _target(destination, info, overwrite)
                if _held(part_path(target), info) > 0:
                    _cancel_on_server(channel, ok.transfer)
                    continue  # ask again, from what the .part holds
            return _receive(channel, ok, target, held, progress, cancel)
        except DownloadCorrupt:
            part_path(target).unlink(missing_ok=True)
            if held == 0:
                raise
            # The .part was of another file of that name: once more, from the start.
        except FileExistsError:
            _cancel_on_server(channel, ok.transfer)
            raise
        finally:
            channel.end_transfer(ok.transfer)
    raise DownloadCorrupt("the download kept failing its checks")


def _target(destination: Path, info: FileInfo, overwrite: bool) -> Path:
    """Where ``info`` goes; ``FileExistsError`` if the file exists and is to be kept."""
    target = download_target(destination, info.name)
    if not overwrite and target.exists():
        raise FileExistsError(f"{target} exists")
    return target


def _held(part: Path, info: FileInfo) -> int:
    """The bytes a ``.part`` holds and can go on from (0: none, or more than the file)."""
    try:
        size = part.stat().st_size
    except OSError:
        return 0
    return size if size <= info.size else 0


def _finish_held(target: Path, info: FileInfo) -> bool:
    """A ``.part`` holds the whole file: keep it if intact (True), else remove it."""
    part = part_path(target)
    state = Download(info)
    with part.open("rb") as held:
        while block := held.read(READ_SIZE):
            state.absorb_held(block)
    if state.intact:
        os.replace(part, target)
        return True
    part.unlink(missing_ok=True)
    return False


def _receive(
    channel: FileChannel,
    ok: FileGetOk,
    target: Path,
    held: int,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> Path:
    """Write the FILE_DATA of ``ok.transfer`` after the ``held`` bytes of the ``.part``."""
    info = ok.file
    part = part_path(target)
    state = Download(info)
    if held:
        with part.open("rb") as previous:
            while len(block := previous.read(min(READ_SIZE, held - state.received))) > 0:
                state.absorb_held(block)
    chunks = channel.file_chunks(ok.transfer)
    throttle = ProgressThrottle()
    waited = 0.0
    with part.open("r+b" if held else "wb") as out:
        out.seek(held)
        out.truncate()
        while not state.finished:
            if _cancelled(cancel):
                _cancel_on_server(channel, ok.transfer)
                out.close()
                part.unlink(missing_ok=True)
                raise TransferCancelledError
            try:
                chunk = chunks.get(timeout=POLL)
            except queue.Empty:
                waited += POLL
                if waited >= DATA_TIMEOUT:
                    raise TimeoutError(
                        f"no data from the server for {DATA_TIMEOUT:.0f} s"
                    ) from None
                continue
            waited = 0.0
            if chunk is None:
                raise ConnectionLost("the connection closed during the download")
            out.write(state.accept(chunk))
            if progress is not None and throttle.due(state.received, info.size):
                progress(state.received, info.size)
    if not state.intact:
        raise DownloadCorrupt(f"{info.name}: the content is not the SHA-256 announced")
    os.replace(part, target)
    return target
