"""HELLO and every malformed-frame case, against a real server over real sockets."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Callable

from guigui.common.codec import encode_frame
from guigui.common.protocol import DEFAULT_MAX_FRAME, MAX_ERRORS_BEFORE_CLOSE, MessageType
from tests.support.wire import WireClient, frame_header

Connect = Callable[[], WireClient]


def test_hello_announces_the_limits(connect: Connect) -> None:
    reply = connect().hello()
    assert reply["version"] == 1
    assert reply["server"].startswith("guigui/")
    assert reply["max_frame"] == DEFAULT_MAX_FRAME
    assert reply["max_text"] == 4000
    assert reply["heartbeat"] == 30


def test_a_request_before_hello_is_refused_and_closed(connect: Connect) -> None:
    client = connect()
    client.send(MessageType.ROOMS, {"id": 1})
    frames = client.expect_closed()
    assert [(f.type, f.body["code"], f.body["id"]) for f in frames] == [
        (MessageType.ERROR, "hello_required", 1)
    ]


def test_another_version_is_refused_and_closed(connect: Connect) -> None:
    client = connect()
    client.send(MessageType.HELLO, {"id": 1, "version": 2, "client": "future/9"})
    frames = client.expect_closed()
    assert frames[0].body["code"] == "unsupported_version"


def test_zero_length_is_a_bad_frame(connect: Connect) -> None:
    client = connect()
    client.hello()
    client.send_raw(struct.pack(">I", 0))
    frames = client.expect_closed()
    assert frames[-1].body == {
        "id": None,
        "code": "bad_frame",
        "message": frames[-1].body["message"],
    }


def test_oversized_header_is_refused_without_reading_the_body(connect: Connect) -> None:
    client = connect()
    client.hello()
    # Announce 100 MB and send only a little: the server must answer at once.
    client.send_raw(frame_header(100_000_000, MessageType.SAY) + b"{" * 1000)
    frames = client.expect_closed()
    assert frames[-1].body["code"] == "frame_too_large"
    assert frames[-1].body["id"] is None


def test_a_frame_just_over_max_frame_is_refused(connect: Connect) -> None:
    client = connect()
    client.hello()
    client.send_raw(frame_header(DEFAULT_MAX_FRAME + 1, MessageType.SAY))
    assert client.expect_closed()[-1].body["code"] == "frame_too_large"


def test_a_body_that_is_not_json_keeps_the_stream_in_sync(connect: Connect) -> None:
    client = connect()
    client.hello()
    for body in (b"not json", b"[1, 2]", b"\xff\xfe", b'"text"', b"{"):
        client.send_raw(struct.pack(">IB", len(body) + 1, MessageType.ROOMS) + body)
        error = client.receive()
        assert error.type == MessageType.ERROR
        assert error.body["code"] == "bad_json" and error.body["id"] is None
    assert client.hello()["version"] == 1  # still open and in sync


def test_an_unknown_type_is_reported(connect: Connect) -> None:
    client = connect()
    client.hello()
    client.send(0x7F, {"id": 5})
    frame = client.receive()
    assert frame.body["code"] == "unknown_type"
    client.send(MessageType.MESSAGE, {"id": 6})  # a server-to-client type is not a request
    assert client.receive().body["code"] == "unknown_type"


def test_too_many_malformed_frames_close_the_connection(connect: Connect) -> None:
    client = connect()
    client.hello()
    for _ in range(MAX_ERRORS_BEFORE_CLOSE):
        client.send_raw(struct.pack(">IB", 2, MessageType.ROOMS) + b"x")
    frames = client.expect_closed()
    assert len(frames) == MAX_ERRORS_BEFORE_CLOSE
    assert {f.body["code"] for f in frames} == {"bad_json"}


def test_missing_and_mistyped_fields_name_the_field(connect: Connect) -> None:
    client = connect()
    client.hello()
    assert client.error(MessageType.LOGIN, login="alice")["field"] == "password"
    assert client.error(MessageType.LOGIN, login=5, password="x" * 8)["field"] == "login"
    client.send(MessageType.ROOMS, {"id": "seven"})
    reply = client.receive()
    assert reply.body["code"] == "bad_request" and reply.body["id"] is None
    assert reply.body["field"] == "id"


def test_requests_before_login_are_refused(connect: Connect) -> None:
    client = connect()
    client.hello()
    for message_type, fields in [
        (MessageType.ROOMS, {}),
        (MessageType.JOIN, {"room": "Blabla"}),
        (MessageType.SAY, {"room": "Général", "text": "hi"}),
        (MessageType.DIRECT, {"to": "bob", "text": "hi"}),
        (MessageType.HISTORY, {"room": "Général"}),
        (MessageType.SET_STATUS, {"status": "away"}),
        (MessageType.LOGOUT, {}),
        (MessageType.LEAVE, {"room": "Blabla"}),
    ]:
        assert client.error(message_type, **fields)["code"] == "not_authenticated"


def test_ping_is_answered_with_the_same_nonce(connect: Connect) -> None:
    client = connect()
    client.hello()
    client.send(MessageType.PING, {"nonce": "abc"})
    pong = client.receive()
    assert pong.type == MessageType.PONG and pong.body == {"nonce": "abc"}


def test_one_byte_at_a_time(connect: Connect) -> None:
    client = connect()
    data = encode_frame(MessageType.HELLO, {"id": 1, "version": 1, "client": "slow/1"})
    data += encode_frame(MessageType.PING, {"nonce": 7})
    for index in range(len(data)):
        client.send_raw(data[index : index + 1])
    assert client.receive().body["id"] == 1
    assert client.receive().body == {"nonce": 7}


def test_many_frames_in_one_write(connect: Connect) -> None:
    client = connect()
    data = encode_frame(MessageType.HELLO, {"id": 1, "version": 1, "client": "fast/1"})
    data += b"".join(encode_frame(MessageType.PING, {"nonce": n}) for n in range(200))
    client.send_raw(data)
    assert client.receive().body["id"] == 1
    assert [client.receive().body["nonce"] for _ in range(200)] == list(range(200))


def test_a_client_vanishing_mid_frame_does_not_disturb_others(connect: Connect) -> None:
    leaver = connect()
    leaver.hello()
    frame = encode_frame(MessageType.ROOMS, {"id": 2})
    leaver.send_raw(frame[:3])
    leaver.close()
    other = connect()
    assert other.hello()["version"] == 1


def test_garbage_from_one_client_leaves_others_served(connect: Connect) -> None:
    attacker = connect()
    attacker.send_raw(b"\x00\x00\x00\x05\x01" + json.dumps([1]).encode()[:4] + b"\xff" * 5000)
    honest = connect()
    assert honest.hello()["version"] == 1
    attacker.expect_closed()


def test_raw_socket_close_without_hello(connect: Connect) -> None:
    client = connect()
    client.sock.shutdown(socket.SHUT_WR)
    assert client.expect_closed() == []
