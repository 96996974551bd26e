"""The protocol's JSON objects."""

from __future__ import annotations

import pytest

from guigui.common.errors import ProtocolError
from guigui.common.objects import ChatMessage, Presence, Room, User
from guigui.common.protocol import RoomAccess, Status


def test_user_email_only_when_given() -> None:
    user = User("alice", "Alice", "Martin", Status.ONLINE)
    assert "email" not in user.to_json()
    with_email = User("alice", "Alice", "Martin", Status.ONLINE, "a@b.fr")
    assert with_email.to_json()["email"] == "a@b.fr"
    assert User.from_json(with_email.to_json()) == with_email


def test_objects_round_trip() -> None:
    for obj in (
        Presence("bob", Status.OFFLINE),
        Room("Informatique", RoomAccess.APPROVAL, False, True),
        ChatMessage(1, None, "alice", "bob", "psst", 5),
    ):
        assert type(obj).from_json(obj.to_json()) == obj


def test_message_uses_from_and_to() -> None:
    assert ChatMessage(1, "G", "a", None, "t", 2).to_json() == {
        "id": 1, "room": "G", "from": "a", "to": None, "text": "t", "ts": 2,
    }  # fmt: skip


def test_bad_shapes() -> None:
    with pytest.raises(ProtocolError):
        Room.from_json({"name": "x", "access": "secret", "member": True, "pending": False})
    with pytest.raises(ProtocolError):
        Room.from_json({"name": "x", "access": "open", "member": 1, "pending": False})
    with pytest.raises(ProtocolError):
        ChatMessage.from_json(
            {"id": True, "room": None, "from": "a", "to": "b", "text": "", "ts": 1}
        )
