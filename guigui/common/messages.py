"""One typed definition per message of PROTOCOL.md section 3, used by both ends.

Each message is a frozen ``msgspec.Struct`` with its frame ``TYPE``. The same
class decodes and validates what arrives (``decode_request``, ``decode_event``,
``decode_reply``) and encodes what is sent (``encode``): the server, the
clients and the docs share one definition, and there is no hand-written parser.

Decoding is strict: a missing or mistyped field, a bool where an integer is
expected, or an integer outside its range (the ``Annotated`` ranges below)
raises ``ProtocolError(bad_request, field=NAME)``; a body that is not a UTF-8
JSON object (a lone surrogate escape such as ``"\\ud800"`` included) or that
nests deeper than ``MAX_JSON_DEPTH`` raises ``ProtocolError(bad_json)``.
Rules about values (a valid login, a text not too long) belong to whoever
applies them (``guigui.common.validation``, the server).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, TypeAlias, TypeVar

import msgspec

from guigui.common.codec import Frame, body_problem, encode_frame
from guigui.common.errors import ProtocolError
from guigui.common.file_frames import MAX_TRANSFER
from guigui.common.objects import (
    ChatMessage,
    ConversationState,
    FileInfo,
    JsonObject,
    Presence,
    Room,
    User,
)
from guigui.common.protocol import (
    CONVERSATIONS_DEFAULT_LIMIT,
    CONVERSATIONS_MAX_LIMIT,
    HISTORY_DEFAULT_LIMIT,
    HISTORY_MAX_LIMIT,
    MAX_BIG_INT,
    MAX_NONCE_LENGTH,
    MAX_REQUEST_ID,
    ErrorCode,
    MessageType,
    SanctionKind,
)

RequestId = Annotated[int, msgspec.Meta(ge=1, le=MAX_REQUEST_ID)]
"""A request's ``id``: 1 to 2^31-1."""
MessageId = Annotated[int, msgspec.Meta(ge=0, le=MAX_BIG_INT)]
"""A message id as a client may send it (``before``): 0 to 2^63-1."""
Nonce = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NONCE_LENGTH)] | MessageId
"""A client's deduplication key: a string of 1 to 128 characters, or an integer 0 to 2^63-1."""
Version = Annotated[int, msgspec.Meta(ge=0, le=MAX_REQUEST_ID)]
HistoryLimit = Annotated[int, msgspec.Meta(ge=1, le=HISTORY_MAX_LIMIT)]
ConversationsLimit = Annotated[int, msgspec.Meta(ge=1, le=CONVERSATIONS_MAX_LIMIT)]
FileSize = Annotated[int, msgspec.Meta(ge=0, le=MAX_BIG_INT)]
"""A file's size or an offset in it, in bytes: 0 to 2^63-1 (the server's limit is far lower)."""
FileId = Annotated[int, msgspec.Meta(ge=1, le=MAX_BIG_INT)]
"""A stored file's id."""
TransferId = Annotated[int, msgspec.Meta(ge=1, le=MAX_TRANSFER)]
"""A transfer's number, as the server gave it (a u32, never 0)."""
Sha256 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
"""A SHA-256 digest in lowercase hexadecimal."""
MediaType = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
]
"""A media type without parameters, in lowercase (``image/png``)."""


# ---- requests (client to server) ---------------------------------------------


class Request(JsonObject, frozen=True, omit_defaults=True):
    """What every request has: its ``id``, echoed by the one reply it gets."""

    TYPE: ClassVar[MessageType]
    id: RequestId


class Hello(Request, frozen=True, omit_defaults=True):
    """HELLO: the first frame of every connection."""

    TYPE = MessageType.HELLO
    version: Version
    client: str


class Register(Request, frozen=True, omit_defaults=True):
    """REGISTER: create an account (does not log in)."""

    TYPE = MessageType.REGISTER
    login: str
    password: str
    first_name: str
    last_name: str
    email: str


class Login(Request, frozen=True, omit_defaults=True):
    """LOGIN: open a session with a login and a password."""

    TYPE = MessageType.LOGIN
    login: str
    password: str


class Resume(Request, frozen=True, omit_defaults=True):
    """RESUME: open a session with the token of an earlier LOGIN."""

    TYPE = MessageType.RESUME
    token: str


class Logout(Request, frozen=True, omit_defaults=True):
    """LOGOUT: end the session and revoke its token."""

    TYPE = MessageType.LOGOUT


class SetStatus(Request, frozen=True, omit_defaults=True):
    """SET_STATUS: ``online``, ``away`` or ``busy`` (checked by the server)."""

    TYPE = MessageType.SET_STATUS
    status: str


class ListRooms(Request, frozen=True, omit_defaults=True):
    """ROOMS: every room as this user sees it."""

    TYPE = MessageType.ROOMS


class Join(Request, frozen=True, omit_defaults=True):
    """JOIN: enter a room, or ask to."""

    TYPE = MessageType.JOIN
    room: str


class Leave(Request, frozen=True, omit_defaults=True):
    """LEAVE: stop being a member of a room."""

    TYPE = MessageType.LEAVE
    room: str


class History(Request, frozen=True, omit_defaults=True):
    """HISTORY: a page of a room's messages or of a direct conversation (key ``with``)."""

    TYPE = MessageType.HISTORY
    room: str | None = None
    with_user: str | None = msgspec.field(name="with", default=None)
    before: MessageId | None = None
    limit: HistoryLimit = HISTORY_DEFAULT_LIMIT

    def __post_init__(self) -> None:
        """Exactly one of ``room`` and ``with``."""
        if (self.room is None) == (self.with_user is None):
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, "give 'room' or 'with', not both", field="room"
            )


class Say(Request, frozen=True, omit_defaults=True):
    """SAY: a message to a room."""

    TYPE = MessageType.SAY
    room: str
    text: str
    nonce: Nonce | None = None


class Direct(Request, frozen=True, omit_defaults=True):
    """DIRECT: a private message to one user."""

    TYPE = MessageType.DIRECT
    to: str
    text: str
    nonce: Nonce | None = None


class Conversations(Request, frozen=True, omit_defaults=True):
    """CONVERSATIONS: the user's rooms and direct conversations with their read state.

    The first page (no ``before``) lists every room the user is a member of,
    then the newest ``limit`` direct conversations; a later page, the direct
    conversations whose newest message is older than ``before``.
    """

    TYPE = MessageType.CONVERSATIONS
    before: MessageId | None = None
    limit: ConversationsLimit = CONVERSATIONS_DEFAULT_LIMIT


class MarkRead(Request, frozen=True, omit_defaults=True, kw_only=True):
    """READ: the user read a room (``room``) or a direct conversation (``with``) up to ``up_to``."""

    TYPE = MessageType.READ
    room: str | None = None
    with_user: str | None = msgspec.field(name="with", default=None)
    up_to: MessageId

    def __post_init__(self) -> None:
        """Exactly one of ``room`` and ``with``."""
        if (self.room is None) == (self.with_user is None):
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, "give 'room' or 'with', not both", field="room"
            )


class FileOffer(Request, frozen=True, omit_defaults=True, kw_only=True):
    """FILE_OFFER: the user is about to send a file to a room (``room``) or a user (``to``).

    The server answers with the transfer number the FILE_CHUNK frames carry and
    how many bytes of this file (same ``sha256``) it already holds from an
    upload of this user that was cut: the upload resumes there.
    """

    TYPE = MessageType.FILE_OFFER
    room: str | None = None
    to: str | None = None
    name: str
    size: FileSize
    type: MediaType
    sha256: Sha256

    def __post_init__(self) -> None:
        """Exactly one of ``room`` and ``to``."""
        if (self.room is None) == (self.to is None):
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, "give 'room' or 'to', not both", field="room"
            )


class FileSend(Request, frozen=True, omit_defaults=True):
    """FILE_SEND: every byte of an upload is sent: check it, store it and post its message.

    ``text`` is an optional caption; ``nonce`` deduplicates as for SAY.
    """

    TYPE = MessageType.FILE_SEND
    transfer: TransferId
    text: str | None = None
    nonce: Nonce | None = None


class FileGet(Request, frozen=True, omit_defaults=True):
    """FILE_GET: download a file from ``offset`` on (to resume a download that was cut)."""

    TYPE = MessageType.FILE_GET
    file: FileId
    offset: FileSize = 0


class FileCancel(Request, frozen=True, omit_defaults=True):
    """FILE_CANCEL: stop an upload (what was received is dropped) or a download."""

    TYPE = MessageType.FILE_CANCEL
    transfer: TransferId


REQUEST_TYPES: dict[int, type[Request]] = {
    cls.TYPE: cls
    for cls in (
        Hello, Register, Login, Resume, Logout, SetStatus, ListRooms, Join, Leave, History, Say,
        Direct, Conversations, MarkRead, FileOffer, FileSend, FileGet, FileCancel,
    )
}  # fmt: skip
"""Frame type byte to request class."""

SESSION_CHANGING: frozenset[type[Request]] = frozenset(
    {Register, Login, Resume, Logout, Join, Leave}
)
"""Requests whose effect later requests may depend on (who is logged in, which rooms).

The server handles such a request only once every earlier request of the
connection is answered, and nothing after it until it is answered, so that
pipelined requests take effect in the order they were sent.
"""


# ---- both ways ----------------------------------------------------------------


class Ping(JsonObject, frozen=True):
    """PING: the peer answers PONG with the same ``nonce``.

    The nonce is kept as the raw JSON received (``msgspec.Raw``) and echoed
    as it is: a PONG is never longer than a PING that has a nonce (without
    one, it answers ``{"nonce":null}``).
    """

    TYPE: ClassVar[MessageType] = MessageType.PING
    nonce: msgspec.Raw = msgspec.Raw(b"null")


class Pong(JsonObject, frozen=True):
    """PONG: the answer to a PING, with its ``nonce``."""

    TYPE: ClassVar[MessageType] = MessageType.PONG
    nonce: msgspec.Raw = msgspec.Raw(b"null")


# ---- replies (server to client) -------------------------------------------------


class Reply(JsonObject, frozen=True, omit_defaults=True):
    """OK: a request succeeded. The subclasses say what each request gets back."""

    TYPE: ClassVar[MessageType] = MessageType.OK
    id: int


class Ok(Reply, frozen=True, omit_defaults=True):
    """``OK {id}``: LOGOUT, SET_STATUS and LEAVE."""


class HelloOk(Reply, frozen=True, omit_defaults=True):
    """The answer to HELLO: the server's name and limits."""

    version: int
    server: str
    max_frame: int
    max_text: int
    heartbeat: float
    max_file: int = 0
    """Largest file the server takes, in bytes (0: a server without files)."""


class RegisterOk(Reply, frozen=True, omit_defaults=True):
    """The answer to REGISTER: the new account (with its email)."""

    user: User


class SessionOk(Reply, frozen=True, omit_defaults=True):
    """The answer to LOGIN and RESUME.

    ``online`` holds as many presences as fit in one frame; the server sends
    the others right after, as PRESENCE events.
    """

    user: User
    token: str
    rooms: list[Room]
    online: list[Presence]


class RoomsOk(Reply, frozen=True, omit_defaults=True):
    """The answer to ROOMS."""

    rooms: list[Room]


class JoinOk(Reply, frozen=True, omit_defaults=True):
    """The answer to JOIN: ``joined`` (with ``room``) or ``pending`` (with ``request_id``)."""

    status: str
    room: Room | None = None
    request_id: int | None = None


class HistoryOk(Reply, frozen=True, omit_defaults=True):
    """The answer to HISTORY: a page, oldest first, and whether older messages exist."""

    messages: list[ChatMessage]
    more: bool


class MessageOk(Reply, frozen=True, omit_defaults=True):
    """The answer to SAY and DIRECT: the message as stored."""

    message: ChatMessage


class ConversationsOk(Reply, frozen=True, omit_defaults=True):
    """The answer to CONVERSATIONS: a page of conversations, and whether older direct ones exist."""

    conversations: list[ConversationState]
    more: bool


class ReadOk(Reply, frozen=True, omit_defaults=True):
    """The answer to READ: the conversation's state once the read is recorded."""

    conversation: ConversationState


class FileOfferOk(Reply, frozen=True, omit_defaults=True):
    """The answer to FILE_OFFER: the transfer's number and the bytes already received."""

    transfer: int
    received: int
    max_chunk: int
    """The most data bytes a FILE_CHUNK may carry (what ``max_frame`` holds)."""


class FileGetOk(Reply, frozen=True, omit_defaults=True):
    """The answer to FILE_GET: the file, and the transfer its FILE_DATA frames carry."""

    file: FileInfo
    transfer: int


class Error(JsonObject, frozen=True):
    """ERROR: a request failed (or, with ``id`` None, a frame that was no request).

    The details a code carries (section 5) are present only when set.
    """

    TYPE: ClassVar[MessageType] = MessageType.ERROR
    id: int | None
    code: str
    message: str
    field: str | msgspec.UnsetType = msgspec.UNSET
    reason: str | msgspec.UnsetType = msgspec.UNSET
    retry_after_ms: int | msgspec.UnsetType = msgspec.UNSET
    until: int | msgspec.UnsetType | None = msgspec.UNSET
    max_text: int | msgspec.UnsetType = msgspec.UNSET
    max_file: int | msgspec.UnsetType = msgspec.UNSET
    received: int | msgspec.UnsetType = msgspec.UNSET

    @classmethod
    def of(cls, error: ProtocolError, request_id: int | None) -> Error:
        """The ERROR answering ``request_id`` (None: no request) with ``error``."""
        return cls(request_id, str(error.code), error.message, **error.details)

    def details(self) -> dict[str, Any]:
        """The detail fields that are set."""
        return {
            name: value
            for name in (
                "field",
                "reason",
                "retry_after_ms",
                "until",
                "max_text",
                "max_file",
                "received",
            )
            if (value := getattr(self, name)) is not msgspec.UNSET
        }


REPLY_TYPES: dict[type[Request], type[Reply]] = {
    Hello: HelloOk,
    Register: RegisterOk,
    Login: SessionOk,
    Resume: SessionOk,
    Logout: Ok,
    SetStatus: Ok,
    ListRooms: RoomsOk,
    Join: JoinOk,
    Leave: Ok,
    History: HistoryOk,
    Say: MessageOk,
    Direct: MessageOk,
    Conversations: ConversationsOk,
    MarkRead: ReadOk,
    FileOffer: FileOfferOk,
    FileSend: MessageOk,
    FileGet: FileGetOk,
    FileCancel: Ok,
}
"""What an OK to each request carries."""


# ---- events (server to client) --------------------------------------------------


class MessageEvent(JsonObject, frozen=True):
    """MESSAGE: a new message in a room of the user, or a direct one."""

    TYPE: ClassVar[MessageType] = MessageType.MESSAGE
    message: ChatMessage


class PresenceEvent(Presence, frozen=True):
    """PRESENCE: someone logged in, changed status or went offline (the body IS a Presence)."""

    TYPE: ClassVar[MessageType] = MessageType.PRESENCE


class AccessDecision(JsonObject, frozen=True):
    """ACCESS_DECISION: an admin granted or refused a request to join a room."""

    TYPE: ClassVar[MessageType] = MessageType.ACCESS_DECISION
    room: str
    granted: bool
    request_id: int


class RoomUpdate(JsonObject, frozen=True):
    """ROOM_UPDATE: a room was added or changed."""

    TYPE: ClassVar[MessageType] = MessageType.ROOM_UPDATE
    room: Room


class Sanctioned(JsonObject, frozen=True):
    """SANCTIONED: sent just before the server closes a kicked or banned session."""

    TYPE: ClassVar[MessageType] = MessageType.SANCTIONED
    kind: SanctionKind
    until: int | None
    reason: str


class Shutdown(JsonObject, frozen=True):
    """SHUTDOWN: the server stops in ``in_seconds``."""

    TYPE: ClassVar[MessageType] = MessageType.SHUTDOWN
    in_seconds: int
    reason: str


class ReadStateEvent(JsonObject, frozen=True):
    """READ_STATE: another session of the user read a conversation (its new state).

    Sent only to sessions that asked for read state (CONVERSATIONS or READ)
    since they logged in: clients that never do keep the events they know.
    """

    TYPE: ClassVar[MessageType] = MessageType.READ_STATE
    conversation: ConversationState


class FileAck(JsonObject, frozen=True):
    """FILE_ACK: the server holds the first ``received`` bytes of an upload, safely.

    An upload cut by a lost connection resumes from the last ``received``
    (FILE_OFFER again, after RESUME, answers with it).
    """

    TYPE: ClassVar[MessageType] = MessageType.FILE_ACK
    transfer: int
    received: int


Event: TypeAlias = (
    MessageEvent
    | PresenceEvent
    | AccessDecision
    | RoomUpdate
    | Sanctioned
    | Shutdown
    | ReadStateEvent
    | FileAck
)
"""Any event the server may send."""

EVENT_TYPES: dict[int, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        MessageEvent, PresenceEvent, AccessDecision, RoomUpdate, Sanctioned, Shutdown,
        ReadStateEvent, FileAck,
    )
}  # fmt: skip
"""Frame type byte to event class."""

Message: TypeAlias = Request | Reply | Error | Event | Ping | Pong
"""Anything that travels in a frame."""


# ---- decoding and encoding --------------------------------------------------------

M = TypeVar("M", bound=JsonObject)

_DECODERS: dict[type[Any], msgspec.json.Decoder[Any]] = {}
_FIELD_AT = re.compile(r"at `\$\.([^`.\[]+)")
_MISSING_FIELD = re.compile(r"required field `([^`]+)`")


def _decoder(cls: type[M]) -> msgspec.json.Decoder[M]:
    decoder = _DECODERS.get(cls)
    if decoder is None:
        decoder = _DECODERS[cls] = msgspec.json.Decoder(cls)
    return decoder


def decode_as(cls: type[M], payload: bytes) -> M:
    """Decode and validate a frame body as ``cls``, or raise the ``ProtocolError`` it deserves."""
    problem = body_problem(payload)
    if problem is not None:
        raise ProtocolError(ErrorCode.BAD_JSON, problem)
    try:
        return _decoder(cls).decode(payload)
    except msgspec.ValidationError as error:
        raise _validation_error(str(error)) from None
    except msgspec.DecodeError as error:
        raise ProtocolError(ErrorCode.BAD_JSON, f"the body is not UTF-8 JSON: {error}") from None


def _validation_error(text: str) -> ProtocolError:
    """``bad_request`` naming the field msgspec complains about (``bad_json``: not an object)."""
    found = _FIELD_AT.search(text) or _MISSING_FIELD.search(text)
    if found is None:  # the body itself has the wrong type
        return ProtocolError(ErrorCode.BAD_JSON, "the body must be a JSON object")
    name = found.group(1)
    why = text.split(" - at ")[0]
    return ProtocolError(ErrorCode.BAD_REQUEST, f"field {name!r}: {why}", field=name)


def decode_request(frame: Frame) -> Request:
    """The request a frame carries; ``unknown_type`` when it is not a request type."""
    cls = REQUEST_TYPES.get(frame.type)
    if cls is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"0x{frame.type:02x} is not a request type")
    return decode_as(cls, frame.payload)


def decode_event(frame: Frame) -> Event:
    """The event a frame carries; ``unknown_type`` when it is not an event type."""
    cls = EVENT_TYPES.get(frame.type)
    if cls is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"0x{frame.type:02x} is not an event type")
    return decode_as(cls, frame.payload)


def decode_reply(frame: Frame, request_type: type[Request]) -> Reply | Error:
    """The OK or ERROR answering a request of ``request_type``."""
    if frame.type == MessageType.ERROR:
        return decode_as(Error, frame.payload)
    if frame.type != MessageType.OK:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"0x{frame.type:02x} is not a reply")
    return decode_as(REPLY_TYPES[request_type], frame.payload)


class _AnyId(JsonObject, frozen=True):
    id: Any = None


def request_id_of(frame: Frame) -> int | None:
    """The frame's ``id`` if it is a valid request id (1 to 2^31-1), else None.

    For answering a request that failed to decode: the rest of its body may be
    wrong, its ``id`` still says which request the ERROR answers.
    """
    if body_problem(frame.payload) is not None:
        return None
    try:
        value = _decoder(_AnyId).decode(frame.payload).id
    except msgspec.DecodeError:
        return None
    if type(value) is int and 1 <= value <= MAX_REQUEST_ID:
        return value
    return None


def encode(message: Message) -> bytes:
    """The frame bytes of any message."""
    return encode_frame(message.TYPE, message)
