"""The protocol's JSON objects: msgspec Structs, strict both ways."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from guigui.common.errors import ProtocolError
from guigui.common.messages import decode_as
from guigui.common.objects import ChatMessage, JsonObject, Presence, Room, User
from guigui.common.protocol import RoomAccess, Status


def round_trip(obj: JsonObject) -> Any:
    return decode_as(type(obj), msgspec.json.encode(obj))


def test_user_email_only_when_given() -> None:
    user = User("alice", "Alice", "Martin", Status.ONLINE)
    assert "email" not in user.to_json()
    with_email = User("alice", "Alice", "Martin", Status.ONLINE, "a@b.fr")
    assert with_email.to_json()["email"] == "a@b.fr"
    assert round_trip(with_email) == with_email


def test_objects_round_trip() -> None:
    for obj in (
        Presence("bob", Status.OFFLINE),
        Room("Informatique", RoomAccess.APPROVAL, False, True),
        ChatMessage(1, None, "alice", "bob", "psst", 5),
    ):
        assert round_trip(obj) == obj


def test_message_uses_from_and_to() -> None:
    assert ChatMessage(1, "G", "a", None, "t", 2).to_json() == {
        "id": 1, "room": "G", "from": "a", "to": None, "text": "t", "ts": 2,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("cls", "body", "field"),
    [
        (Room, b'{"name":"x","access":"secret","member":true,"pending":false}', "access"),
        (Room, b'{"name":"x","access":"open","member":1,"pending":false}', "member"),
        (ChatMessage, b'{"id":true,"room":null,"from":"a","to":"b","text":"","ts":1}', "id"),
        (Presence, b'{"login":"a","status":"sleeping"}', "status"),
    ],
)
def test_bad_shapes_name_the_field(cls: type[JsonObject], body: bytes, field: str) -> None:
    with pytest.raises(ProtocolError) as error:
        decode_as(cls, body)
    assert error.value.details["field"] == field
