"""Message classes: strict parsing, exact bodies."""

from __future__ import annotations

from typing import Any

import pytest

from guigui.common.codec import Frame, FrameDecoder
from guigui.common.errors import ProtocolError
from guigui.common.messages import (
    AccessDecision,
    Direct,
    Error,
    Hello,
    History,
    Join,
    Leave,
    ListRooms,
    Login,
    Logout,
    MessageEvent,
    Ok,
    Ping,
    Pong,
    PresenceEvent,
    Register,
    Resume,
    RoomUpdate,
    Sanctioned,
    Say,
    SetStatus,
    Shutdown,
    encode,
    parse_event,
    parse_request,
    request_id_of,
)
from guigui.common.objects import ChatMessage, Presence, Room
from guigui.common.protocol import ErrorCode, MessageType, RoomAccess, SanctionKind, Status

REQUESTS: list[Any] = [
    Hello(1, 1, "cli/1"),
    Register(2, "alice", "secret pw", "Alice", "Martin", "alice@example.org"),
    Login(3, "alice", "secret pw"),
    Resume(4, "token"),
    Logout(5),
    SetStatus(6, "away"),
    ListRooms(7),
    Join(8, "Blabla"),
    Leave(9, "Blabla"),
    History(10, room="Général", before=99, limit=20),
    History(11, with_user="bob"),
    Say(12, "Général", "salut 😀", "n-1"),
    Say(13, "Général", "no nonce"),
    Direct(14, "bob", "psst", "7"),
]
MESSAGE = ChatMessage(5, "Général", "alice", None, "hi", 1_700_000_000_000)
EVENTS: list[Any] = [
    MessageEvent(MESSAGE),
    PresenceEvent(Presence("bob", Status.BUSY)),
    AccessDecision("Informatique", True, 3),
    RoomUpdate(Room("Blabla", RoomAccess.ON_REQUEST, True, False)),
    Sanctioned(SanctionKind.KICK, 123, "spam"),
    Sanctioned(SanctionKind.BAN, None, ""),
    Shutdown(10, "maintenance"),
]


def decode(data: bytes) -> Frame:
    decoder = FrameDecoder()
    decoder.feed(data)
    frame = decoder.next_frame()
    assert frame is not None
    return frame


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: type(r).__name__)
def test_requests_round_trip(request_: Any) -> None:
    assert parse_request(decode(encode(request_))) == request_


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_events_round_trip(event: Any) -> None:
    assert parse_event(decode(encode(event))) == event


def test_bodies_follow_the_protocol_names() -> None:
    assert History(1, with_user="bob").to_body() == {"id": 1, "with": "bob", "limit": 50}
    assert MessageEvent(MESSAGE).to_body() == {
        "message": {
            "id": 5,
            "room": "Général",
            "from": "alice",
            "to": None,
            "text": "hi",
            "ts": 1_700_000_000_000,
        }
    }
    assert PresenceEvent(Presence("bob", Status.AWAY)).to_body() == {
        "login": "bob",
        "status": "away",
    }
    assert Ok(3, {"x": 1}).to_body() == {"id": 3, "x": 1}
    assert Error(None, "bad_json", "oops", {}).to_body() == {
        "id": None,
        "code": "bad_json",
        "message": "oops",
    }
    assert Ping("n").to_body() == Pong("n").to_body() == {"nonce": "n"}


@pytest.mark.parametrize(
    ("message_type", "body", "field"),
    [
        (MessageType.LOGIN, {"id": 1, "login": "a"}, "password"),
        (MessageType.LOGIN, {"id": 1, "login": 5, "password": "p"}, "login"),
        (MessageType.LOGIN, {"login": "a", "password": "p"}, "id"),
        (MessageType.ROOMS, {"id": True}, "id"),
        (MessageType.ROOMS, {"id": 0}, "id"),
        (MessageType.ROOMS, {"id": 2**31}, "id"),
        (MessageType.ROOMS, {"id": 1.5}, "id"),
        (MessageType.HELLO, {"id": 1, "version": "1", "client": "x"}, "version"),
        (MessageType.SAY, {"id": 1, "room": "G", "text": None}, "text"),
        (MessageType.SAY, {"id": 1, "room": "G", "text": "t", "nonce": ""}, "nonce"),
        (MessageType.SAY, {"id": 1, "room": "G", "text": "t", "nonce": [1]}, "nonce"),
        (MessageType.SAY, {"id": 1, "room": "G", "text": "t", "nonce": "x" * 129}, "nonce"),
        (MessageType.DIRECT, {"id": 1, "text": "t"}, "to"),
        (MessageType.HISTORY, {"id": 1}, "room"),
        (MessageType.HISTORY, {"id": 1, "room": "G", "with": "bob"}, "room"),
        (MessageType.HISTORY, {"id": 1, "room": "G", "limit": 0}, "limit"),
        (MessageType.HISTORY, {"id": 1, "room": "G", "limit": 101}, "limit"),
        (MessageType.HISTORY, {"id": 1, "room": "G", "limit": "5"}, "limit"),
        (MessageType.HISTORY, {"id": 1, "room": "G", "before": "x"}, "before"),
        (
            MessageType.REGISTER,
            {"id": 1, "login": "a", "password": "p", "first_name": "f", "last_name": "l"},
            "email",
        ),
        (MessageType.SET_STATUS, {"id": 1}, "status"),
        (MessageType.RESUME, {"id": 1, "token": 5}, "token"),
    ],
)
def test_missing_or_mistyped_fields_name_the_field(
    message_type: int, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_request(Frame(message_type, body))
    assert error.value.code is ErrorCode.BAD_REQUEST
    assert error.value.details["field"] == field


def test_integer_nonce_becomes_a_string() -> None:
    say = parse_request(Frame(MessageType.SAY, {"id": 1, "room": "G", "text": "t", "nonce": 42}))
    assert isinstance(say, Say) and say.nonce == "42"


@pytest.mark.parametrize(
    "message_type", [MessageType.OK, MessageType.MESSAGE, MessageType.PING, 0x99]
)
def test_non_request_types_are_unknown_to_parse_request(message_type: int) -> None:
    with pytest.raises(ProtocolError) as error:
        parse_request(Frame(message_type, {"id": 1}))
    assert error.value.code is ErrorCode.UNKNOWN_TYPE


def test_request_id_of() -> None:
    assert request_id_of({"id": 7}) == 7
    assert request_id_of({"id": True}) is None
    assert request_id_of({"id": 0}) is None
    assert request_id_of({"id": "7"}) is None
    assert request_id_of({}) is None


def test_bad_events_are_bad_requests() -> None:
    with pytest.raises(ProtocolError):
        parse_event(Frame(MessageType.MESSAGE, {"message": {"id": "x"}}))
    with pytest.raises(ProtocolError):
        parse_event(Frame(MessageType.SANCTIONED, {"kind": "slap", "until": None, "reason": ""}))
    with pytest.raises(ProtocolError):
        parse_event(Frame(MessageType.PRESENCE, {"login": "a", "status": "sleeping"}))
