"""The protocol's JSON objects: msgspec Structs, strict both ways."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from guigui.common.errors import ProtocolError
from guigui.common.messages import decode_as
from guigui.common.objects import ChatMessage, JsonObject, Presence, Room, User
from guigui.common.protocol import ErrorCode, RoomAccess, Status


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
    ("obj", "wire"),
    [
        (
            ChatMessage(1, None, "alice", "bob", "psst", 5),
            b'{"id":1,"room":null,"from":"alice","to":"bob","text":"psst","ts":5}',
        ),
        (
            User("alice", "Alice", "Martin", Status.AWAY),
            b'{"login":"alice","first_name":"Alice","last_name":"Martin","status":"away"}',
        ),
        (
            Room("Général", RoomAccess.ON_REQUEST, True, False),
            '{"name":"Général","access":"on_request","member":true,"pending":false}'.encode(),
        ),
        (Presence("bob", Status.OFFLINE), b'{"login":"bob","status":"offline"}'),
    ],
    ids=lambda value: type(value).__name__,
)
def test_objects_are_sent_exactly_as_documented(obj: JsonObject, wire: bytes) -> None:
    assert msgspec.json.encode(obj) == wire
    assert decode_as(type(obj), wire) == obj


@pytest.mark.parametrize(
    ("cls", "body", "field"),
    [
        (Room, b'{"name":"x","access":"secret","member":true,"pending":false}', "access"),
        (Room, b'{"name":"x","access":"open","member":1,"pending":false}', "member"),
        (ChatMessage, b'{"id":true,"room":null,"from":"a","to":"b","text":"","ts":1}', "id"),
        (ChatMessage, b'{"id":1,"room":null,"from":"a","to":"b","text":"","ts":true}', "ts"),
        (ChatMessage, b'{"id":1,"room":null,"to":"b","text":"","ts":1}', "from"),
        (ChatMessage, b'{"id":1,"room":null,"sender":"a","to":"b","text":"","ts":1}', "from"),
        (ChatMessage, b'{"id":1,"room":null,"from":"a","to":5,"text":"","ts":1}', "to"),
        (Presence, b'{"login":"a","status":"sleeping"}', "status"),
        (Presence, b'{"status":"online"}', "login"),
        (User, b'{"login":"a","first_name":"A","last_name":"B","status":"x"}', "status"),
        (User, b'{"login":"a","first_name":"A","last_name":"","status":"busy","email":5}', "email"),
    ],
)
def test_bad_shapes_name_the_field(cls: type[JsonObject], body: bytes, field: str) -> None:
    with pytest.raises(ProtocolError) as error:
        decode_as(cls, body)
    assert error.value.code is ErrorCode.BAD_REQUEST
    assert error.value.details["field"] == field  # the name on the wire: "from", not "sender"
