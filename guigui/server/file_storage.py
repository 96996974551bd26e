"""Where the content of files lives, and the thread that reads and writes it.

The database keeps what a file is (``files``: name, type, owner...); the bytes
are here, content-addressed: one copy per SHA-256, however many files (sent
by whoever, wherever) share it. ``ContentStore`` is the small interface the
server uses; ``DirectoryContent`` keeps the content in a directory:

- ``<root>/ab/cd/<sha256>``: a file's content, named by its digest;
- ``<root>/partial/<user id>-<sha256>``: an upload in progress, keyed by
  (user, digest), so that the same user offering the same file again on a new
  connection (after RESUME) resumes it where the last one stopped.

An upload nobody finishes is removed by ``sweep_partials`` once untouched for
``ServerConfig.partial_max_age`` (the server calls it periodically), and an
erased user's by ``drop_partials_of``.

Every method blocks: the loop thread never calls one, it hands them to the
``FileWorker`` (one thread, jobs in order), whose results come back to the
loop as ``Outcome``s through ``EventLoop.call_soon_threadsafe``, as the store
worker's do. One thread is enough: the work is one disk's, and order matters
(an upload's chunks are written in the order received, its check after them).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from guigui.common.errors import ProtocolError
from guigui.common.file_types import HEAD_SIZE
from guigui.common.protocol import ErrorCode
from guigui.server.handoff import Outcome
from guigui.server.loop import EventLoop
from guigui.server.store.relational import RelationalStore
from guigui.server.thread_names import name_os_thread

log = logging.getLogger(__name__)

T = TypeVar("T")

HASH_BLOCK = 1024 * 1024
"""Bytes read at a time to check an upload's SHA-256."""


class ContentStore(Protocol):
    """The content of files by SHA-256, and the uploads in progress. Every method blocks."""

    def partial_size(self, user_id: int, sha256: str) -> int:
        """Bytes held (on disk, synced) of the user's upload of this content; 0 if none."""

    def write_partial(
        self, user_id: int, sha256: str, offset: int, data: bytes, sync: bool
    ) -> None:
        """Write ``data`` at ``offset`` of the user's upload; ``sync``: on disk before returning."""

    def drop_partial(self, user_id: int, sha256: str) -> None:
        """Forget the user's upload of this content (no error if there is none)."""

    def partials_of(self, user_id: int) -> dict[str, int]:
        """The user's uploads held: bytes held by SHA-256 (what counts against the quota)."""

    def drop_partials_of(self, user_id: int) -> None:
        """Forget every upload of the user (an erased account)."""

    def sweep_partials(self, max_age: float, keep: set[tuple[int, str]]) -> int:
        """Remove the uploads untouched for ``max_age`` seconds but those in ``keep``.

        ``keep`` holds the (user id, SHA-256) of the uploads in progress on
        this server. Returns how many were removed.
        """

    def check_partial(self, user_id: int, sha256: str, size: int) -> bytes:
        """Check a finished upload: its size, then its SHA-256; returns its first bytes.

        ``file_incomplete`` (with ``received``) when it has fewer or more than
        ``size`` bytes (kept, to go on); ``checksum_mismatch`` when its digest
        is not ``sha256`` (dropped).
        """

    def place(self, user_id: int, sha256: str) -> None:
        """Make a checked upload the content of ``sha256`` (once: an existing copy is kept)."""

    def has(self, sha256: str) -> bool:
        """Whether the content is here."""

    def read(self, sha256: str, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes of the content from ``offset``."""

    def remove(self, sha256: str) -> None:
        """Delete the content (no error if it is not here)."""

    def close(self) -> None:
        """Release what it holds (a database connection)."""


def _check_size(received: int, size: int) -> None:
    if received != size:
        raise ProtocolError(
            ErrorCode.FILE_INCOMPLETE,
            f"the server has {received} bytes of this file, not {size}",
            received=received,
        )


def _checksum_mismatch() -> ProtocolError:
    return ProtocolError(
        ErrorCode.CHECKSUM_MISMATCH,
        "the content received is not the SHA-256 offered; it was dropped",
    )


class DirectoryContent:
    """Content in a directory: ``ab/cd/<sha256>``, uploads under ``partial/``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.partials = root / "partial"
        self.partials.mkdir(parents=True, exist_ok=True)

    def content_path(self, sha256: str) -> Path:
        """Where the content of ``sha256`` lives (two levels of 256 folders)."""
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def partial_path(self, user_id: int, sha256: str) -> Path:
        """Where the user's upload of ``sha256`` is written."""
        return self.partials / f"{user_id}-{sha256}"

    def partial_size(self, user_id: int, sha256: str) -> int:
        """Bytes of the upload, synced to disk first (they may have been written unsynced)."""
        try:
            fd = os.open(self.partial_path(user_id, sha256), os.O_RDONLY)
        except FileNotFoundError:
            return 0
        try:
            os.fsync(fd)
            return os.fstat(fd).st_size
        finally:
            os.close(fd)

    def write_partial(
        self, user_id: int, sha256: str, offset: int, data: bytes, sync: bool
    ) -> None:
        """``pwrite`` at ``offset``; ``fsync`` when asked (before a FILE_ACK)."""
        fd = os.open(self.partial_path(user_id, sha256), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            if offset == 0:
                os.ftruncate(fd, 0)  # a new upload: nothing of an older one stays
            os.pwrite(fd, data, offset)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def drop_partial(self, user_id: int, sha256: str) -> None:
        """Delete the upload's file."""
        self.partial_path(user_id, sha256).unlink(missing_ok=True)

    def _partial_files(self) -> list[tuple[int, str, Path]]:
        """Every upload held, as (user id, SHA-256, path); stray names skipped."""
        found = []
        for path in self.partials.iterdir():
            user, _, sha256 = path.name.partition("-")
            if user.isdigit() and len(sha256) == 64:
                found.append((int(user), sha256, path))
        return found

    def partials_of(self, user_id: int) -> dict[str, int]:
        """Sizes of the ``partial/<user id>-*`` files."""
        held = {}
        for path in self.partials.glob(f"{user_id}-*"):
            with contextlib.suppress(FileNotFoundError):  # finished meanwhile
                held[path.name.partition("-")[2]] = path.stat().st_size
        return held

    def drop_partials_of(self, user_id: int) -> None:
        """Delete the ``partial/<user id>-*`` files."""
        for path in self.partials.glob(f"{user_id}-*"):
            path.unlink(missing_ok=True)

    def sweep_partials(self, max_age: float, keep: set[tuple[int, str]]) -> int:
        """By the files' modification time (each chunk written sets it)."""
        cutoff = time.time() - max_age
        removed = 0
        for user_id, sha256, path in self._partial_files():
            if (user_id, sha256) in keep:
                continue
            try:
                if path.stat().st_mtime <= cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                pass
        return removed

    def check_partial(self, user_id: int, sha256: str, size: int) -> bytes:
        """Size, then SHA-256 (read by blocks: never the whole file in memory)."""
        path = self.partial_path(user_id, sha256)
        if size == 0:
            path.touch(mode=0o600)  # an empty file takes no chunk: nothing was written
        _check_size(self.partial_size(user_id, sha256), size)
        digest = hashlib.sha256()
        head = b""
        with path.open("rb") as content:
            while block := content.read(HASH_BLOCK):
                if len(head) < HEAD_SIZE:
                    head += block[: HEAD_SIZE - len(head)]
                digest.update(block)
        if digest.hexdigest() != sha256:
            path.unlink(missing_ok=True)
            raise _checksum_mismatch()
        return head

    def place(self, user_id: int, sha256: str) -> None:
        """Rename the upload into place, or drop it when the content is already there."""
        partial_path = self.partial_path(user_id, sha256)
        target = self.content_path(sha256)
        if target.exists():
            partial_path.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial_path, target)
        _sync_directory(target.parent)

    def has(self, sha256: str) -> bool:
        """Whether ``ab/cd/<sha256>`` exists."""
        return self.content_path(sha256).exists()

    def read(self, sha256: str, offset: int, length: int) -> bytes:
        """``pread`` of the content."""
        fd = os.open(self.content_path(sha256), os.O_RDONLY)
        try:
            return os.pread(fd, length, offset)
        finally:
            os.close(fd)

    def remove(self, sha256: str) -> None:
        """Unlink the content."""
        self.content_path(sha256).unlink(missing_ok=True)

    def close(self) -> None:
        """Nothing to release."""


class DatabaseContent:
    """Content in the database the nodes of a cluster share: every node serves every file.

    Chunks are rows (``file_chunks``, ``file_partials``: see
    ``db/*/0005_files.sql``), written through a store of its own, whose
    connection only the file worker uses. Each write is a committed
    transaction, so ``sync`` is always true of it.
    """

    PAGE = 32
    """Chunks read at a time to check an upload's SHA-256."""

    def __init__(self, store: RelationalStore) -> None:
        self.store = store
        self._seen: dict[tuple[int, str], tuple[int, float]] = {}
        """Each upload held: its size when last seen to change, and when (``sweep_partials``)."""

    def partials_of(self, user_id: int) -> dict[str, int]:
        """Bytes held of each of the user's uploads."""
        return self.store.content_partials_of(user_id)

    def drop_partials_of(self, user_id: int) -> None:
        """Delete the user's upload rows."""
        self.store.content_drop_partials_of(user_id)

    def sweep_partials(self, max_age: float, keep: set[tuple[int, str]]) -> int:
        """The rows keep no time: an upload is removed once its size stayed the same for
        ``max_age`` seconds of this server's life (an upload in progress on another node
        of a cluster grows, so it is kept)."""
        now = time.monotonic()
        held = self.store.content_partials()
        seen: dict[tuple[int, str], tuple[int, float]] = {}
        removed = 0
        for key, size in held.items():
            before = self._seen.get(key)
            since = before[1] if before is not None and before[0] == size else now
            if key not in keep and now - since >= max_age:
                self.store.content_drop_partial(*key)
                removed += 1
            else:
                seen[key] = (size, now if key in keep else since)
        self._seen = seen
        return removed

    def partial_size(self, user_id: int, sha256: str) -> int:
        """Bytes held of the upload."""
        return self.store.content_partial_size(user_id, sha256)

    def write_partial(
        self, user_id: int, sha256: str, offset: int, data: bytes, sync: bool
    ) -> None:
        """One row per chunk, committed."""
        self.store.content_write_partial(user_id, sha256, offset, data)

    def drop_partial(self, user_id: int, sha256: str) -> None:
        """Delete the upload's rows."""
        self.store.content_drop_partial(user_id, sha256)

    def check_partial(self, user_id: int, sha256: str, size: int) -> bytes:
        """Size, then SHA-256, reading ``PAGE`` chunks at a time."""
        _check_size(self.store.content_partial_size(user_id, sha256), size)
        digest, head, start = hashlib.sha256(), b"", 0
        while page := self.store.content_partial_page(user_id, sha256, start, self.PAGE):
            for _, data in page:
                if len(head) < HEAD_SIZE:
                    head += data[: HEAD_SIZE - len(head)]
                digest.update(data)
            start = page[-1][0] + 1
        if digest.hexdigest() != sha256:
            self.store.content_drop_partial(user_id, sha256)
            raise _checksum_mismatch()
        return head

    def place(self, user_id: int, sha256: str) -> None:
        """The upload's rows become the content's, in one transaction (or are dropped)."""
        self.store.content_place(user_id, sha256, self.store.content_partial_size(user_id, sha256))

    def has(self, sha256: str) -> bool:
        """Whether ``file_contents`` has it."""
        return self.store.content_has(sha256)

    def read(self, sha256: str, offset: int, length: int) -> bytes:
        """From the chunks the range spans."""
        return self.store.content_read(sha256, offset, length)

    def remove(self, sha256: str) -> None:
        """Delete its rows."""
        self.store.content_remove(sha256)

    def close(self) -> None:
        """Close its store's connection."""
        self.store.close()


def _sync_directory(path: Path) -> None:
    """fsync a directory, so that a rename into it survives a crash (where the OS allows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_STOP = object()


class FileWorker:
    """The thread that runs the content store's blocking calls, one at a time, in order."""

    def __init__(self, loop: EventLoop) -> None:
        self._loop = loop
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="files", daemon=True)
        self.pending = 0
        """Jobs submitted whose callback has not run yet (counted on the loop thread)."""

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Finish the jobs queued, then end the thread (blocks)."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def submit(self, job: Callable[[], T], callback: Callable[[Outcome[T]], None]) -> None:
        """Run ``job()`` on the thread; ``callback(outcome)`` then runs on the loop (loop only)."""
        self.pending += 1
        self._queue.put((job, callback))

    def _run(self) -> None:
        name_os_thread()
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            job, callback = item
            outcome: Any
            try:
                outcome = job()
            except Exception as error:
                if not isinstance(error, ProtocolError):
                    log.error("file job failed: %r", error)
                outcome = error
            self._loop.call_soon_threadsafe(partial(self._hand_back, callback, outcome))

    def _hand_back(self, callback: Callable[[Outcome[T]], None], outcome: Outcome[T]) -> None:
        self.pending -= 1
        callback(outcome)
