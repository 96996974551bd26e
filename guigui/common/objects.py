"""The JSON objects of PROTOCOL.md section 4: User, Presence, Room, Message, FileInfo and more.

Each is a ``msgspec.Struct``: the same definition decodes and checks what
arrives (strictly: a bool is not an int, an unknown status is refused) and
encodes what is sent. ``to_json`` gives the plain JSON object, for printing.
"""

from __future__ import annotations

from typing import Any, Self

import msgspec

from guigui.common.protocol import RoomAccess, Status


class JsonObject(msgspec.Struct, frozen=True):
    """Base of the protocol's objects and messages: immutable, typed, JSON on the wire."""

    def to_json(self) -> dict[str, Any]:
        """The plain JSON object (dicts, lists, strings, numbers), keys as on the wire."""
        # Through JSON rather than msgspec.to_builtins, which cannot convert a
        # msgspec.Raw (PING's nonce); this is for printing, not the hot path.
        data: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(self))
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """The object from its plain JSON form (``to_json``'s), checked; ``ValueError`` if bad."""
        try:
            return msgspec.convert(data, cls)
        except msgspec.ValidationError as error:
            raise ValueError(str(error)) from None


class User(JsonObject, frozen=True, omit_defaults=True):
    """A user as others see it; ``email`` only in the user's own LOGIN/REGISTER reply."""

    login: str
    first_name: str
    last_name: str
    status: Status
    email: str | None = None


class Presence(JsonObject, frozen=True):
    """Someone's status: ``online``, ``away``, ``busy`` or ``offline``."""

    login: str
    status: Status


class Room(JsonObject, frozen=True):
    """A room as one user sees it: how it is joined, and whether they are in or waiting."""

    name: str
    access: RoomAccess
    member: bool
    pending: bool


class FileInfo(JsonObject, frozen=True):
    """A file sent in a conversation: what a client shows and checks before downloading it.

    ``type`` is the media type the server found in the content (``image/png``),
    ``sha256`` the hex digest of the content, which a download must match.
    """

    id: int
    name: str
    size: int
    type: str
    sha256: str


class ChatMessage(JsonObject, frozen=True, omit_defaults=True):
    """A message: in a room (``recipient`` None) or direct (``room`` None).

    ``sender`` and ``recipient`` are the JSON keys ``from`` and ``to``. A
    message that carries a file has ``file`` (absent otherwise); its ``text``
    is the caption the sender typed, or the file's name.
    """

    id: int
    room: str | None
    sender: str = msgspec.field(name="from")
    recipient: str | None = msgspec.field(name="to")
    text: str
    ts: int
    file: FileInfo | None = None


class ConversationState(JsonObject, frozen=True):
    """Where a user stands in one conversation: a room (``room``) or a direct one (``with``).

    ``last_id`` and ``last_ts`` are the conversation's newest message (0 and
    None when it has none); ``read`` is the id of the newest message the user
    has read (0: none); ``unread`` counts the messages from others after
    ``read``, up to ``UNREAD_COUNT_CAP``. ``with_user`` is the JSON key ``with``.
    """

    room: str | None
    with_user: str | None = msgspec.field(name="with")
    last_id: int
    last_ts: int | None
    read: int
    unread: int
