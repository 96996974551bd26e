"""The state of one file transfer, with no socket: what to send next, what is held, the hashes.

``guigui/client/file_transfer.py`` does the I/O (``ChatConnection.upload_file``
and ``download_file`` hand it their connection); these classes decide it, so
that a test drives them with plain values (PROTOCOL.md section 7):

- ``Upload``: the next chunk to send, how far the server acknowledged
  (FILE_ACK), how much may be in flight, and where to go on after a cut (the
  ``received`` of the next FILE_OFFER's answer, or of a ``file_incomplete``);
- ``Download``: whether a FILE_DATA chunk is the one expected, the running
  SHA-256, and whether the content is complete and intact;
- ``ProgressThrottle``: at most one progress report per interval;
- ``describe_file``, ``part_path``: what to offer for a local file, and where a
  download is written until its SHA-256 is checked.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from guigui.common.file_frames import FileChunk
from guigui.common.file_names import safe_file_name
from guigui.common.file_types import HEAD_SIZE, detect_type
from guigui.common.objects import FileInfo
from guigui.common.protocol import FILE_CHUNK_SIZE, MAX_FILE_NAME_BYTES

UPLOAD_WINDOW = 16 * FILE_CHUNK_SIZE
"""Bytes an upload may have sent and not yet seen acknowledged (FILE_ACK).

Without a limit the socket buffers fill with chunks, and a chat message sent
meanwhile waits behind all of them; with it, a message waits for a few
chunks at most (512 KiB: a few milliseconds on a LAN). GuiGui's server
acknowledges every 256 KiB: twice that keeps data flowing while it syncs.
"""
PROGRESS_INTERVAL = 0.1
"""Seconds between two progress reports of one transfer (so at most ~10 a second)."""
PART_SUFFIX = ".part"
READ_SIZE = 1024 * 1024
"""Bytes read at a time when hashing a local file."""


class TransferCancelledError(Exception):
    """The transfer was cancelled by the user (a FILE_CANCEL was sent if the server knew it)."""


class DownloadCorrupt(Exception):
    """A download's content is not what the server announced (SHA-256, size or order)."""


@dataclass(frozen=True)
class UploadSource:
    """A local file as it will be offered: its path, wire name, size, type and SHA-256."""

    path: Path
    name: str
    size: int
    type: str
    sha256: str


def describe_file(path: Path, name: str | None = None) -> UploadSource:
    """What to offer for ``path``: its content's SHA-256 and type, read once; ``OSError`` if not.

    The name offered is ``name`` (default: the file's own), made acceptable by
    ``safe_file_name``.
    """
    digest = hashlib.sha256()
    head = b""
    size = 0
    with path.open("rb") as file:
        while block := file.read(READ_SIZE):
            if len(head) < HEAD_SIZE:
                head += block[: HEAD_SIZE - len(head)]
            digest.update(block)
            size += len(block)
    return UploadSource(
        path=path,
        name=safe_file_name(name if name is not None else path.name),
        size=size,
        type=detect_type(head),
        sha256=digest.hexdigest(),
    )


class Upload:
    """An upload's progress: the transfer number, what is sent, what is acknowledged.

    It outlives a connection: after a cut, ``offered`` with the new FILE_OFFER's
    answer says where to go on (the server's ``received``).
    """

    def __init__(self, source: UploadSource, window: int = UPLOAD_WINDOW) -> None:
        self.source = source
        self.window = window
        self.transfer: int | None = None
        """The server's number for it on the current connection; None before the offer."""
        self.sent = 0
        """Bytes sent on the current connection, counted from the start of the file."""
        self.acknowledged = 0
        """Bytes the server said it holds (FILE_ACK, or ``received`` of an answer)."""
        self.chunk_size = FILE_CHUNK_SIZE

    def offered(self, transfer: int, received: int, max_chunk: int) -> None:
        """The server took the offer: it holds ``received`` bytes; send the rest from there."""
        self.transfer = transfer
        self.sent = self.acknowledged = min(received, self.source.size)
        self.chunk_size = max(1, min(FILE_CHUNK_SIZE, max_chunk))

    def next_chunk(self) -> tuple[int, int] | None:
        """The ``(offset, length)`` of the next chunk to send, or None when all is sent."""
        if self.sent >= self.source.size:
            return None
        return self.sent, min(self.chunk_size, self.source.size - self.sent)

    def chunk_sent(self, length: int) -> None:
        """A chunk of ``length`` bytes went out."""
        self.sent += length

    def acknowledge(self, received: int) -> None:
        """A FILE_ACK: the server holds ``received`` bytes (acknowledgements only move forward)."""
        self.acknowledged = max(self.acknowledged, min(received, self.sent))

    @property
    def window_full(self) -> bool:
        """Whether enough is in flight that the next chunk should wait for a FILE_ACK."""
        return self.sent - self.acknowledged >= self.window

    @property
    def all_sent(self) -> bool:
        """Whether every byte was sent on this connection (FILE_SEND may follow)."""
        return self.sent >= self.source.size

    def rewind(self, received: int) -> None:
        """The server holds only ``received`` bytes (``file_incomplete``): send again from there."""
        self.sent = self.acknowledged = min(received, self.source.size)

    def lost(self) -> None:
        """The connection was lost: the number is void; the next offer says where to go on."""
        self.transfer = None


class Download:
    """A download's progress: the next offset expected and the SHA-256 of what came.

    When a ``.part`` file is resumed, its bytes go through ``absorb_held``
    first, so that the hash covers the whole file.
    """

    def __init__(self, file: FileInfo) -> None:
        self.file = file
        self.received = 0
        self.finished = False
        """Whether the last FILE_DATA (the one that ends at ``size``) came."""
        self._digest = hashlib.sha256()

    def absorb_held(self, data: bytes) -> None:
        """Bytes already saved by an earlier attempt, in order from the start."""
        self._digest.update(data)
        self.received += len(data)

    def accept(self, chunk: FileChunk) -> bytes:
        """The data of ``chunk`` to append to the file; ``DownloadCorrupt`` if out of order."""
        if chunk.offset != self.received:
            raise DownloadCorrupt(
                f"a chunk at offset {chunk.offset} came when {self.received} was expected"
            )
        if chunk.end > self.file.size:
            raise DownloadCorrupt(f"a chunk goes past the file's size ({self.file.size} bytes)")
        self._digest.update(chunk.data)
        self.received = chunk.end
        if self.received == self.file.size:
            self.finished = True
        return chunk.data

    @property
    def intact(self) -> bool:
        """Whether all of it came and its SHA-256 is the one announced."""
        return self.received == self.file.size and self._digest.hexdigest() == self.file.sha256


class ProgressThrottle:
    """Says when a transfer's progress is worth reporting: at most once per ``interval``.

    The first report and the last one (``done == total``) always are.
    """

    def __init__(
        self, interval: float = PROGRESS_INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self.clock = clock
        self._last: float | None = None

    def due(self, done: int, total: int) -> bool:
        """Whether to report ``done`` of ``total`` now (and if so, it counts as reported)."""
        now = self.clock()
        if done < total and self._last is not None and now - self._last < self.interval:
            return False
        self._last = now
        return True


def part_path(final: Path) -> Path:
    """Where a download to ``final`` is written until checked: ``<name>.part``, short enough.

    A name of 255 bytes (the most a file system takes) is cut so that the
    suffix still fits.
    """
    name = final.name
    while len((name + PART_SUFFIX).encode("utf-8")) > MAX_FILE_NAME_BYTES:
        name = name[:-1]
    return final.with_name(name + PART_SUFFIX)


def download_target(destination: Path, name: str) -> Path:
    """The file a download goes to: ``destination`` itself, or in it when it is a directory.

    In a directory the name is the server's, made safe (``safe_file_name``):
    a name received is never used as a path.
    """
    if destination.is_dir():
        return destination / safe_file_name(name)
    return destination
