"""Message classes: strict decoding, exact bodies, one definition for both ends."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from guigui.common.codec import Frame, FrameDecoder, encode_frame
from guigui.common.errors import MAX_ERROR_MESSAGE, ProtocolError, quote
from guigui.common.messages import (
    REPLY_TYPES,
    AccessDecision,
    Direct,
    Error,
    Hello,
    HelloOk,
    History,
    HistoryOk,
    Join,
    JoinOk,
    Leave,
    ListRooms,
    Login,
    Logout,
    MessageEvent,
    MessageOk,
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
    decode_as,
    decode_event,
    decode_reply,
    decode_request,
    encode,
    request_id_of,
)
from guigui.common.objects import ChatMessage, Room
from guigui.common.protocol import (
    MAX_JSON_DEPTH,
    ErrorCode,
    MessageType,
    RoomAccess,
    SanctionKind,
    Status,
)

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
    Direct(14, "bob", "psst", 7),
]
MESSAGE = ChatMessage(5, "Général", "alice", None, "hi", 1_700_000_000_000)
EVENTS: list[Any] = [
    MessageEvent(MESSAGE),
    PresenceEvent("bob", Status.BUSY),
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


def frame_of(message_type: int, body: dict[str, Any]) -> Frame:
    return decode(encode_frame(message_type, body))


def raw_frame(message_type: int, payload: bytes) -> Frame:
    return Frame(message_type, payload)


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: type(r).__name__)
def test_requests_round_trip(request_: Any) -> None:
    assert decode_request(decode(encode(request_))) == request_


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_events_round_trip(event: Any) -> None:
    assert decode_event(decode(encode(event))) == event


def test_every_request_has_a_reply_type() -> None:
    assert set(REPLY_TYPES) == {type(request) for request in REQUESTS}
    ok = decode(encode(HistoryOk(10, [MESSAGE], True)))
    assert decode_reply(ok, History) == HistoryOk(10, [MESSAGE], True)
    error = decode(encode(Error(10, "not_member", "no")))
    assert decode_reply(error, History) == Error(10, "not_member", "no")


def test_bodies_follow_the_protocol_names() -> None:
    assert History(1, with_user="bob").to_json() == {"id": 1, "with": "bob"}
    assert MessageEvent(MESSAGE).to_json() == {
        "message": {
            "id": 5,
            "room": "Général",
            "from": "alice",
            "to": None,
            "text": "hi",
            "ts": 1_700_000_000_000,
        }
    }
    assert PresenceEvent("bob", Status.AWAY).to_json() == {"login": "bob", "status": "away"}
    assert Ok(3).to_json() == {"id": 3}
    assert JoinOk(4, "pending", request_id=9).to_json() == {
        "id": 4,
        "status": "pending",
        "request_id": 9,
    }
    assert Error(None, "bad_json", "oops").to_json() == {
        "id": None,
        "code": "bad_json",
        "message": "oops",
    }
    nonce = msgspec.Raw(b'"n"')
    assert encode(Ping(nonce))[5:] == encode(Pong(nonce))[5:] == b'{"nonce":"n"}'


def test_a_message_reply_is_encoded_exactly() -> None:
    expected = (
        '{"id":3,"message":{"id":5,"room":"Général","from":"alice",'
        '"to":null,"text":"hi","ts":1700000000000}}'
    )
    assert encode(MessageOk(3, MESSAGE))[5:] == expected.encode()


def test_hello_reply_carries_the_limits() -> None:
    reply = HelloOk(1, 1, "guigui/0.1", 65536, 4000, 30)
    assert decode_reply(decode(encode(reply)), Hello) == reply


def test_error_details_are_present_only_when_set() -> None:
    banned = ProtocolError(ErrorCode.BANNED, "you are banned", until=None, reason="spam")
    assert Error.of(banned, 4).to_json() == {
        "id": 4,
        "code": "banned",
        "message": "you are banned",
        "reason": "spam",
        "until": None,
    }
    assert encode(Error.of(banned, 4)).endswith(b'"until":null}')
    assert Error.of(banned, 4).details() == {"reason": "spam", "until": None}


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
        decode_request(frame_of(message_type, body))
    assert error.value.code is ErrorCode.BAD_REQUEST
    assert error.value.details["field"] == field


@pytest.mark.parametrize(
    ("message_type", "body", "field"),
    [
        (MessageType.HISTORY, {"id": 1, "room": "G", "before": 2**63}, "before"),
        (MessageType.HISTORY, {"id": 1, "room": "G", "before": 2**64}, "before"),
        (MessageType.HISTORY, {"id": 1, "room": "G", "before": -1}, "before"),
        (MessageType.HISTORY, {"id": 1, "room": "G", "limit": True}, "limit"),
        (MessageType.SAY, {"id": 1, "room": "G", "text": "t", "nonce": 2**63}, "nonce"),
        (MessageType.SAY, {"id": 1, "room": "G", "text": "t", "nonce": -1}, "nonce"),
        (MessageType.SAY, {"id": 1, "room": "G", "text": "t", "nonce": True}, "nonce"),
        (MessageType.HELLO, {"id": 1, "version": 2**31, "client": "x"}, "version"),
        (MessageType.ROOMS, {"id": True}, "id"),
    ],
)
def test_integers_out_of_range_name_the_field(
    message_type: int, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ProtocolError) as error:
        decode_request(frame_of(message_type, body))
    assert error.value.code is ErrorCode.BAD_REQUEST
    assert error.value.details["field"] == field


def test_the_ends_of_the_ranges_are_accepted() -> None:
    history = decode_request(
        frame_of(
            MessageType.HISTORY, {"id": 2**31 - 1, "room": "G", "before": 2**63 - 1, "limit": 100}
        )
    )
    assert history == History(2**31 - 1, room="G", before=2**63 - 1, limit=100)
    say = decode_request(
        frame_of(MessageType.SAY, {"id": 1, "room": "G", "text": "t", "nonce": "x" * 128})
    )
    assert isinstance(say, Say) and say.nonce == "x" * 128


def test_an_integer_nonce_stays_an_integer() -> None:
    say = decode_request(
        frame_of(MessageType.SAY, {"id": 1, "room": "G", "text": "t", "nonce": 42})
    )
    assert isinstance(say, Say) and say.nonce == 42


@pytest.mark.parametrize(
    "payload",
    [
        b'{"id":1,"room":"G","text":"\\ud800"}',
        b'{"id":1,"room":"\\udc00","text":"t"}',
        b'{"id":1,"room":"G","text":"a\\ud800b","nonce":"n"}',
        b'{"id":1,"room":"G","text":"t","extra":"\\udfff"}',
    ],
)
def test_lone_surrogates_are_bad_json_in_any_field(payload: bytes) -> None:
    with pytest.raises(ProtocolError) as error:
        decode_request(raw_frame(MessageType.SAY, payload))
    assert error.value.code is ErrorCode.BAD_JSON


def test_a_surrogate_pair_is_a_character() -> None:
    payload = b'{"id":1,"room":"G","text":"\\ud83d\\ude00"}'
    say = decode_request(raw_frame(MessageType.SAY, payload))
    assert isinstance(say, Say) and say.text == "😀"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 10_000])
def test_nesting_too_deep_is_bad_json(depth: int) -> None:
    payload = b'{"id":1,"x":' + nested(depth - 1) + b"}"
    with pytest.raises(ProtocolError) as error:
        decode_request(raw_frame(MessageType.ROOMS, payload))
    assert error.value.code is ErrorCode.BAD_JSON
    assert "nested" in error.value.message
    assert request_id_of(raw_frame(MessageType.ROOMS, payload)) is None


def test_nesting_up_to_the_limit_is_accepted() -> None:
    payload = b'{"id":1,"x":' + nested(MAX_JSON_DEPTH - 1) + b"}"
    assert decode_request(raw_frame(MessageType.ROOMS, payload)) == ListRooms(1)


def test_brackets_inside_strings_do_not_nest() -> None:
    text = "[" * 5000 + '\\"{' * 100
    say = decode_request(frame_of(MessageType.SAY, {"id": 1, "room": "G", "text": text}))
    assert isinstance(say, Say) and say.text == text


def test_an_unterminated_string_full_of_brackets_is_refused() -> None:
    payload = b'{"id":1,"x":"' + b'\\"[' * 20_000
    with pytest.raises(ProtocolError) as error:
        decode_request(raw_frame(MessageType.ROOMS, payload))
    assert error.value.code is ErrorCode.BAD_JSON


@pytest.mark.parametrize(
    "message_type", [MessageType.OK, MessageType.MESSAGE, MessageType.PING, 0x99]
)
def test_non_request_types_are_unknown_to_decode_request(message_type: int) -> None:
    with pytest.raises(ProtocolError) as error:
        decode_request(frame_of(message_type, {"id": 1}))
    assert error.value.code is ErrorCode.UNKNOWN_TYPE


def test_request_id_of() -> None:
    assert request_id_of(frame_of(MessageType.SAY, {"id": 7, "text": 5})) == 7
    assert request_id_of(frame_of(MessageType.SAY, {"id": True})) is None
    assert request_id_of(frame_of(MessageType.SAY, {"id": 0})) is None
    assert request_id_of(frame_of(MessageType.SAY, {"id": 2**31})) is None
    assert request_id_of(frame_of(MessageType.SAY, {"id": "7"})) is None
    assert request_id_of(frame_of(MessageType.SAY, {})) is None
    assert request_id_of(raw_frame(MessageType.SAY, b"not json")) is None


def test_bad_events_are_refused() -> None:
    with pytest.raises(ProtocolError):
        decode_event(frame_of(MessageType.MESSAGE, {"message": {"id": "x"}}))
    with pytest.raises(ProtocolError):
        decode_event(
            frame_of(MessageType.SANCTIONED, {"kind": "slap", "until": None, "reason": ""})
        )
    with pytest.raises(ProtocolError):
        decode_event(frame_of(MessageType.PRESENCE, {"login": "a", "status": "sleeping"}))


@pytest.mark.parametrize(
    "nonce", [b"12", b'"x"', b"null", b'{"a":[1,2.5e3,"\xc3\xa9"]}', b"[ 1 , 2 ]", b"1e400"]
)
def test_a_ping_nonce_is_echoed_byte_for_byte(nonce: bytes) -> None:
    ping = decode_as(Ping, b'{"nonce":' + nonce + b"}")
    assert encode(Pong(ping.nonce))[5:] == b'{"nonce":' + nonce + b"}"


def test_errors_quote_little_of_the_input() -> None:
    assert quote("x" * 1000) == repr("x" * 64) + "…"
    assert quote("Général") == "'Général'"
    error = ProtocolError(ErrorCode.NO_SUCH_ROOM, "no room " + "x" * 10_000, reason="y" * 999)
    assert len(error.message) == MAX_ERROR_MESSAGE
    assert len(error.details["reason"]) == MAX_ERROR_MESSAGE
