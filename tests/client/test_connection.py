"""ChatConnection against a scripted fake server (real sockets, ephemeral port)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from guigui.client.connection import ChatConnection, ConnectionLost, RequestFailed
from guigui.common.codec import Frame
from guigui.common.messages import ListRooms, MessageEvent
from guigui.common.protocol import ErrorCode, MessageType
from tests.support.fake_server import FakePeer, Script


def room(name: str) -> dict[str, Any]:
    """A Room object as the server sends it."""
    return {"name": name, "access": "open", "member": True, "pending": False}


def test_handshake_learns_the_limits(fake_server: Callable[[Script], tuple[str, int]]) -> None:
    def script(peer: FakePeer) -> None:
        peer.answer_hello()
        peer.receive()

    connection = ChatConnection.connect(*fake_server(script))
    assert connection.info.server == "fake/1" and connection.info.max_text == 4000
    connection.close()
    assert connection.closed


def test_replies_are_matched_by_id_even_out_of_order(
    fake_server: Callable[[Script], tuple[str, int]],
) -> None:
    def script(peer: FakePeer) -> None:
        peer.answer_hello()
        first, second = peer.receive(), peer.receive()
        peer.send(MessageType.OK, {"id": second.body["id"], "rooms": [room("second")]})
        peer.send(MessageType.OK, {"id": first.body["id"], "rooms": [room("first")]})
        peer.receive()

    connection = ChatConnection.connect(*fake_server(script))
    results: dict[str, Any] = {}
    threads = [
        threading.Thread(target=lambda: results.update(a=connection.rooms())),
    ]
    threads[0].start()
    while not connection._waiting:  # the first request is on the wire
        time.sleep(0.001)
    results["b"] = connection.rooms()
    threads[0].join(5)
    assert results["a"][0].name == "first" and results["b"][0].name == "second"
    connection.close()


def test_errors_become_request_failed(fake_server: Callable[[Script], tuple[str, int]]) -> None:
    def script(peer: FakePeer) -> None:
        peer.answer_hello()
        request = peer.receive()
        peer.send(
            MessageType.ERROR,
            {
                "id": request.body["id"],
                "code": "kicked",
                "message": "out",
                "until": 5,
                "reason": "r",
            },
        )
        peer.receive()

    connection = ChatConnection.connect(*fake_server(script))
    with pytest.raises(RequestFailed) as error:
        connection.login("alice", "password")
    assert error.value.code is ErrorCode.KICKED
    assert error.value.details == {"until": 5, "reason": "r"}
    connection.close()


def test_events_reach_the_queue_and_the_callback(
    fake_server: Callable[[Script], tuple[str, int]],
) -> None:
    def script(peer: FakePeer) -> None:
        peer.answer_hello()
        message = {"id": 1, "room": "Général", "from": "bob", "to": None, "text": "hi", "ts": 1}
        peer.send(MessageType.MESSAGE, {"message": message})
        peer.send(MessageType.ERROR, {"id": None, "code": "bad_json", "message": "?"})
        peer.receive()

    seen: list[Any] = []
    connection = ChatConnection.connect(*fake_server(script), on_event=seen.append)
    event = connection.events.get(timeout=5)
    assert isinstance(event, MessageEvent) and event.message.text == "hi"
    raw = connection.events.get(timeout=5)
    assert isinstance(raw, Frame) and raw.body["code"] == "bad_json"
    assert seen == [event, raw]
    connection.close()


def test_server_ping_is_answered(fake_server: Callable[[Script], tuple[str, int]]) -> None:
    answered = threading.Event()

    def script(peer: FakePeer) -> None:
        peer.answer_hello()
        peer.send(MessageType.PING, {"nonce": "n-7"})
        pong = peer.receive()
        if pong.type == MessageType.PONG and pong.body == {"nonce": "n-7"}:
            answered.set()

    connection = ChatConnection.connect(*fake_server(script))
    assert answered.wait(5)
    connection.close()


def test_the_client_pings_when_silent(fake_server: Callable[[Script], tuple[str, int]]) -> None:
    pinged = threading.Event()

    def script(peer: FakePeer) -> None:
        peer.answer_hello(heartbeat=1)
        if peer.receive().type == MessageType.PING:
            pinged.set()

    connection = ChatConnection.connect(*fake_server(script))
    assert pinged.wait(5)
    connection.close()


def test_connection_lost_while_waiting(fake_server: Callable[[Script], tuple[str, int]]) -> None:
    lost = threading.Event()

    def script(peer: FakePeer) -> None:
        peer.answer_hello()
        peer.receive()  # the request, never answered: the server goes away

    connection = ChatConnection.connect(*fake_server(script), on_disconnect=lost.set)
    with pytest.raises(ConnectionLost):
        connection.rooms()
    assert lost.wait(5) and connection.closed
    with pytest.raises(ConnectionLost):
        connection.rooms()


def test_timeout(fake_server: Callable[[Script], tuple[str, int]]) -> None:
    done = threading.Event()

    def script(peer: FakePeer) -> None:
        peer.answer_hello()
        peer.receive()
        done.wait(5)

    connection = ChatConnection.connect(*fake_server(script))
    with pytest.raises(TimeoutError):
        connection.request(ListRooms(0), timeout=0.2)
    done.set()
    connection.close()


def test_read_state_against_a_real_server(running_server: Any) -> None:
    """CONVERSATIONS and READ typed, and READ_STATE decoded, on the server of the tests."""
    from guigui.common.messages import ReadStateEvent
    from guigui.common.objects import ConversationState

    def connect() -> ChatConnection:
        return ChatConnection.connect(running_server.host, running_server.port)

    alice, desk, laptop = connect(), connect(), connect()
    try:
        alice.register("alice", "correct horse", "Alice", "Martin", "alice@example.org")
        desk.register("bob", "correct horse", "Bob", "Durand", "bob@example.org")
        alice.login("alice", "correct horse")
        desk.login("bob", "correct horse")
        laptop.login("bob", "correct horse")
        sent = alice.direct("bob", "psst")
        assert laptop.all_conversations() == [
            ConversationState("Général", None, 0, None, 0, 0),
            ConversationState(None, "alice", sent.id, sent.ts, 0, 1),
        ]
        state = desk.mark_read(sent.id, with_user="alice")
        assert (state.read, state.unread) == (sent.id, 0)
        deadline = time.monotonic() + 10
        while True:
            event = laptop.events.get(timeout=max(0.0, deadline - time.monotonic()))
            if isinstance(event, ReadStateEvent):
                break
        assert event.conversation == state
        with pytest.raises(RequestFailed) as refused:
            desk.mark_read(1, room="Blabla")
        assert refused.value.code == ErrorCode.NOT_MEMBER
        page, more = laptop.conversations(before=sent.id)
        assert (page, more) == ([], False)
    finally:
        for connection in (alice, desk, laptop):
            connection.close()
