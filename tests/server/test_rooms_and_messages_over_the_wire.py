"""JOIN, LEAVE, SAY, DIRECT and HISTORY over real sockets."""

from __future__ import annotations

from collections.abc import Callable

from guigui.common.protocol import MessageType
from tests.support.wire import WireClient

LoggedIn = Callable[[str], WireClient]

HOSTILE = '\'; DROP TABLE messages; -- 😀🎉 "quoted" \\ %s ? \u202e'


def test_join_blabla_at_once_and_informatique_pending(logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    joined = alice.ok(MessageType.JOIN, room="Blabla")
    assert joined["status"] == "joined"
    assert joined["room"] == {
        "name": "Blabla",
        "access": "on_request",
        "member": True,
        "pending": False,
    }
    pending = alice.ok(MessageType.JOIN, room="Informatique")
    assert pending["status"] == "pending" and isinstance(pending["request_id"], int)
    assert alice.error(MessageType.JOIN, room="Informatique")["code"] == "already_pending"
    assert alice.error(MessageType.JOIN, room="Blabla")["code"] == "already_member"
    assert alice.error(MessageType.JOIN, room="Général")["code"] == "already_member"
    assert alice.error(MessageType.JOIN, room="Cuisine")["code"] == "no_such_room"
    rooms = {room["name"]: room for room in alice.ok(MessageType.ROOMS)["rooms"]}
    assert rooms["Informatique"]["pending"] and not rooms["Informatique"]["member"]


def test_leave(logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    assert alice.error(MessageType.LEAVE, room="Général")["code"] == "cannot_leave"
    assert alice.error(MessageType.LEAVE, room="Blabla")["code"] == "not_member"
    alice.ok(MessageType.JOIN, room="Blabla")
    alice.ok(MessageType.LEAVE, room="Blabla")
    assert alice.error(MessageType.SAY, room="Blabla", text="hi")["code"] == "not_member"


def test_say_reaches_other_members_but_not_the_sending_session(logged_in: LoggedIn) -> None:
    alice, alice_phone, bob = logged_in("alice"), logged_in("alice"), logged_in("bob")
    reply = alice.ok(MessageType.SAY, room="Général", text="Bonjour à tous")
    message = reply["message"]
    assert message["room"] == "Général" and message["from"] == "alice" and message["to"] is None
    assert message["text"] == "Bonjour à tous" and isinstance(message["ts"], int)
    assert bob.next_event(MessageType.MESSAGE) == {"message": message}
    assert alice_phone.next_event(MessageType.MESSAGE) == {"message": message}
    alice.no_event(MessageType.MESSAGE)


def test_room_messages_stay_in_their_room(logged_in: LoggedIn) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    alice.ok(MessageType.JOIN, room="Blabla")
    alice.ok(MessageType.SAY, room="Blabla", text="only for Blabla")
    bob.no_event(MessageType.MESSAGE)
    assert bob.error(MessageType.HISTORY, room="Blabla")["code"] == "not_member"


def test_message_ids_increase_and_texts_are_kept_unchanged(logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    ids = [
        alice.ok(MessageType.SAY, room="Général", text=HOSTILE)["message"]["id"] for _ in range(5)
    ]
    assert ids == sorted(ids) and len(set(ids)) == 5
    history = alice.ok(MessageType.HISTORY, room="Général")["messages"]
    assert [m["text"] for m in history] == [HOSTILE] * 5


def test_text_limits(logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    assert alice.error(MessageType.SAY, room="Général", text="x" * 4001)["code"] == "text_too_long"
    alice.ok(MessageType.SAY, room="Général", text="😀" * 4000)
    assert alice.error(MessageType.SAY, room="Général", text="   ")["field"] == "text"


def test_repeated_nonce_is_stored_and_delivered_once(logged_in: LoggedIn) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    first = alice.ok(MessageType.SAY, room="Général", text="once", nonce="n-1")["message"]
    again = alice.ok(MessageType.SAY, room="Général", text="once", nonce="n-1")["message"]
    assert again == first
    assert bob.next_event(MessageType.MESSAGE)["message"] == first
    bob.no_event(MessageType.MESSAGE)
    other = bob.ok(MessageType.SAY, room="Général", text="mine", nonce="n-1")["message"]
    assert other["id"] != first["id"]  # nonces are per sender
    history = alice.ok(MessageType.HISTORY, room="Général")["messages"]
    assert [m["text"] for m in history] == ["once", "mine"]


def test_repeated_nonce_sent_back_to_back(logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    for request_id in (1001, 1002, 1003):
        alice.send(MessageType.SAY, {"id": request_id, "room": "Général", "text": "x", "nonce": 42})
    messages = [alice.reply_to(request_id).body["message"] for request_id in (1001, 1002, 1003)]
    assert messages[0] == messages[1] == messages[2]


def test_history_pages_with_before_and_limit(logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    sent = [
        alice.ok(MessageType.SAY, room="Général", text=f"m{n}")["message"]["id"] for n in range(12)
    ]
    page = alice.ok(MessageType.HISTORY, room="Général", limit=5)
    assert [m["text"] for m in page["messages"]] == [f"m{n}" for n in range(7, 12)]
    assert page["more"] is True
    older = alice.ok(MessageType.HISTORY, room="Général", limit=5, before=page["messages"][0]["id"])
    assert [m["text"] for m in older["messages"]] == [f"m{n}" for n in range(2, 7)]
    oldest = alice.ok(MessageType.HISTORY, room="Général", limit=5, before=sent[2])
    assert [m["text"] for m in oldest["messages"]] == ["m0", "m1"]
    assert oldest["more"] is False
    everything = alice.ok(MessageType.HISTORY, room="Général")
    assert len(everything["messages"]) == 12 and everything["more"] is False


def test_history_arguments_are_checked(logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    assert alice.error(MessageType.HISTORY, room="Général", limit=0)["field"] == "limit"
    assert alice.error(MessageType.HISTORY, room="Général", limit=101)["field"] == "limit"
    assert alice.error(MessageType.HISTORY)["code"] == "bad_request"
    assert alice.error(MessageType.HISTORY, room="Nowhere")["code"] == "no_such_room"
    assert alice.error(MessageType.HISTORY, **{"with": "nobody"})["code"] == "no_such_user"


def test_direct_messages(logged_in: LoggedIn) -> None:
    alice, alice_phone, bob, carol = (
        logged_in("alice"),
        logged_in("alice"),
        logged_in("bob"),
        logged_in("carol"),
    )
    message = alice.ok(MessageType.DIRECT, to="BOB", text="psst 🤫")["message"]
    assert message["room"] is None and message["from"] == "alice" and message["to"] == "bob"
    assert bob.next_event(MessageType.MESSAGE)["message"] == message
    assert alice_phone.next_event(MessageType.MESSAGE)["message"] == message
    carol.no_event(MessageType.MESSAGE)
    alice.no_event(MessageType.MESSAGE)
    bob.ok(MessageType.DIRECT, to="alice", text="quoi ?")
    carol.ok(MessageType.DIRECT, to="alice", text="not in alice/bob")
    history = bob.ok(MessageType.HISTORY, **{"with": "alice"})["messages"]
    assert [m["text"] for m in history] == ["psst 🤫", "quoi ?"]
    assert alice.error(MessageType.DIRECT, to="nobody", text="hello")["code"] == "no_such_user"


def test_direct_to_an_offline_user_is_in_their_history(logged_in: LoggedIn) -> None:
    bob = logged_in("bob")
    bob.close()
    alice = logged_in("alice")
    alice.ok(MessageType.DIRECT, to="bob", text="read this later")
    bob = logged_in("bob")
    history = bob.ok(MessageType.HISTORY, **{"with": "alice"})["messages"]
    assert [m["text"] for m in history] == ["read this later"]
