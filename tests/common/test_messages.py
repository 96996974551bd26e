"""Message classes: strict decoding, exact bodies, one definition for both ends."""

from __future__ import annotations

import struct
import time
from typing import Any

import msgspec
import pytest

from guigui.common.codec import Frame, FrameDecoder, encode_frame
from guigui.common.errors import MAX_ERROR_MESSAGE, ProtocolError, quote
from guigui.common.messages import (
    REPLY_TYPES,
    AccessDecision,
    Conversations,
    ConversationsOk,
    Direct,
    Error,
    FileAck,
    FileCancel,
    FileGet,
    FileOffer,
    FileSend,
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
    MarkRead,
    Message,
    MessageEvent,
    MessageOk,
    Ok,
    Ping,
    Pong,
    PresenceEvent,
    ReadOk,
    ReadStateEvent,
    Register,
    Request,
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
from guigui.common.objects import ChatMessage, ConversationState, FileInfo, Presence, Room
from guigui.common.protocol import (
    MAX_JSON_DEPTH,
    MAX_QUOTED,
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
    Conversations(15),
    Conversations(16, before=120, limit=10),
    MarkRead(17, room="Général", up_to=120),
    MarkRead(18, with_user="bob", up_to=0),
    FileOffer(19, room="Général", name="plan.png", size=1234, type="image/png", sha256="ab" * 32),
    FileOffer(20, to="bob", name="notes.txt", size=0, type="text/plain", sha256="00" * 32),
    FileSend(21, 1, "le plan", "n-2"),
    FileSend(22, 2),
    FileGet(23, 5),
    FileGet(24, 5, offset=32768),
    FileCancel(25, 1),
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
    ReadStateEvent(ConversationState(None, "bob", 12, 1_700_000_000_000, 12, 0)),
    MessageEvent(
        ChatMessage(
            6,
            "Général",
            "alice",
            None,
            "plan.png",
            1_700_000_000_000,
            FileInfo(3, "plan.png", 1234, "image/png", "ab" * 32),
        )
    ),
    FileAck(1, 65536),
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


def body_of(message: Message) -> bytes:
    """The JSON body ``encode`` writes for ``message``: its frame without the 5-byte header."""
    data = encode(message)
    assert data[4] == message.TYPE
    return data[5:]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: type(r).__name__)
def test_requests_round_trip(request_: Any) -> None:
    assert decode_request(decode(encode(request_))) == request_


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_events_round_trip(event: Any) -> None:
    assert decode_event(decode(encode(event))) == event


def test_a_presence_event_is_a_presence() -> None:
    event = decode_event(frame_of(MessageType.PRESENCE, {"login": "bob", "status": "away"}))
    assert isinstance(event, PresenceEvent) and isinstance(event, Presence)
    assert (event.login, event.status) == ("bob", Status.AWAY)
    assert body_of(event) == msgspec.json.encode(Presence("bob", Status.AWAY))


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


def test_the_wire_bytes_use_the_protocol_names() -> None:
    assert body_of(History(1, with_user="bob")) == b'{"id":1,"with":"bob"}'
    assert body_of(Direct(2, "bob", "psst")) == b'{"id":2,"to":"bob","text":"psst"}'
    assert (
        body_of(Direct(3, "bob", "psst", "n")) == b'{"id":3,"to":"bob","text":"psst","nonce":"n"}'
    )
    assert body_of(History(4, room="G", before=9, limit=5)) == (
        b'{"id":4,"room":"G","before":9,"limit":5}'
    )


def test_a_message_reply_is_encoded_exactly() -> None:
    expected = (
        '{"id":3,"message":{"id":5,"room":"Général","from":"alice",'
        '"to":null,"text":"hi","ts":1700000000000}}'
    ).encode()
    data = encode(MessageOk(3, MESSAGE))
    assert data == struct.pack(">IB", len(expected) + 1, MessageType.OK) + expected


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
    assert body_of(Error.of(banned, 4)) == (
        b'{"id":4,"code":"banned","message":"you are banned","reason":"spam","until":null}'
    )
    assert Error.of(banned, 4).details() == {"reason": "spam", "until": None}


@pytest.mark.parametrize(
    ("error", "request_id", "body"),
    [
        (
            ProtocolError(ErrorCode.BAD_REQUEST, "no id", field="id"),
            None,
            b'{"id":null,"code":"bad_request","message":"no id","field":"id"}',
        ),
        (
            ProtocolError(ErrorCode.RATE_LIMITED, "slow down", retry_after_ms=250),
            7,
            b'{"id":7,"code":"rate_limited","message":"slow down","retry_after_ms":250}',
        ),
        (
            ProtocolError(ErrorCode.TEXT_TOO_LONG, "too long", max_text=4000),
            8,
            b'{"id":8,"code":"text_too_long","message":"too long","max_text":4000}',
        ),
        (
            ProtocolError(ErrorCode.BANNED, "banned", until=1_700_000_000_000),
            9,
            b'{"id":9,"code":"banned","message":"banned","until":1700000000000}',
        ),
        (
            ProtocolError(ErrorCode.INVALID_FIELD, "bad", field="email", reason="too long"),
            10,
            b'{"id":10,"code":"invalid_field","message":"bad","field":"email","reason":"too long"}',
        ),
        (
            ProtocolError(ErrorCode.BAD_JSON, "not JSON"),
            None,
            b'{"id":null,"code":"bad_json","message":"not JSON"}',
        ),
    ],
    ids=lambda value: value.code if isinstance(value, ProtocolError) else "",
)
def test_an_error_carries_exactly_the_details_it_was_given(
    error: ProtocolError, request_id: int | None, body: bytes
) -> None:
    reply = Error.of(error, request_id)
    assert body_of(reply) == body
    assert reply.details() == error.details
    assert decode_reply(decode(encode(reply)), Login) == reply


# ---- strict decoding: every refusal names its field -------------------------------

SAY = {"id": 1, "room": "G", "text": "t"}
HISTORY = {"id": 1, "room": "G"}
HELLO = {"id": 1, "version": 1, "client": "x"}


@pytest.mark.parametrize(
    ("message_type", "body", "field"),
    [
        (MessageType.LOGIN, {"id": 1, "login": "a"}, "password"),
        (MessageType.LOGIN, {"id": 1, "login": 5, "password": "p"}, "login"),
        (MessageType.LOGIN, {"login": "a", "password": "p"}, "id"),
        (MessageType.ROOMS, {"id": None}, "id"),
        (MessageType.ROOMS, {"id": "1"}, "id"),
        (MessageType.ROOMS, {"id": 1.5}, "id"),
        (MessageType.ROOMS, {"id": 1.0}, "id"),
        (MessageType.HELLO, {"id": 1, "version": "1", "client": "x"}, "version"),
        (MessageType.HELLO, {"id": 1, "version": 1, "client": ["x"]}, "client"),
        (MessageType.SAY, {"id": 1, "room": "G", "text": None}, "text"),
        (MessageType.SAY, {**SAY, "nonce": [1]}, "nonce"),
        (MessageType.SAY, {**SAY, "nonce": 1.5}, "nonce"),
        (MessageType.DIRECT, {"id": 1, "text": "t"}, "to"),
        (MessageType.HISTORY, {"id": 1}, "room"),
        (MessageType.HISTORY, {"id": 1, "room": None, "with": None}, "room"),
        (MessageType.HISTORY, {"id": 1, "room": "G", "with": "bob"}, "room"),
        (MessageType.HISTORY, {**HISTORY, "limit": "5"}, "limit"),
        (MessageType.HISTORY, {**HISTORY, "before": "x"}, "before"),
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
        # id: 1 .. 2^31-1, and a bool is not an integer
        (MessageType.ROOMS, {"id": 0}, "id"),
        (MessageType.ROOMS, {"id": -1}, "id"),
        (MessageType.ROOMS, {"id": 2**31}, "id"),
        (MessageType.ROOMS, {"id": 2**64}, "id"),
        (MessageType.ROOMS, {"id": True}, "id"),
        # HELLO version: 0 .. 2^31-1
        (MessageType.HELLO, {**HELLO, "version": -1}, "version"),
        (MessageType.HELLO, {**HELLO, "version": 2**31}, "version"),
        (MessageType.HELLO, {**HELLO, "version": True}, "version"),
        # HISTORY before: 0 .. 2^63-1 (a signed 64-bit column), limit: 1 .. 100
        (MessageType.HISTORY, {**HISTORY, "before": 2**63}, "before"),
        (MessageType.HISTORY, {**HISTORY, "before": 2**64}, "before"),
        (MessageType.HISTORY, {**HISTORY, "before": 10**30}, "before"),
        (MessageType.HISTORY, {**HISTORY, "before": -1}, "before"),
        (MessageType.HISTORY, {**HISTORY, "before": False}, "before"),
        (MessageType.HISTORY, {**HISTORY, "limit": 0}, "limit"),
        (MessageType.HISTORY, {**HISTORY, "limit": 101}, "limit"),
        (MessageType.HISTORY, {**HISTORY, "limit": True}, "limit"),
        # nonce: an integer 0 .. 2^63-1 or a string of 1 .. 128 characters
        (MessageType.SAY, {**SAY, "nonce": -1}, "nonce"),
        (MessageType.SAY, {**SAY, "nonce": 2**63}, "nonce"),
        (MessageType.SAY, {**SAY, "nonce": 2**64}, "nonce"),
        (MessageType.SAY, {**SAY, "nonce": True}, "nonce"),
        (MessageType.SAY, {**SAY, "nonce": ""}, "nonce"),
        (MessageType.SAY, {**SAY, "nonce": "x" * 129}, "nonce"),
        (MessageType.SAY, {**SAY, "nonce": "😀" * 129}, "nonce"),
        (MessageType.DIRECT, {"id": 1, "to": "bob", "text": "t", "nonce": 2**63}, "nonce"),
        (MessageType.DIRECT, {"id": 1, "to": "bob", "text": "t", "nonce": "x" * 129}, "nonce"),
    ],
)
def test_integers_and_nonces_out_of_range_name_the_field(
    message_type: int, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ProtocolError) as error:
        decode_request(frame_of(message_type, body))
    assert error.value.code is ErrorCode.BAD_REQUEST
    assert error.value.details["field"] == field


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b'{"id":1,"room":"G","before":1e400}', "before"),
        (b'{"id":1,"room":"G","before":1e3}', "before"),
        (b'{"id":1,"room":"G","limit":5.0}', "limit"),
        (b'{"id":1e0,"room":"G"}', "id"),
    ],
)
def test_numbers_written_as_floats_are_not_integers(payload: bytes, field: str) -> None:
    with pytest.raises(ProtocolError) as error:
        decode_request(raw_frame(MessageType.HISTORY, payload))
    assert error.value.code is ErrorCode.BAD_REQUEST
    assert error.value.details["field"] == field


@pytest.mark.parametrize(
    ("message_type", "body", "expected"),
    [
        (MessageType.ROOMS, {"id": 1}, ListRooms(1)),
        (MessageType.ROOMS, {"id": 2**31 - 1}, ListRooms(2**31 - 1)),
        (MessageType.HELLO, {**HELLO, "version": 0}, Hello(1, 0, "x")),
        (MessageType.HELLO, {**HELLO, "version": 2**31 - 1}, Hello(1, 2**31 - 1, "x")),
        (MessageType.HISTORY, {**HISTORY, "before": 0}, History(1, room="G", before=0)),
        (
            MessageType.HISTORY,
            {**HISTORY, "before": 2**63 - 1},
            History(1, room="G", before=2**63 - 1),
        ),
        (MessageType.HISTORY, {**HISTORY, "limit": 1}, History(1, room="G", limit=1)),
        (MessageType.HISTORY, {**HISTORY, "limit": 100}, History(1, room="G", limit=100)),
        (MessageType.SAY, {**SAY, "nonce": 0}, Say(1, "G", "t", 0)),
        (MessageType.SAY, {**SAY, "nonce": 2**63 - 1}, Say(1, "G", "t", 2**63 - 1)),
        (MessageType.SAY, {**SAY, "nonce": "x"}, Say(1, "G", "t", "x")),
        (MessageType.SAY, {**SAY, "nonce": "x" * 128}, Say(1, "G", "t", "x" * 128)),
        (MessageType.SAY, {**SAY, "nonce": "😀" * 128}, Say(1, "G", "t", "😀" * 128)),
        (MessageType.SAY, {**SAY, "nonce": None}, Say(1, "G", "t")),
    ],
)
def test_the_ends_of_the_ranges_are_accepted(
    message_type: int, body: dict[str, Any], expected: Request
) -> None:
    assert decode_request(frame_of(message_type, body)) == expected


def test_an_integer_nonce_stays_an_integer() -> None:
    say = decode_request(frame_of(MessageType.SAY, {**SAY, "nonce": 42}))
    assert isinstance(say, Say) and say.nonce == 42
    assert type(say.nonce) is int


# ---- lone surrogates and bytes that are not UTF-8 ---------------------------------

PLACEHOLDER = "PLACEHOLDER"
LONE_SURROGATES = [rb"\ud800", rb"\udc00", rb"\uDBFF", rb"\ud800\u0041", rb"\ude00\ud83d"]
"""JSON escapes of half a character (alone, or next to something that is not its other half)."""
SURROGATE_PAIR = rb"\ud83d\ude00"
"""The escape of 😀: two halves that make one character."""
STRING_FIELDS = [
    (request, field)
    for request in REQUESTS
    for field, value in request.to_json().items()
    if isinstance(value, str)
]
"""Every string field of every request, once per request where it is a string."""
PATTERN_FIELDS = {("FileOffer", "type"), ("FileOffer", "sha256")}
"""String fields with a pattern (a media type, a hex digest): no emoji fits them."""


def with_raw_string(message: Request, field: str, escaped: bytes) -> bytes:
    """The body of ``message`` with ``field`` set to a JSON string written as ``x{escaped}y``."""
    body = msgspec.json.encode({**message.to_json(), field: PLACEHOLDER})
    return body.replace(b'"' + PLACEHOLDER.encode() + b'"', b'"x' + escaped + b'y"')


def test_every_string_field_is_covered() -> None:
    covered = {(type(request).__name__, field) for request, field in STRING_FIELDS}
    assert ("History", "with") in covered and ("Say", "nonce") in covered
    assert {("Register", name) for name in ("login", "password", "first_name")} <= covered
    assert len(STRING_FIELDS) >= 20


@pytest.mark.parametrize("escape", LONE_SURROGATES)
@pytest.mark.parametrize(
    ("request_", "field"), STRING_FIELDS, ids=lambda v: v if isinstance(v, str) else v.TYPE.name
)
def test_a_lone_surrogate_in_any_string_field_is_bad_json(
    request_: Request, field: str, escape: bytes
) -> None:
    frame = raw_frame(request_.TYPE, with_raw_string(request_, field, escape))
    with pytest.raises(ProtocolError) as error:
        decode_request(frame)
    assert error.value.code is ErrorCode.BAD_JSON and not error.value.fatal
    with pytest.raises(ProtocolError) as error:
        _ = frame.body
    assert error.value.code is ErrorCode.BAD_JSON
    assert request_id_of(frame) is None  # so the ERROR answers with id null


@pytest.mark.parametrize(
    ("request_", "field"), STRING_FIELDS, ids=lambda v: v if isinstance(v, str) else v.TYPE.name
)
def test_a_surrogate_pair_in_any_string_field_is_a_character(request_: Request, field: str) -> None:
    frame = raw_frame(request_.TYPE, with_raw_string(request_, field, SURROGATE_PAIR))
    if (type(request_).__name__, field) in PATTERN_FIELDS:  # a character, but not one allowed
        with pytest.raises(ProtocolError) as error:
            decode_request(frame)
        assert error.value.code is ErrorCode.BAD_REQUEST and error.value.details["field"] == field
        return
    assert decode_request(frame).to_json()[field] == "x😀y"


@pytest.mark.parametrize(
    "payload",
    [
        b'{"id":1,"room":"G","text":"t","extra":"\\udfff"}',
        b'{"id":1,"room":"G","text":"t","extra":{"deep":["\\ud800"]}}',
        b'{"id":1,"room":"G","text":"t","\\ud800":1}',
        b'{"id":1,"room":"G","text":"t","extra":{"\\udc00":1}}',
    ],
    ids=["unknown field", "nested unknown field", "key", "nested key"],
)
def test_lone_surrogates_are_bad_json_even_where_unknown(payload: bytes) -> None:
    with pytest.raises(ProtocolError) as error:
        decode_request(raw_frame(MessageType.SAY, payload))
    assert error.value.code is ErrorCode.BAD_JSON


@pytest.mark.parametrize(
    "payload",
    [b'{"nonce":"\\ud800"}', b'{"nonce":["a","\\udc00"]}', b'{"nonce":{"\\ud800":1}}'],
)
def test_a_lone_surrogate_in_a_ping_nonce_is_bad_json(payload: bytes) -> None:
    with pytest.raises(ProtocolError) as error:
        decode_as(Ping, payload)
    assert error.value.code is ErrorCode.BAD_JSON


def test_a_lone_surrogate_in_an_event_is_bad_json() -> None:
    body = encode(MessageEvent(MESSAGE))[5:].replace(b'"hi"', b'"h\\ud800i"')
    with pytest.raises(ProtocolError) as error:
        decode_event(raw_frame(MessageType.MESSAGE, body))
    assert error.value.code is ErrorCode.BAD_JSON


NOT_UTF8 = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82"]
"""A byte UTF-8 never uses, an overlong '/', a raw surrogate, a truncated sequence."""


@pytest.mark.parametrize("bad", NOT_UTF8)
def test_invalid_utf8_in_a_string_field_is_bad_json(bad: bytes) -> None:
    with pytest.raises(ProtocolError) as error:
        decode_request(raw_frame(MessageType.JOIN, b'{"id":1,"room":"' + bad + b'"}'))
    assert error.value.code is ErrorCode.BAD_JSON


@pytest.mark.parametrize(
    ("cls", "payload"),
    [
        (Say, b'{"id":1,"room":"G","text":"t","extra":"\xff"}'),
        (Ping, b'{"nonce":"\xff"}'),
    ],
    ids=["unknown field", "ping nonce"],
)
def test_invalid_utf8_where_the_value_is_not_decoded_is_bad_json(
    cls: type[Any], payload: bytes
) -> None:
    with pytest.raises(ProtocolError) as error:
        decode_as(cls, payload)
    assert error.value.code is ErrorCode.BAD_JSON


def test_a_surrogate_pair_is_a_character() -> None:
    payload = b'{"id":1,"room":"G","text":"\\ud83d\\ude00"}'
    say = decode_request(raw_frame(MessageType.SAY, payload))
    assert isinstance(say, Say) and say.text == "😀"


# ---- nesting ------------------------------------------------------------------------


def nested(depth: int) -> bytes:
    """``depth`` levels of arrays, one inside the other."""
    return b"[" * depth + b"]" * depth


def nested_objects(depth: int) -> bytes:
    """``depth`` levels of objects, one inside the other."""
    return b'{"a":' * depth + b"1" + b"}" * depth


def in_a_request(value: bytes) -> bytes:
    """A ROOMS body (itself 1 level) with ``value`` in an unknown field."""
    return b'{"id":1,"x":' + value + b"}"


@pytest.mark.parametrize(
    "payload",
    [
        in_a_request(nested(MAX_JSON_DEPTH - 1)),
        in_a_request(nested_objects(MAX_JSON_DEPTH - 1)),
        in_a_request(b"[" + nested_objects(MAX_JSON_DEPTH - 2) + b"]"),
        in_a_request(b"[" + b",".join([nested(MAX_JSON_DEPTH - 2)] * 100) + b"]"),
    ],
    ids=["arrays", "objects", "mixed", "wide"],
)
def test_nesting_up_to_the_limit_is_accepted(payload: bytes) -> None:
    assert decode_request(raw_frame(MessageType.ROOMS, payload)) == ListRooms(1)


@pytest.mark.parametrize(
    "payload",
    [
        in_a_request(nested(MAX_JSON_DEPTH)),
        in_a_request(nested_objects(MAX_JSON_DEPTH)),
        in_a_request(b"[" + nested_objects(MAX_JSON_DEPTH - 1) + b"]"),
        in_a_request(nested(10_000)),
        in_a_request(b"[" * 10_000),
    ],
    ids=["arrays 33", "objects 33", "mixed 33", "arrays 10000", "unclosed 10000"],
)
def test_nesting_too_deep_is_bad_json(payload: bytes) -> None:
    frame = raw_frame(MessageType.ROOMS, payload)
    with pytest.raises(ProtocolError) as error:
        decode_request(frame)
    assert error.value.code is ErrorCode.BAD_JSON and not error.value.fatal
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in error.value.message
    assert request_id_of(frame) is None  # the ERROR answers with id null


def test_10000_levels_are_refused_quickly() -> None:
    payload = in_a_request(nested(10_000))
    started = time.perf_counter()
    for _ in range(10):
        with pytest.raises(ProtocolError):
            decode_request(raw_frame(MessageType.ROOMS, payload))
    # About 1 ms each; the bound only catches a parser that recurses or a quadratic scan.
    assert time.perf_counter() - started < 2


def test_brackets_inside_strings_do_not_nest() -> None:
    text = "[" * 5000 + '\\"{' * 100 + "{" * 5000
    say = decode_request(frame_of(MessageType.SAY, {**SAY, "text": text, "nonce": "[" * 128}))
    assert isinstance(say, Say) and say.text == text and say.nonce == "[" * 128


def test_an_unterminated_string_full_of_brackets_is_refused() -> None:
    # Each `\"` is an escaped quote: the string never ends. The scan must still be one pass
    # (the suite's timeout catches a backtracking one): 60,000 bytes, as in a full frame.
    for tail in (b'\\"[' * 20_000, b"[" * 60_000, b'\\"[' * 20_000 + b"\\"):
        with pytest.raises(ProtocolError) as error:
            decode_request(raw_frame(MessageType.ROOMS, b'{"id":1,"x":"' + tail))
        assert error.value.code is ErrorCode.BAD_JSON


@pytest.mark.parametrize(
    "message_type", [MessageType.OK, MessageType.MESSAGE, MessageType.PING, 0x99]
)
def test_non_request_types_are_unknown_to_decode_request(message_type: int) -> None:
    with pytest.raises(ProtocolError) as error:
        decode_request(frame_of(message_type, {"id": 1}))
    assert error.value.code is ErrorCode.UNKNOWN_TYPE


# ---- request_id_of: which request an ERROR answers -----------------------------------


@pytest.mark.parametrize(
    ("message_type", "body"),
    [
        (MessageType.SAY, {"id": 7, "text": 5}),
        (MessageType.SAY, {"id": 7, "room": "G", "text": "t", "nonce": 2**63}),
        (MessageType.HISTORY, {"id": 7, "room": "G", "with": "bob"}),
        (MessageType.HISTORY, {"id": 7, "room": "G", "limit": True}),
        (MessageType.LOGIN, {"id": 7}),
        (MessageType.HELLO, {"client": "x", "version": 2**31, "id": 7}),
    ],
)
def test_request_id_of_a_request_whose_other_fields_are_bad(
    message_type: int, body: dict[str, Any]
) -> None:
    frame = frame_of(message_type, body)
    with pytest.raises(ProtocolError) as error:
        decode_request(frame)
    assert error.value.code is ErrorCode.BAD_REQUEST
    assert request_id_of(frame) == 7


@pytest.mark.parametrize("request_id", [1, 2**31 - 1])
def test_request_id_of_a_valid_id(request_id: int) -> None:
    assert request_id_of(frame_of(MessageType.SAY, {"id": request_id})) == request_id


@pytest.mark.parametrize(
    "payload",
    [
        b'{"id":true}',
        b'{"id":0}',
        b'{"id":-1}',
        b'{"id":2147483648}',
        b'{"id":18446744073709551616}',
        b'{"id":1.0}',
        b'{"id":"7"}',
        b'{"id":null}',
        b'{"id":[7]}',
        b"{}",
        b"[7]",
        b"7",
        b"not json",
        b'{"id":7,"text":"\\ud800"}',
        b"",
    ],
)
def test_request_id_of_a_bad_id_is_none(payload: bytes) -> None:
    assert request_id_of(raw_frame(MessageType.SAY, payload)) is None


def test_bad_events_are_refused() -> None:
    with pytest.raises(ProtocolError):
        decode_event(frame_of(MessageType.MESSAGE, {"message": {"id": "x"}}))
    with pytest.raises(ProtocolError):
        decode_event(
            frame_of(MessageType.SANCTIONED, {"kind": "slap", "until": None, "reason": ""})
        )
    with pytest.raises(ProtocolError):
        decode_event(frame_of(MessageType.PRESENCE, {"login": "a", "status": "sleeping"}))


# ---- PING and PONG ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "nonce",
    [
        b"12",
        b"-0",
        b"123456789012345678901234567890",
        b"1e400",
        b"-0.0",
        b'"x"',
        b'""',
        b'"\\u00e9\\n\\" \\ud83d\\ude00"',
        b'"\xc3\xa9\xf0\x9f\x98\x80"',
        b"null",
        b"true",
        b"[]",
        b"{}",
        b'{"a":[1,2.5e3,"\xc3\xa9"]}',
        b"[ 1 , 2 ]",
        b'{ "b" : { "c" : [ ] } }',
        nested(MAX_JSON_DEPTH - 1),
        b'"' + b"n" * 60_000 + b'"',
    ],
)
def test_a_ping_nonce_is_echoed_byte_for_byte(nonce: bytes) -> None:
    ping_body = b'{"nonce":' + nonce + b"}"
    pong = encode(Pong(decode_as(Ping, ping_body).nonce))
    assert pong == struct.pack(">IB", len(ping_body) + 1, MessageType.PONG) + ping_body
    assert decode_as(Pong, pong[5:]).nonce == decode_as(Ping, ping_body).nonce


def test_a_ping_nonce_nested_too_deep_is_bad_json() -> None:
    with pytest.raises(ProtocolError) as error:
        decode_as(Ping, b'{"nonce":' + nested(MAX_JSON_DEPTH) + b"}")
    assert error.value.code is ErrorCode.BAD_JSON


def test_a_ping_without_a_nonce_is_answered_with_null() -> None:
    assert body_of(Pong(decode_as(Ping, b"{}").nonce)) == b'{"nonce":null}'


# ---- what an error quotes ---------------------------------------------------------------


def test_quote_cuts_to_64_characters() -> None:
    assert MAX_QUOTED == 64
    assert quote("x" * 64) == repr("x" * 64)
    assert quote("x" * 65) == repr("x" * 64) + "…"
    assert quote("x" * 60_000) == repr("x" * 64) + "…"
    assert quote("😀" * 100) == repr("😀" * 64) + "…"  # characters, not bytes
    assert quote("Général") == "'Général'"
    assert quote("a\nb\x1b") == "'a\\nb\\x1b'"  # a control character is never shown raw
    assert quote("x" * 10, limit=3) == "'xxx'…"


def test_a_protocol_error_cuts_its_message_and_string_details() -> None:
    exact = ProtocolError(ErrorCode.NO_SUCH_ROOM, "m" * MAX_ERROR_MESSAGE)
    assert exact.message == "m" * MAX_ERROR_MESSAGE
    error = ProtocolError(
        ErrorCode.NO_SUCH_ROOM, "no room " + "x" * 10_000, reason="y" * 999, until=2**40
    )
    assert len(error.message) == MAX_ERROR_MESSAGE and error.message.endswith("x…")
    assert len(error.details["reason"]) == MAX_ERROR_MESSAGE
    assert error.details["until"] == 2**40
    assert str(error).startswith("no_such_room: no room x")


def test_an_error_about_a_huge_room_name_is_small() -> None:
    room = "R" * 60_000
    error = ProtocolError(ErrorCode.NO_SUCH_ROOM, f"no room {quote(room)}", field="room")
    data = encode(Error.of(error, 3))
    assert len(data) < 1024
    assert decode(data).body["message"] == "no room " + repr("R" * 64) + "…"


def test_read_state_bodies_follow_the_protocol_names() -> None:
    assert MarkRead(1, with_user="bob", up_to=5).to_json() == {"id": 1, "with": "bob", "up_to": 5}
    assert Conversations(2).to_json() == {"id": 2}
    room = ConversationState("Général", None, 9, 1_700_000_000_000, 7, 2)
    assert ConversationsOk(2, [room], False).to_json() == {
        "id": 2,
        "conversations": [
            {
                "room": "Général",
                "with": None,
                "last_id": 9,
                "last_ts": 1_700_000_000_000,
                "read": 7,
                "unread": 2,
            }
        ],
        "more": False,
    }
    assert decode_reply(decode(encode(ReadOk(3, room))), MarkRead) == ReadOk(3, room)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": 1, "up_to": 1}, "room"),
        ({"id": 1, "room": "Général", "with": "bob", "up_to": 1}, "room"),
        ({"id": 1, "room": "Général"}, "up_to"),
        ({"id": 1, "room": "Général", "up_to": -1}, "up_to"),
        ({"id": 1, "room": "Général", "up_to": 2**63}, "up_to"),
        ({"id": 1, "room": "Général", "up_to": False}, "up_to"),
    ],
)
def test_read_is_decoded_strictly(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ProtocolError) as raised:
        decode_request(frame_of(MessageType.READ, body))
    assert raised.value.code == ErrorCode.BAD_REQUEST and raised.value.details["field"] == field


@pytest.mark.parametrize(
    ("body", "field"),
    [({"id": 1, "limit": 0}, "limit"), ({"id": 1, "limit": 101}, "limit"),
     ({"id": 1, "before": -1}, "before"), ({"id": 1, "before": True}, "before")],
)  # fmt: skip
def test_conversations_is_decoded_strictly(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ProtocolError) as raised:
        decode_request(frame_of(MessageType.CONVERSATIONS, body))
    assert raised.value.code == ErrorCode.BAD_REQUEST and raised.value.details["field"] == field
