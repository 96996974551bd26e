"""The file transfers of one connection: its uploads and downloads in progress.

A connection holds a ``Transfers`` once it offers or asks for a file (none
before: an idle connection pays nothing). Only the loop thread touches it.
Transfer numbers are the connection's own, shared by uploads and downloads,
from 1 up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from guigui.server.store.base import FileRecord

MAX_UNWRITTEN_CHUNKS = 4
"""Chunks of a connection received and not yet written: past this, it is not read."""
MAX_WAITING_OUTPUT_CHUNKS = 2
"""A download's next chunk is read only while less than this many chunks' bytes wait
in the connection's output, so that chat events go out between chunks."""


@dataclass(eq=False, slots=True)
class Upload:
    """A file being received: what was offered, and where the next chunk must start."""

    transfer: int
    user_id: int
    sha256: str
    size: int
    name: str
    type: str
    room_id: int | None
    recipient_id: int | None
    next_offset: int
    """Where the next FILE_CHUNK must start: the bytes received so far."""
    synced_to: int
    """The offset up to which a write was asked to reach the disk (the last FILE_ACK's)."""
    sending: bool = False
    """A FILE_SEND is being checked: no more chunks."""


@dataclass(eq=False, slots=True)
class Download:
    """A file being sent: its record, and the offset of the next FILE_DATA."""

    transfer: int
    file: FileRecord
    offset: int


@dataclass(eq=False, slots=True)
class Transfers:
    """A connection's uploads and downloads in progress."""

    last_number: int = 0
    uploads: dict[int, Upload] = field(default_factory=dict)
    downloads: dict[int, Download] = field(default_factory=dict)
    """In the order they take turns (the one served goes to the end)."""
    unwritten: int = 0
    """Chunks received and handed to the file worker, not written yet."""
    reading: bool = False
    """A download's chunk is being read by the file worker (one at a time per connection)."""

    def new_number(self) -> int:
        """A transfer number not used on this connection."""
        self.last_number += 1
        return self.last_number
