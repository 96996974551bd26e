"""Constants of the GuiGui wire protocol, version 1 (see docs/PROTOCOL.md).

Everything both sides must agree on lives here: the message type codes, the
error codes, the default limits and the set of presence statuses.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

PROTOCOL_VERSION = 1

DEFAULT_PORT = 6767
"""TCP port the server listens on and clients connect to unless told otherwise."""

DEFAULT_MAX_FRAME = 65536
"""Largest ``length`` field accepted (type byte + JSON body), in bytes."""
DEFAULT_MAX_TEXT = 4000
"""Longest message text, in characters."""
DEFAULT_HEARTBEAT = 30
"""Seconds of silence after which the server sends PING."""
DEFAULT_MAX_FILE = 25 * 1024 * 1024
"""Largest file a user may send, in bytes (25 MiB), announced by HELLO."""
DEFAULT_FILE_QUOTA = 500 * 1024 * 1024
"""Bytes of files one user may have stored in all (500 MiB)."""
FILE_CHUNK_SIZE = 32 * 1024
"""Bytes of file data per FILE_CHUNK or FILE_DATA frame that GuiGui sends.

Small enough that a chat message never waits behind more than one chunk on a
connection; large enough that a 25 MiB file is 800 frames. A peer may send
larger chunks, up to what ``max_frame`` holds (``max_chunk_data``).
"""
MAX_FILE_NAME_BYTES = 255
"""Longest file name, in bytes of UTF-8 (what every common file system allows)."""

HEADER_SIZE = 4
"""Size of the big-endian u32 ``length`` prefix."""
MAX_REQUEST_ID = 2**31 - 1
MAX_ERRORS_BEFORE_CLOSE = 10
"""Recoverable protocol errors a connection may make before it is closed."""

MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects a body may have (the messages nest 3 levels)."""
MAX_QUOTED = 64
"""Most characters of a client's input that an error message quotes."""
MAX_NONCE_LENGTH = 128
"""Longest string ``nonce`` (a client's deduplication key)."""
MAX_BIG_INT = 2**63 - 1
"""Largest ``before`` or integer ``nonce``: what a signed 64-bit database column holds."""

HISTORY_DEFAULT_LIMIT = 50
HISTORY_MAX_LIMIT = 100

CONVERSATIONS_DEFAULT_LIMIT = 50
"""Direct conversations in a CONVERSATIONS page when the client gives no ``limit``."""
CONVERSATIONS_MAX_LIMIT = 100
UNREAD_COUNT_CAP = 1000
"""The most an ``unread`` count says: 1000 means "1000 or more" (counting stops there)."""


class MessageType(IntEnum):
    """The ``type`` byte of a frame."""

    HELLO = 0x01
    OK = 0x02
    ERROR = 0x03
    PING = 0x04
    PONG = 0x05
    REGISTER = 0x10
    LOGIN = 0x11
    RESUME = 0x12
    LOGOUT = 0x13
    SET_STATUS = 0x14
    ROOMS = 0x20
    JOIN = 0x21
    LEAVE = 0x22
    HISTORY = 0x23
    SAY = 0x24
    DIRECT = 0x25
    CONVERSATIONS = 0x26
    READ = 0x27
    FILE_OFFER = 0x28
    FILE_CHUNK = 0x29
    FILE_SEND = 0x2A
    FILE_GET = 0x2B
    FILE_CANCEL = 0x2C
    MESSAGE = 0x40
    PRESENCE = 0x41
    ACCESS_DECISION = 0x42
    ROOM_UPDATE = 0x43
    SANCTIONED = 0x44
    SHUTDOWN = 0x45
    READ_STATE = 0x46
    FILE_DATA = 0x47
    FILE_ACK = 0x48


BINARY_TYPES = frozenset({MessageType.FILE_CHUNK, MessageType.FILE_DATA})
"""Frame types whose body is raw bytes (``guigui.common.file_frames``), not JSON."""


class ErrorCode(StrEnum):
    """Stable error codes carried by ERROR frames (PROTOCOL.md section 5)."""

    HELLO_REQUIRED = "hello_required"
    UNSUPPORTED_VERSION = "unsupported_version"
    BAD_FRAME = "bad_frame"
    FRAME_TOO_LARGE = "frame_too_large"
    BAD_JSON = "bad_json"
    UNKNOWN_TYPE = "unknown_type"
    BAD_REQUEST = "bad_request"
    NOT_AUTHENTICATED = "not_authenticated"
    ALREADY_AUTHENTICATED = "already_authenticated"
    INVALID_FIELD = "invalid_field"
    LOGIN_TAKEN = "login_taken"
    EMAIL_TAKEN = "email_taken"
    WEAK_PASSWORD = "weak_password"
    BAD_CREDENTIALS = "bad_credentials"
    BAD_TOKEN = "bad_token"
    BANNED = "banned"
    KICKED = "kicked"
    RATE_LIMITED = "rate_limited"
    NO_SUCH_ROOM = "no_such_room"
    NO_SUCH_USER = "no_such_user"
    NOT_MEMBER = "not_member"
    ALREADY_MEMBER = "already_member"
    ALREADY_PENDING = "already_pending"
    CANNOT_LEAVE = "cannot_leave"
    TEXT_TOO_LONG = "text_too_long"
    FILE_TOO_LARGE = "file_too_large"
    QUOTA_EXCEEDED = "quota_exceeded"
    NO_SUCH_FILE = "no_such_file"
    NO_SUCH_TRANSFER = "no_such_transfer"
    BAD_CHUNK = "bad_chunk"
    FILE_INCOMPLETE = "file_incomplete"
    CHECKSUM_MISMATCH = "checksum_mismatch"
    FILE_TYPE_MISMATCH = "file_type_mismatch"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class Status(StrEnum):
    """Presence statuses. ``offline`` is only ever reported, never set by a client."""

    ONLINE = "online"
    AWAY = "away"
    BUSY = "busy"
    OFFLINE = "offline"


SETTABLE_STATUSES = frozenset({Status.ONLINE, Status.AWAY, Status.BUSY})


class RoomAccess(StrEnum):
    """How a room is joined."""

    OPEN = "open"
    """Every user is a member from registration (the arrival room)."""
    ON_REQUEST = "on_request"
    """Joined on request, no approval needed."""
    APPROVAL = "approval"
    """Joined on request, pending until an admin decides."""


class SanctionKind(StrEnum):
    """The two kinds of sanction an admin can apply."""

    KICK = "kick"
    BAN = "ban"
