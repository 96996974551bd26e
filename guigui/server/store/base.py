"""The storage interface of the server: records and the ``Store`` protocol.

The server keeps its working state (users, rooms, memberships, pending requests,
active sanctions) in memory and asks the store for what does not fit there
(history, tokens) and to persist every change. A store is used from one worker
thread only (the store worker), never from the event loop; its methods block.

Both implementations (SQLite, MySQL) follow this protocol; their SQL lives next to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from guigui.common.protocol import RoomAccess, SanctionKind


class StoreError(Exception):
    """The store could not do what was asked (database down, disk full, read-only...).

    Nothing was changed when it is raised: the caller may retry later.
    """


class StoreUnavailable(StoreError):
    """The database cannot do any work right now; retrying later may succeed.

    MySQL is unreachable or the link was cut; SQLite is locked, full, read-only
    or failing I/O. Unlike other errors, it says nothing about the rows written:
    saving them one at a time would fail the same way.
    """


class DuplicateKey(StoreError):
    """A unique key was violated; ``field`` names it (``login`` or ``email``)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"duplicate {field}")
        self.field = field


ERASED_LOGIN_PREFIX = "deleted#"
"""An erased account's login is this and its id (``deleted#12``): ``#`` is refused in a
login, so nobody can register it or log in with it, and DIRECT refuses it."""
ERASED_PASSWORD_HASH = b"!"
"""No password matches it: it is not a bcrypt hash (``checkpw`` refuses it)."""


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A registered user. ``password_hash`` is a bcrypt hash, never a password."""

    id: int
    login: str
    first_name: str
    last_name: str
    email: str
    password_hash: bytes
    created_at: int


def erased_user(user_id: int, created_at: int) -> UserRecord:
    """What is left of an account once its personal data is erased (GDPR).

    The one definition of an erased account, used by the store that writes it
    and by the server that shows it: login ``deleted#ID``, no names, an email
    that cannot collide, no password.
    """
    login = f"{ERASED_LOGIN_PREFIX}{user_id}"
    return UserRecord(user_id, login, "", "", f"{login}@invalid", ERASED_PASSWORD_HASH, created_at)


@dataclass(frozen=True, slots=True)
class RoomRecord:
    """A room and how it is joined."""

    id: int
    name: str
    access: RoomAccess


@dataclass(frozen=True, slots=True)
class AccessRequestRecord:
    """A request to join a room: ``state`` is ``pending``, ``granted`` or ``refused``."""

    id: int
    user_id: int
    room_id: int
    state: str
    created_at: int
    decided_at: int | None = None
    decided_by: str | None = None


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A file sent in a conversation: its content is elsewhere, by ``sha256``.

    ``room_id`` or ``recipient_id`` says where it was sent (as for its message);
    ``type`` is the media type found in the content; ``created_at`` and
    ``deleted_at`` are milliseconds (``deleted_at`` None: a live file).
    """

    id: int
    sha256: str
    size: int
    name: str
    type: str
    owner_id: int
    room_id: int | None
    recipient_id: int | None
    created_at: int
    deleted_at: int | None = None


@dataclass(frozen=True, slots=True)
class FileUsage:
    """What the live files take: how many, and their bytes (each file counted whole)."""

    files: int
    bytes: int


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A room message (``recipient_id`` None) or a direct one (``room_id`` None).

    ``id`` is chosen by the server (increasing in send order), or by the database
    for the nodes of a cluster (``UNNUMBERED`` until then); ``nonce`` is the
    client's deduplication key, unique per sender when given; ``ip`` is the
    address the message came from (None for messages stored before it was kept);
    ``file`` the live file it carries, if any (a deleted file is not given).
    """

    id: int
    room_id: int | None
    sender_id: int
    recipient_id: int | None
    text: str
    ts: int
    nonce: str | None = None
    ip: str | None = None
    file: FileRecord | None = None


UNNUMBERED = 0
"""The id of a message handed to the store to number (``save_messages`` with ``number_ids``).

No stored message has it: ids start at 1.
"""


@dataclass(frozen=True, slots=True)
class SavedBatch:
    """What ``save_messages`` did with each message of a batch, in the batch's order."""

    messages: list[StoredMessage]
    """The message as stored: the one given (with its new id, when the store numbered
    it), or the one stored first under the same (sender, nonce)."""
    first_time: list[bool]
    """True where this save stored the message; False for a repeated (sender, nonce),
    which was not stored again (``messages`` then holds the first one)."""


@dataclass(frozen=True, slots=True)
class ReadStateRecord:
    """Where a user stands in a room (``room_id``) or a direct conversation (``other_id``).

    ``last_id``/``last_ts``: the conversation's newest message (0 and None when
    empty); ``read``: the newest message id the user has read (0: none);
    ``unread``: messages from others after ``read``, counted up to a cap.
    """

    room_id: int | None
    other_id: int | None
    last_id: int
    last_ts: int | None
    read: int
    unread: int


@dataclass(frozen=True, slots=True)
class MarkedRead:
    """What a READ did: the conversation's state after it, and whether the marker moved."""

    state: ReadStateRecord
    moved: bool


@dataclass(frozen=True, slots=True)
class SanctionRecord:
    """A kick or a ban on a login, an IP, or both. ``until`` None means permanent."""

    id: int
    kind: SanctionKind
    login: str | None
    ip: str | None
    until: int | None
    reason: str
    created_at: int
    created_by: str
    lifted_at: int | None = None
    lifted_by: str | None = None


@dataclass(frozen=True, slots=True)
class AdminRecord:
    """An admin account of the server side (separate from chat users)."""

    id: int
    login: str
    password_hash: bytes
    created_at: int


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One admin action: who did what to whom, and when."""

    id: int
    admin_login: str
    action: str
    target: str
    details: str
    ts: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the server loads into memory at start."""

    users: Sequence[UserRecord]
    rooms: Sequence[RoomRecord]
    memberships: Sequence[tuple[int, int]]
    """(user_id, room_id) pairs."""
    pending_requests: Sequence[AccessRequestRecord]
    active_sanctions: Sequence[SanctionRecord]
    """Sanctions not lifted and not expired at load time."""
    last_message_id: int
    """The highest message id stored, 0 when there is none."""


class Store(Protocol):
    """Persistent storage of the chat. Every method blocks; call it from the store worker."""

    def migrate(self) -> None:
        """Create or upgrade the schema and seed the five rooms; safe to call twice."""

    def load_snapshot(self, now: int) -> Snapshot:
        """Return the state the server keeps in memory (see ``Snapshot``)."""

    def user(self, user_id: int) -> UserRecord | None:
        """One user by id, as stored now (another node may have created or erased it)."""

    def create_user(
        self,
        login: str,
        first_name: str,
        last_name: str,
        email: str,
        password_hash: bytes,
        created_at: int,
        arrival_room_id: int,
    ) -> UserRecord:
        """Insert a user and its membership of the arrival room in one transaction.

        Raises ``DuplicateKey("login")`` or ``DuplicateKey("email")`` when taken
        (logins compare case-insensitively, emails case-insensitively).
        """

    def add_membership(self, user_id: int, room_id: int) -> None:
        """Make the user a member of the room (no error if already one).

        Every new membership (here, at registration and when an access request
        is granted) starts the user's read marker at the room's newest message:
        what was said before joining is history, not unread.
        """

    def remove_membership(self, user_id: int, room_id: int) -> None:
        """Remove the membership (no error if there is none)."""

    def create_access_request(self, user_id: int, room_id: int, created_at: int) -> int:
        """Record a pending request to join a room and return its id."""

    def decide_access_request(
        self, request_id: int, granted: bool, decided_by: str, decided_at: int
    ) -> None:
        """Mark a request granted or refused; when granted, add the membership too."""

    def save_messages(
        self, messages: Sequence[StoredMessage], *, number_ids: bool = False
    ) -> SavedBatch:
        """Store a batch of messages in ONE transaction (group commit).

        Returns, in order, the message as stored for each input: the input itself,
        or the message already stored under the same (sender, nonce), which is then
        not stored again (``SavedBatch.first_time`` False).

        ``number_ids`` (the nodes of a cluster): the ids given are ignored
        (``UNNUMBERED``); the store gives the batch the next ids of the
        database's counter, in order, within this transaction, so that ids
        increase in commit order whichever node commits. Without it, the ids
        given are stored as they are and the counter is not touched.
        """

    def room_history(self, room_id: int, before: int | None, limit: int) -> list[StoredMessage]:
        """The newest ``limit`` messages of the room with id < ``before``, oldest first."""

    def messages_after(self, after: int, limit: int) -> list[StoredMessage]:
        """The first ``limit`` messages (rooms and direct) with id > ``after``, in id order.

        What a cluster node missed while cut off from the others.
        """

    def direct_history(
        self, user_id: int, other_id: int, before: int | None, limit: int
    ) -> list[StoredMessage]:
        """The newest ``limit`` direct messages between two users (either way), oldest first."""

    def room_read_states(self, user_id: int, room_ids: Sequence[int]) -> list[ReadStateRecord]:
        """The user's read state in each of these rooms, in the order given."""

    def direct_read_states(
        self, user_id: int, before: int | None, limit: int
    ) -> list[ReadStateRecord]:
        """The user's direct conversations, newest first (by their newest message).

        Only those whose newest message id is < ``before`` (all when None), at
        most ``limit``. A direct conversation exists once a message was sent
        either way.
        """

    def mark_read(
        self, user_id: int, room_id: int | None, other_id: int | None, up_to: int
    ) -> MarkedRead:
        """Record that the user read a room or a direct conversation up to message ``up_to``.

        The marker becomes the newest message of the conversation with id <=
        ``up_to`` (so never a message that is not there), and only ever moves
        forward: an older ``up_to`` changes nothing.
        """

    def find_messages(
        self, sender_id: int | None, ip: str | None, room_id: int | None, limit: int
    ) -> list[StoredMessage]:
        """For the admin: the newest ``limit`` messages matching every criterion, newest first.

        ``sender_id`` (who sent it), ``ip`` (from where), ``room_id`` (in which
        room); a criterion left None matches any message.
        """

    def save_token(self, token_hash: bytes, user_id: int, created_at: int, expires_at: int) -> None:
        """Remember a resume token by its SHA-256 hash (the token itself is never stored)."""

    def find_token(self, token_hash: bytes, now: int) -> int | None:
        """The user id of a token that is known, not revoked and not expired at ``now``."""

    def revoke_token(self, token_hash: bytes, revoked_at: int) -> None:
        """Revoke a token (no error if unknown)."""

    def add_sanction(
        self,
        kind: SanctionKind,
        login: str | None,
        ip: str | None,
        until: int | None,
        reason: str,
        created_at: int,
        created_by: str,
    ) -> SanctionRecord:
        """Record a sanction and return it with its id."""

    def lift_sanction(self, sanction_id: int, lifted_at: int, lifted_by: str) -> bool:
        """Mark a sanction lifted; whether a sanction of that id exists.

        Lifting a sanction already lifted keeps its first lifting (time and
        admin) and still answers True.
        """

    def log_connection_start(self, user_id: int, login: str, ip: str, started_at: int) -> int:
        """Record a session's start (login, IP, time in) and return the log row's id."""

    def log_connection_end(self, log_id: int, ended_at: int) -> None:
        """Record a session's end (time out)."""

    def connection_log(self, limit: int) -> list[tuple[str, str, int, int | None]]:
        """The newest ``limit`` sessions as (login, ip, started_at, ended_at), newest first."""

    def create_admin(self, login: str, password_hash: bytes, created_at: int) -> AdminRecord:
        """Create an admin account; ``DuplicateKey("login")`` when it exists."""

    def find_admin(self, login: str) -> AdminRecord | None:
        """The admin account of that login (case-insensitive), if any."""

    def add_audit(self, admin_login: str, action: str, target: str, details: str, ts: int) -> None:
        """Append one line to the admin audit log."""

    def list_audit(self, limit: int) -> list[AuditRecord]:
        """The newest ``limit`` audit lines, newest first."""

    def delete_messages_before(self, ts: int, batch: int = 10_000) -> int:
        """Delete every message older than ``ts`` (ms), ``batch`` at a time; returns how many."""

    def export_user(self, user_id: int) -> dict[str, Any]:
        """Everything kept about one user, as JSON values; ``LookupError`` if unknown."""

    def erase_user(self, user_id: int) -> str:
        """Delete an account's personal data, keeping its messages; returns its new login."""

    # ---- files (PROTOCOL.md section 7) ----------------------------------------

    def save_file_message(
        self, file: FileRecord, message: StoredMessage, *, number_ids: bool = False
    ) -> SavedBatch:
        """Store a file (``file.id`` ignored) and the message that carries it, in ONE transaction.

        As ``save_messages`` for one message: a repeated (sender, nonce) stores
        nothing (neither file nor message) and gives the message stored first
        (``first_time`` False). The message comes back with its ``file``.
        """

    def file(self, file_id: int) -> FileRecord | None:
        """One file by id, deleted or not; None if unknown."""

    def list_files(self, owner_id: int | None = None, limit: int = 200) -> list[FileRecord]:
        """For the admin: the newest ``limit`` live files (of one owner, if given), newest first."""

    def file_usage(self) -> FileUsage:
        """How many live files there are and their bytes in all."""

    def file_bytes_of(self, user_id: int) -> int:
        """The bytes of a user's live files (for their quota)."""

    def delete_file(self, file_id: int, deleted_at: int | None = None) -> FileRecord | None:
        """Mark a file deleted (its message stays, without it); None if unknown or deleted."""

    def sha256_in_use(self, sha256: str) -> bool:
        """Whether a live file has this content (else its content may be removed)."""

    def delete_files_before(self, ts: int) -> list[str]:
        """Retention: delete the files older than ``ts`` (ms) whose message is gone.

        Returns the contents (SHA-256) that no live file uses any more.
        """

    def delete_files_of(self, user_id: int, deleted_at: int) -> list[str]:
        """Erasure: mark every live file the user sent deleted.

        Returns the contents (SHA-256) that no live file uses any more.
        """

    def close(self) -> None:
        """Release the database connection."""
