"""The JSON objects of PROTOCOL.md section 4: User, Presence, Room, Message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from guigui.common.errors import ProtocolError
from guigui.common.protocol import ErrorCode, RoomAccess, Status


def _field(data: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """``data[name]`` if it has the right JSON type, else ``ERROR bad_request``."""
    value = data.get(name)
    # bool is an int subclass in Python but not a number in JSON terms.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, f"field {name!r} is missing or mistyped", field=name
        )
    return value


def _optional(data: Mapping[str, Any], name: str, kind: type) -> Any:
    return None if data.get(name) is None else _field(data, name, kind)


def _enum(data: Mapping[str, Any], name: str, kind: type[Status] | type[RoomAccess]) -> Any:
    try:
        return kind(_field(data, name, str))
    except ValueError:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, f"field {name!r} has an unknown value", field=name
        ) from None


@dataclass(frozen=True, slots=True)
class User:
    """A user as others see it; ``email`` only in the user's own LOGIN/REGISTER reply."""

    login: str
    first_name: str
    last_name: str
    status: Status
    email: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        data: dict[str, Any] = {
            "login": self.login,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "status": str(self.status),
        }
        if self.email is not None:
            data["email"] = self.email
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Parse the JSON object."""
        return cls(
            login=_field(data, "login", str),
            first_name=_field(data, "first_name", str),
            last_name=_field(data, "last_name", str),
            status=_enum(data, "status", Status),
            email=_optional(data, "email", str),
        )


@dataclass(frozen=True, slots=True)
class Presence:
    """Someone's status: ``online``, ``away``, ``busy`` or ``offline``."""

    login: str
    status: Status

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {"login": self.login, "status": str(self.status)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Parse the JSON object."""
        return cls(login=_field(data, "login", str), status=_enum(data, "status", Status))


@dataclass(frozen=True, slots=True)
class Room:
    """A room as one user sees it: how it is joined, and whether they are in or waiting."""

    name: str
    access: RoomAccess
    member: bool
    pending: bool

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "name": self.name,
            "access": str(self.access),
            "member": self.member,
            "pending": self.pending,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Parse the JSON object."""
        return cls(
            name=_field(data, "name", str),
            access=_enum(data, "access", RoomAccess),
            member=_field(data, "member", bool),
            pending=_field(data, "pending", bool),
        )


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A message: in a room (``recipient`` None) or direct (``room`` None).

    ``sender`` and ``recipient`` are the JSON keys ``from`` and ``to``.
    """

    id: int
    room: str | None
    sender: str
    recipient: str | None
    text: str
    ts: int

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "id": self.id,
            "room": self.room,
            "from": self.sender,
            "to": self.recipient,
            "text": self.text,
            "ts": self.ts,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Parse the JSON object."""
        return cls(
            id=_field(data, "id", int),
            room=_optional(data, "room", str),
            sender=_field(data, "from", str),
            recipient=_optional(data, "to", str),
            text=_field(data, "text", str),
            ts=_field(data, "ts", int),
        )
