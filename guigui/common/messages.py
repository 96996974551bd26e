"""One small immutable class per message type of PROTOCOL.md section 3.

Each class knows its ``TYPE``, turns itself into a JSON body (``to_body``) and
parses one strictly (``from_body``): a missing or mistyped field raises
``ProtocolError(bad_request, field=NAME)``. Only the shape is checked here;
rules about values (a valid login, a text not too long) belong to whoever
applies them (``guigui.common.validation``, the server).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from guigui.common.codec import Frame, encode_frame
from guigui.common.errors import ProtocolError
from guigui.common.objects import ChatMessage, Presence, Room
from guigui.common.protocol import (
    HISTORY_DEFAULT_LIMIT,
    HISTORY_MAX_LIMIT,
    MAX_REQUEST_ID,
    ErrorCode,
    MessageType,
    SanctionKind,
)

MAX_NONCE_LENGTH = 128


def _bad(name: str, why: str = "is missing or mistyped") -> ProtocolError:
    return ProtocolError(ErrorCode.BAD_REQUEST, f"field {name!r} {why}", field=name)


def _str(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise _bad(name)
    return value


def _int(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(name)
    return value


def _optional_int(body: Mapping[str, Any], name: str) -> int | None:
    return None if body.get(name) is None else _int(body, name)


def request_id_of(body: Mapping[str, Any]) -> int | None:
    """The body's ``id`` if it is a valid request id (1 to 2^31-1), else None."""
    value = body.get("id")
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_REQUEST_ID:
        return value
    return None


def _request_id(body: Mapping[str, Any]) -> int:
    request_id = request_id_of(body)
    if request_id is None:
        raise _bad("id", f"must be an integer from 1 to {MAX_REQUEST_ID}")
    return request_id


def _nonce(body: Mapping[str, Any]) -> str | None:
    """A client's deduplication key: a string of 1 to 128 characters or an integer."""
    value = body.get("nonce")
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and 1 <= len(value) <= MAX_NONCE_LENGTH:
        return value
    raise _bad("nonce", f"must be a string of 1 to {MAX_NONCE_LENGTH} characters or an integer")


# ---- requests (client to server) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    """HELLO: the first frame of every connection."""

    TYPE: ClassVar[MessageType] = MessageType.HELLO
    id: int
    version: int
    client: str

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"id": self.id, "version": self.version, "client": self.client}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body, checking every field's type."""
        return cls(_request_id(body), _int(body, "version"), _str(body, "client"))


@dataclass(frozen=True, slots=True)
class Register:
    """REGISTER: create an account (does not log in)."""

    TYPE: ClassVar[MessageType] = MessageType.REGISTER
    id: int
    login: str
    password: str
    first_name: str
    last_name: str
    email: str

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {
            "id": self.id,
            "login": self.login,
            "password": self.password,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body, checking every field's type."""
        return cls(
            _request_id(body),
            _str(body, "login"),
            _str(body, "password"),
            _str(body, "first_name"),
            _str(body, "last_name"),
            _str(body, "email"),
        )


@dataclass(frozen=True, slots=True)
class Login:
    """LOGIN: open a session with a login and a password."""

    TYPE: ClassVar[MessageType] = MessageType.LOGIN
    id: int
    login: str
    password: str

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"id": self.id, "login": self.login, "password": self.password}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body, checking every field's type."""
        return cls(_request_id(body), _str(body, "login"), _str(body, "password"))


@dataclass(frozen=True, slots=True)
class Resume:
    """RESUME: open a session with the token of an earlier LOGIN."""

    TYPE: ClassVar[MessageType] = MessageType.RESUME
    id: int
    token: str

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"id": self.id, "token": self.token}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body, checking every field's type."""
        return cls(_request_id(body), _str(body, "token"))


@dataclass(frozen=True, slots=True)
class _IdOnly:
    """A request whose body is only its ``id``."""

    TYPE: ClassVar[MessageType]
    id: int

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"id": self.id}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body, checking every field's type."""
        return cls(_request_id(body))


class Logout(_IdOnly):
    """LOGOUT: end the session and revoke its token."""

    __slots__ = ()
    TYPE = MessageType.LOGOUT


@dataclass(frozen=True, slots=True)
class SetStatus:
    """SET_STATUS: ``online``, ``away`` or ``busy`` (checked by the server)."""

    TYPE: ClassVar[MessageType] = MessageType.SET_STATUS
    id: int
    status: str

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"id": self.id, "status": self.status}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body, checking every field's type."""
        return cls(_request_id(body), _str(body, "status"))


class ListRooms(_IdOnly):
    """ROOMS: every room as this user sees it."""

    __slots__ = ()
    TYPE = MessageType.ROOMS


@dataclass(frozen=True, slots=True)
class _RoomRequest:
    """A request naming a room."""

    TYPE: ClassVar[MessageType]
    id: int
    room: str

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"id": self.id, "room": self.room}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body, checking every field's type."""
        return cls(_request_id(body), _str(body, "room"))


class Join(_RoomRequest):
    """JOIN: enter a room, or ask to."""

    __slots__ = ()
    TYPE = MessageType.JOIN


class Leave(_RoomRequest):
    """LEAVE: stop being a member of a room."""

    __slots__ = ()
    TYPE = MessageType.LEAVE


@dataclass(frozen=True, slots=True)
class History:
    """HISTORY: a page of a room's messages or of a direct conversation (key ``with``)."""

    TYPE: ClassVar[MessageType] = MessageType.HISTORY
    id: int
    room: str | None = None
    with_user: str | None = None
    before: int | None = None
    limit: int = HISTORY_DEFAULT_LIMIT

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        body: dict[str, Any] = {"id": self.id, "limit": self.limit}
        if self.room is not None:
            body["room"] = self.room
        if self.with_user is not None:
            body["with"] = self.with_user
        if self.before is not None:
            body["before"] = self.before
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body: exactly one of ``room`` and ``with``; ``limit`` from 1 to 100."""
        request_id = _request_id(body)
        room = None if body.get("room") is None else _str(body, "room")
        with_user = None if body.get("with") is None else _str(body, "with")
        if (room is None) == (with_user is None):
            raise _bad("room", "or 'with' must be given, not both")
        limit = body.get("limit", HISTORY_DEFAULT_LIMIT)
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise _bad("limit")
        if not 1 <= limit <= HISTORY_MAX_LIMIT:
            raise _bad("limit", f"must be from 1 to {HISTORY_MAX_LIMIT}")
        return cls(request_id, room, with_user, _optional_int(body, "before"), limit)


@dataclass(frozen=True, slots=True)
class Say:
    """SAY: a message to a room."""

    TYPE: ClassVar[MessageType] = MessageType.SAY
    id: int
    room: str
    text: str
    nonce: str | None = None

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        body: dict[str, Any] = {"id": self.id, "room": self.room, "text": self.text}
        if self.nonce is not None:
            body["nonce"] = self.nonce
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body, checking every field's type."""
        return cls(_request_id(body), _str(body, "room"), _str(body, "text"), _nonce(body))


@dataclass(frozen=True, slots=True)
class Direct:
    """DIRECT: a private message to one user."""

    TYPE: ClassVar[MessageType] = MessageType.DIRECT
    id: int
    to: str
    text: str
    nonce: str | None = None

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        body: dict[str, Any] = {"id": self.id, "to": self.to, "text": self.text}
        if self.nonce is not None:
            body["nonce"] = self.nonce
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body, checking every field's type."""
        return cls(_request_id(body), _str(body, "to"), _str(body, "text"), _nonce(body))


Request = (
    Hello
    | Register
    | Login
    | Resume
    | Logout
    | SetStatus
    | ListRooms
    | Join
    | Leave
    | History
    | Say
    | Direct
)
"""Any request a client may send."""

REQUEST_CLASSES: dict[int, Any] = {
    cls.TYPE: cls
    for cls in (
        Hello, Register, Login, Resume, Logout, SetStatus, ListRooms, Join, Leave, History, Say,
        Direct,
    )
}  # fmt: skip


def parse_request(frame: Frame) -> Request:
    """The request a frame carries; ``unknown_type`` when it is not a request type."""
    cls = REQUEST_CLASSES.get(frame.type)
    if cls is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"0x{frame.type:02x} is not a request type")
    request: Request = cls.from_body(frame.body)
    return request


# ---- both ways ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Heartbeat:
    """PING or PONG: a ``nonce`` (any JSON value) echoed back."""

    TYPE: ClassVar[MessageType]
    nonce: Any = None

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"nonce": self.nonce}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body."""
        return cls(body.get("nonce"))


class Ping(_Heartbeat):
    """PING: the peer answers PONG with the same ``nonce``."""

    __slots__ = ()
    TYPE = MessageType.PING


class Pong(_Heartbeat):
    """PONG: the answer to a PING."""

    __slots__ = ()
    TYPE = MessageType.PONG


# ---- replies (server to client) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ok:
    """OK: a request succeeded; ``result`` holds the reply's other fields."""

    TYPE: ClassVar[MessageType] = MessageType.OK
    id: int | None
    result: dict[str, Any] = field(default_factory=dict)

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"id": self.id, **self.result}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body."""
        result = {key: value for key, value in body.items() if key != "id"}
        return cls(_optional_int(body, "id"), result)


@dataclass(frozen=True, slots=True)
class Error:
    """ERROR: a request failed (or, with ``id`` None, a frame that was no request)."""

    TYPE: ClassVar[MessageType] = MessageType.ERROR
    id: int | None
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"id": self.id, "code": self.code, "message": self.message, **self.details}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body."""
        details = {k: v for k, v in body.items() if k not in ("id", "code", "message")}
        message = body.get("message")
        return cls(
            _optional_int(body, "id"),
            _str(body, "code"),
            message if isinstance(message, str) else "",
            details,
        )


# ---- events (server to client) --------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """MESSAGE: a new message in a room of the user, or a direct one."""

    TYPE: ClassVar[MessageType] = MessageType.MESSAGE
    message: ChatMessage

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"message": self.message.to_json()}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body."""
        data = body.get("message")
        if not isinstance(data, Mapping):
            raise _bad("message")
        return cls(ChatMessage.from_json(data))


@dataclass(frozen=True, slots=True)
class PresenceEvent:
    """PRESENCE: someone logged in, changed status or went offline (the body IS a Presence)."""

    TYPE: ClassVar[MessageType] = MessageType.PRESENCE
    presence: Presence

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return self.presence.to_json()

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body."""
        return cls(Presence.from_json(body))


@dataclass(frozen=True, slots=True)
class AccessDecision:
    """ACCESS_DECISION: an admin granted or refused a request to join a room."""

    TYPE: ClassVar[MessageType] = MessageType.ACCESS_DECISION
    room: str
    granted: bool
    request_id: int

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"room": self.room, "granted": self.granted, "request_id": self.request_id}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body."""
        granted = body.get("granted")
        if not isinstance(granted, bool):
            raise _bad("granted")
        return cls(_str(body, "room"), granted, _int(body, "request_id"))


@dataclass(frozen=True, slots=True)
class RoomUpdate:
    """ROOM_UPDATE: a room was added or changed."""

    TYPE: ClassVar[MessageType] = MessageType.ROOM_UPDATE
    room: Room

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"room": self.room.to_json()}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body."""
        data = body.get("room")
        if not isinstance(data, Mapping):
            raise _bad("room")
        return cls(Room.from_json(data))


@dataclass(frozen=True, slots=True)
class Sanctioned:
    """SANCTIONED: sent just before the server closes a kicked or banned session."""

    TYPE: ClassVar[MessageType] = MessageType.SANCTIONED
    kind: SanctionKind
    until: int | None
    reason: str

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"kind": str(self.kind), "until": self.until, "reason": self.reason}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body."""
        try:
            kind = SanctionKind(_str(body, "kind"))
        except ValueError:
            raise _bad("kind", "is unknown") from None
        return cls(kind, _optional_int(body, "until"), _str(body, "reason"))


@dataclass(frozen=True, slots=True)
class Shutdown:
    """SHUTDOWN: the server stops in ``in_seconds``."""

    TYPE: ClassVar[MessageType] = MessageType.SHUTDOWN
    in_seconds: int
    reason: str

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"in_seconds": self.in_seconds, "reason": self.reason}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Parse a body."""
        return cls(_int(body, "in_seconds"), _str(body, "reason"))


Event = MessageEvent | PresenceEvent | AccessDecision | RoomUpdate | Sanctioned | Shutdown
"""Any event the server may send."""

EVENT_CLASSES: dict[int, Any] = {
    cls.TYPE: cls
    for cls in (MessageEvent, PresenceEvent, AccessDecision, RoomUpdate, Sanctioned, Shutdown)
}


def parse_event(frame: Frame) -> Event:
    """The event a frame carries; ``unknown_type`` when it is not an event type."""
    cls = EVENT_CLASSES.get(frame.type)
    if cls is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"0x{frame.type:02x} is not an event type")
    event: Event = cls.from_body(frame.body)
    return event


def encode(message: Request | Event | Ok | Error | Ping | Pong) -> bytes:
    """The frame bytes of any message object."""
    return encode_frame(message.TYPE, message.to_body())
