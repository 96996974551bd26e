"""Hostile input over real sockets: what one bad client must never do (issue 12).

Each test sends one class of hostile input the way an attacker would, with raw
frames, and checks three things: the exact answer (code, id, field), that the
same connection is still answered at once, and that nothing changed for
anyone else (history, logins). The server's log must hold no traceback.
Every test here runs on SQLite and on MariaDB (the ``database_url`` fixture).
"""

from __future__ import annotations

import logging
import socket
import struct
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from guigui.common.codec import Frame, FrameDecoder, encode_frame
from guigui.common.protocol import DEFAULT_MAX_FRAME, MessageType
from tests.conftest import RunningServer
from tests.support.wire import ServerClosed, WireClient

ServerFactory = Callable[..., RunningServer]
LoggedIn = Callable[[str], WireClient]
Connect = Callable[[], WireClient]
LONE_SURROGATE = b"\\ud800"
"""The six bytes ``\\ud800``: a JSON escape of half a character, which no UTF-8 text can hold."""


@pytest.fixture(autouse=True)
def no_traceback_in_the_server_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail the test if the server logged an error or a traceback while it ran."""
    caplog.set_level(logging.INFO, logger="guigui")
    yield
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [record.getMessage() for record in bad]


def raw_frame(message_type: int, payload: bytes) -> bytes:
    """A frame around a body given as bytes (for bodies no JSON encoder would write)."""
    return struct.pack(">IB", len(payload) + 1, message_type) + payload


def with_surrogate(message_type: int, body: dict[str, Any], field: str) -> bytes:
    """The frame of ``body`` with a lone surrogate escape inside the string ``field``."""
    placeholder = "PLACEHOLDER-SURROGATE"
    payload = encode_frame(message_type, {**body, field: placeholder})[5:]
    return raw_frame(message_type, payload.replace(placeholder.encode(), b"x" + LONE_SURROGATE))


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def next_answer(client: WireClient) -> Frame:
    """The next OK, ERROR or PONG, keeping the events that come before it."""
    while True:
        frame = client.receive(timeout=3)
        if frame.type in (MessageType.OK, MessageType.ERROR, MessageType.PONG):
            return frame
        client.events.append(frame)


def answers_at_once(client: WireClient, nonce: int = 4242) -> None:
    """The connection answers a PING right away: it is in sync and not stalled."""
    client.send(MessageType.PING, {"nonce": nonce})
    frame = next_answer(client)
    assert (frame.type, frame.body) == (MessageType.PONG, {"nonce": nonce})


def history_texts(client: WireClient, room: str = "Général") -> list[str]:
    return [m["text"] for m in client.ok(MessageType.HISTORY, room=room, limit=100)["messages"]]


# ---- 1. deeply nested JSON --------------------------------------------------------


def test_deep_nesting_is_bad_json_and_the_frames_behind_it_are_answered(
    logged_in: LoggedIn,
) -> None:
    alice = logged_in("alice")
    deep = raw_frame(MessageType.ROOMS, b'{"id":9,"unknown":' + nested(10_000) + b"}")
    alice.send_raw(deep + encode_frame(MessageType.PING, {"nonce": 1}))
    error = next_answer(alice)
    assert error.type == MessageType.ERROR
    assert error.body["code"] == "bad_json" and error.body["id"] is None
    assert "nested" in error.body["message"]
    pong = next_answer(alice)
    assert (pong.type, pong.body) == (MessageType.PONG, {"nonce": 1})
    assert alice.ok(MessageType.SAY, room="Général", text="still here")


def test_nesting_counts_toward_the_ten_error_close(connect: Connect) -> None:
    client = connect()
    client.hello()
    deep = raw_frame(MessageType.PING, b'{"nonce":' + nested(40) + b"}")
    client.send_raw(deep * 10)
    frames = client.expect_closed(timeout=5)
    assert [f.body["code"] for f in frames] == ["bad_json"] * 10


def test_nesting_within_the_limit_is_echoed(connect: Connect) -> None:
    client = connect()
    client.hello()
    nonce = b'{"nonce":' + nested(31) + b"}"
    client.send_raw(raw_frame(MessageType.PING, nonce))
    pong = client.receive(timeout=3)
    assert (pong.type, pong.payload) == (MessageType.PONG, nonce)


# ---- 2. lone surrogates --------------------------------------------------------------


def test_a_lone_surrogate_in_a_ping_is_bad_json(connect: Connect) -> None:
    client = connect()
    client.hello()
    client.send_raw(raw_frame(MessageType.PING, b'{"nonce":"' + LONE_SURROGATE + b'"}'))
    error = next_answer(client)
    assert (error.type, error.body["code"], error.body["id"]) == (
        MessageType.ERROR,
        "bad_json",
        None,
    )
    answers_at_once(client)


def test_a_lone_surrogate_in_a_message_spoils_nothing(logged_in: LoggedIn) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    bad = with_surrogate(MessageType.SAY, {"id": 5, "room": "Général"}, "text")
    alice.send_raw(bad)
    error = next_answer(alice)
    assert (error.type, error.body["code"]) == (MessageType.ERROR, "bad_json")
    # Honest messages sent at the same moment by others are stored and delivered.
    bob.ok(MessageType.SAY, room="Général", text="honest")
    alice.ok(MessageType.SAY, room="Général", text="honest too")
    assert history_texts(bob)[-2:] == ["honest", "honest too"]


def test_a_lone_surrogate_in_resume_leaves_the_connection_able_to_log_in(
    connect: Connect,
) -> None:
    client = connect()
    client.hello()
    client.register("alice")
    client.send_raw(with_surrogate(MessageType.RESUME, {"id": 7}, "token"))
    error = next_answer(client)
    assert (error.type, error.body["code"]) == (MessageType.ERROR, "bad_json")
    assert client.login("alice")["user"]["login"] == "alice"


@pytest.mark.parametrize("field", ["login", "password", "first_name", "last_name", "email"])
def test_a_lone_surrogate_in_a_registration_is_bad_json(connect: Connect, field: str) -> None:
    client = connect()
    client.hello()
    body = {
        "id": 3,
        "login": "alice",
        "password": "correct horse",
        "first_name": "Alice",
        "last_name": "Martin",
        "email": "alice@example.org",
    }
    client.send_raw(with_surrogate(MessageType.REGISTER, body, field))
    error = next_answer(client)
    assert (error.type, error.body["code"]) == (MessageType.ERROR, "bad_json")
    client.register("alice")  # nothing was reserved or half-stored
    assert client.login("alice")["user"]["first_name"] == "Ada"


@pytest.mark.parametrize(
    ("message_type", "payload"),
    [
        (MessageType.PING, b'{"nonce":"\xff"}'),
        (MessageType.JOIN, b'{"id":3,"room":"Bla\xffbla"}'),
        (MessageType.SAY, b'{"id":4,"room":"G","text":"t","extra":"\xc0\xaf"}'),
    ],
    ids=["ping nonce", "known field", "unknown field"],
)
def test_bytes_that_are_not_utf8_are_bad_json_wherever_they_are(
    logged_in: LoggedIn, message_type: int, payload: bytes
) -> None:
    alice = logged_in("alice")
    alice.send_raw(raw_frame(message_type, payload) + encode_frame(MessageType.PING, {"nonce": 2}))
    error = next_answer(alice)
    assert (error.type, error.body["code"], error.body["id"]) == (
        MessageType.ERROR,
        "bad_json",
        None,
    )
    pong = next_answer(alice)
    assert (pong.type, pong.body) == (MessageType.PONG, {"nonce": 2})


# ---- 3. no frame over max_frame ------------------------------------------------------


def test_a_history_page_of_long_messages_fits_in_one_frame(logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    max_frame = alice.hello()["max_frame"]
    assert max_frame == DEFAULT_MAX_FRAME
    sent = [f"{index:03d}" + "€" * 3997 for index in range(60)]  # 12 KB each in UTF-8
    for text in sent:
        alice.ok(MessageType.SAY, room="Général", text=text)
    frame = alice.request(MessageType.HISTORY, room="Général", limit=50)
    assert frame.type == MessageType.OK and len(frame.payload) + 1 <= max_frame
    page = frame.body
    more: bool = page["more"]
    assert more, "a page of 50 such messages cannot fit in one frame"
    assert [m["text"] for m in page["messages"]] == sent[-len(page["messages"]) :]
    seen = list(page["messages"])
    while more:
        page = alice.ok(MessageType.HISTORY, room="Général", before=seen[0]["id"], limit=50)
        seen = page["messages"] + seen
        more = page["more"]
    assert [m["text"] for m in seen] == sent


def test_a_login_reply_lists_who_fits_and_sends_the_others_as_presence(
    server_factory: ServerFactory,
) -> None:
    running = server_factory(max_text=100, max_frame=1624)  # the least it accepts for 100
    everyone = [f"user{index:02d}" for index in range(60)]
    sessions = []
    for login in everyone:
        client = WireClient(running.address)
        client.hello()
        client.register(login)
        client.login(login)
        sessions.append(client)
    last = WireClient(running.address)
    assert last.hello()["max_frame"] == 1624
    last.register("zoe")
    reply = last.request(MessageType.LOGIN, login="zoe", password="correct horse")
    assert reply.type == MessageType.OK and len(reply.payload) + 1 <= 1624
    listed = {p["login"] for p in reply.body["online"]}
    assert 0 < len(listed) < 61
    for _ in range(61 - len(listed)):
        listed.add(last.next_event(MessageType.PRESENCE, timeout=3)["login"])
    assert listed == {*everyone, "zoe"}
    for client in [*sessions, last]:
        client.close()


def test_the_server_refuses_a_max_text_that_cannot_fit(server_factory: ServerFactory) -> None:
    with pytest.raises(ValueError, match="max_frame"):
        server_factory(max_text=20_000)


# ---- 4. concurrent logins ------------------------------------------------------------


def test_fifty_simultaneous_wrong_passwords_get_five_checks(connect: Connect) -> None:
    owner = connect()
    owner.hello()
    owner.register("alice")
    address = owner.address
    hello = encode_frame(MessageType.HELLO, {"id": 1, "version": 1, "client": "attacker"})
    attempt = encode_frame(MessageType.LOGIN, {"id": 2, "login": "alice", "password": "guess 1234"})
    sockets = [
        socket.create_connection(
            (address.host, address.port), timeout=10, source_address=(f"127.0.0.{2 + n % 10}", 0)
        )
        for n in range(50)
    ]
    for sock in sockets:  # every attempt is on the wire before any answer is read
        sock.sendall(hello + attempt)
    codes: Counter[str] = Counter()
    for sock in sockets:
        answer = _second_frame(sock)
        assert answer.type == MessageType.ERROR and answer.body["id"] == 2
        codes[answer.body["code"]] += 1
        if answer.body["code"] == "rate_limited":
            assert answer.body["retry_after_ms"] > 0
        sock.close()
    assert codes["bad_credentials"] <= 5
    assert codes["bad_credentials"] + codes["rate_limited"] == 50


def _second_frame(sock: socket.socket) -> Frame:
    decoder = FrameDecoder()
    frames: list[Frame] = []
    while len(frames) < 2:
        data = sock.recv(65536)
        if not data:
            raise ServerClosed("closed before answering")
        decoder.feed(data)
        while (frame := decoder.next_frame()) is not None:
            frames.append(frame)
    return frames[1]


# ---- 5. integers out of range ----------------------------------------------------------


@pytest.mark.parametrize(
    ("message_type", "fields", "field"),
    [
        (MessageType.HISTORY, {"room": "Général", "before": 2**63}, "before"),
        (MessageType.HISTORY, {"room": "Général", "before": 2**64}, "before"),
        (MessageType.HISTORY, {"room": "Général", "before": -1}, "before"),
        (MessageType.HISTORY, {"room": "Général", "limit": 0}, "limit"),
        (MessageType.HISTORY, {"room": "Général", "limit": 101}, "limit"),
        (MessageType.HISTORY, {"room": "Général", "limit": True}, "limit"),
        (MessageType.SAY, {"room": "Général", "text": "t", "nonce": 2**63}, "nonce"),
        (MessageType.SAY, {"room": "Général", "text": "t", "nonce": -1}, "nonce"),
        (MessageType.SAY, {"room": "Général", "text": "t", "nonce": ""}, "nonce"),
        (MessageType.SAY, {"room": "Général", "text": "t", "nonce": "n" * 129}, "nonce"),
    ],
)
def test_integers_out_of_range_are_bad_requests_naming_the_field(
    logged_in: LoggedIn, message_type: int, fields: dict[str, Any], field: str
) -> None:
    alice = logged_in("alice")
    error = alice.error(message_type, **fields)
    assert (error["code"], error["field"]) == ("bad_request", field)
    assert error["id"] is not None  # the request's own id is echoed
    answers_at_once(alice)


@pytest.mark.parametrize("bad_id", [0, 2**31, -1, True, 2**64])
def test_a_bad_request_id_is_answered_with_id_null(logged_in: LoggedIn, bad_id: object) -> None:
    alice = logged_in("alice")
    alice.send(MessageType.ROOMS, {"id": bad_id})
    error = next_answer(alice).body
    assert (error["id"], error["code"], error["field"]) == (None, "bad_request", "id")


def test_the_largest_before_is_accepted_on_every_store(logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    alice.ok(MessageType.SAY, room="Général", text="hello")
    page = alice.ok(MessageType.HISTORY, room="Général", before=2**63 - 1)
    assert [m["text"] for m in page["messages"]] == ["hello"]


# ---- 7. errors quote little --------------------------------------------------------------


@pytest.mark.parametrize(
    ("message_type", "fields", "code"),
    [
        (MessageType.JOIN, {"room": "x" * 60_000}, "no_such_room"),
        (MessageType.HISTORY, {"with": "y" * 60_000}, "no_such_user"),
        (MessageType.DIRECT, {"to": "z" * 60_000, "text": "hi"}, "no_such_user"),
    ],
)
def test_an_error_quotes_at_most_64_characters_of_the_input(
    logged_in: LoggedIn, message_type: int, fields: dict[str, Any], code: str
) -> None:
    alice = logged_in("alice")
    frame = alice.request(message_type, **fields)
    assert frame.type == MessageType.ERROR and frame.body["code"] == code
    assert len(frame.payload) < 1024


# ---- 8. pipelined requests take effect in order -------------------------------------------


def test_hello_register_login_in_one_write(connect: Connect) -> None:
    client = connect()
    client.send_raw(
        encode_frame(MessageType.HELLO, {"id": 1, "version": 1, "client": "pipeline"})
        + encode_frame(
            MessageType.REGISTER,
            {
                "id": 2,
                "login": "alice",
                "password": "correct horse",
                "first_name": "Alice",
                "last_name": "Martin",
                "email": "alice@example.org",
            },
        )
        + encode_frame(MessageType.LOGIN, {"id": 3, "login": "alice", "password": "correct horse"})
    )
    replies = [client.receive() for _ in range(3)]
    assert [(f.type, f.body["id"]) for f in replies] == [(MessageType.OK, n) for n in (1, 2, 3)]
    assert replies[2].body["user"]["status"] == "online"


def test_thirty_pipelined_registrations_from_one_ip_all_log_in(
    server_factory: ServerFactory,
) -> None:
    running = server_factory()
    clients = [WireClient(running.address) for _ in range(30)]
    for index, client in enumerate(clients):
        login = f"user{index}"
        client.send_raw(
            encode_frame(MessageType.HELLO, {"id": 1, "version": 1, "client": "pipeline"})
            + encode_frame(
                MessageType.REGISTER,
                {
                    "id": 2,
                    "login": login,
                    "password": "correct horse",
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "email": f"{login}@example.org",
                },
            )
            + encode_frame(
                MessageType.LOGIN, {"id": 3, "login": login, "password": "correct horse"}
            )
        )
    for client in clients:
        login_reply = client.reply_to(3)
        assert login_reply.type == MessageType.OK, login_reply.body
        client.close()


def test_join_then_say_in_one_write(logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    alice.send_raw(
        encode_frame(MessageType.JOIN, {"id": 50, "room": "Blabla"})
        + encode_frame(MessageType.SAY, {"id": 51, "room": "Blabla", "text": "first words"})
    )
    joined, said = alice.reply_to(50), alice.reply_to(51)
    assert joined.type == MessageType.OK and joined.body["status"] == "joined"
    assert said.type == MessageType.OK, said.body
    assert history_texts(alice, "Blabla") == ["first words"]


def test_say_then_leave_in_one_write(logged_in: LoggedIn) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    bob.ok(MessageType.JOIN, room="Blabla")
    alice.ok(MessageType.JOIN, room="Blabla")
    alice.send_raw(
        encode_frame(MessageType.SAY, {"id": 60, "room": "Blabla", "text": "goodbye"})
        + encode_frame(MessageType.LEAVE, {"id": 61, "room": "Blabla"})
    )
    said, left = alice.reply_to(60), alice.reply_to(61)
    assert (said.type, left.type) == (MessageType.OK, MessageType.OK)
    assert history_texts(bob, "Blabla") == ["goodbye"]
    assert alice.error(MessageType.HISTORY, room="Blabla")["code"] == "not_member"
