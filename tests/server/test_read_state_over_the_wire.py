"""CONVERSATIONS, READ and READ_STATE over real sockets (docs/PROTOCOL.md, read state)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from guigui.common.protocol import MessageType
from tests.support.wire import WireClient

LoggedIn = Callable[[str], WireClient]


def states(client: WireClient, **fields: Any) -> dict[str, dict[str, Any]]:
    """CONVERSATIONS, keyed ``#room`` or ``@login``."""
    reply = client.ok(MessageType.CONVERSATIONS, **fields)
    return {
        f"#{c['room']}" if c["room"] is not None else f"@{c['with']}": c
        for c in reply["conversations"]
    }


def test_unread_counts_and_direct_conversations_survive_logout(
    logged_in: LoggedIn, connect: Callable[[], WireClient]
) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    said = alice.ok(MessageType.SAY, room="Général", text="Bonjour")["message"]
    sent = alice.ok(MessageType.DIRECT, to="bob", text="psst")["message"]
    alice.ok(MessageType.DIRECT, to="bob", text="tu es là ?")
    bob.ok(MessageType.LOGOUT)
    bob.close()

    later = connect()  # another computer, the next day
    later.hello()
    later.login("bob")
    found = states(later)
    assert list(found) == ["#Général", "@alice"]  # rooms first, then direct conversations
    assert found["#Général"] == {
        "room": "Général",
        "with": None,
        "last_id": said["id"],
        "last_ts": said["ts"],
        "read": 0,
        "unread": 1,
    }
    assert found["@alice"]["unread"] == 2 and found["@alice"]["read"] == 0
    assert found["@alice"]["last_id"] == sent["id"] + 1
    # alice wrote them herself: nothing is unread for her
    assert [c["unread"] for c in states(alice).values()] == [0, 0]


def test_read_on_one_computer_is_unread_zero_on_the_other(logged_in: LoggedIn) -> None:
    alice, bob_desk, bob_laptop = logged_in("alice"), logged_in("bob"), logged_in("bob")
    first = alice.ok(MessageType.DIRECT, to="bob", text="un")["message"]
    second = alice.ok(MessageType.DIRECT, to="bob", text="deux")["message"]
    assert states(bob_laptop)["@alice"]["unread"] == 2  # the laptop asks for read state

    read = bob_desk.ok(MessageType.READ, up_to=first["id"], **{"with": "alice"})
    assert read["conversation"]["read"] == first["id"]
    assert read["conversation"]["unread"] == 1
    event = bob_laptop.next_event(MessageType.READ_STATE)
    assert event == {"conversation": read["conversation"]}

    bob_desk.ok(MessageType.READ, up_to=second["id"], **{"with": "alice"})
    assert bob_laptop.next_event(MessageType.READ_STATE)["conversation"]["unread"] == 0
    assert states(bob_laptop)["@alice"]["unread"] == 0
    # Again, or older: nothing moves, nobody is told.
    again = bob_desk.ok(MessageType.READ, up_to=first["id"], **{"with": "alice"})
    assert again["conversation"]["read"] == second["id"]
    bob_laptop.no_event(MessageType.READ_STATE)
    bob_desk.no_event(MessageType.READ_STATE)  # never to the session that read


def test_rooms_are_read_the_same_way(logged_in: LoggedIn) -> None:
    alice, bob, bob_phone = logged_in("alice"), logged_in("bob"), logged_in("bob")
    bob_phone.ok(MessageType.READ, room="Général", up_to=0)  # asks for read state
    ids = [
        alice.ok(MessageType.SAY, room="Général", text=f"m{i}")["message"]["id"] for i in range(3)
    ]
    assert states(bob)["#Général"]["unread"] == 3
    read = bob.ok(MessageType.READ, room="Général", up_to=ids[-1])["conversation"]
    assert (read["read"], read["unread"], read["last_id"]) == (ids[-1], 0, ids[-1])
    assert bob_phone.next_event(MessageType.READ_STATE)["conversation"] == read


def test_old_clients_never_get_read_state_events(logged_in: LoggedIn) -> None:
    """A session that never sent CONVERSATIONS or READ gets only the events of the contract."""
    alice, bob_new, bob_old = logged_in("alice"), logged_in("bob"), logged_in("bob")
    message = alice.ok(MessageType.DIRECT, to="bob", text="hello")["message"]
    bob_new.ok(MessageType.READ, up_to=message["id"], **{"with": "alice"})
    assert bob_old.next_event(MessageType.MESSAGE)["message"] == message
    bob_old.no_event(MessageType.READ_STATE)
    assert not bob_old.events


def test_a_new_member_finds_the_past_read(logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    alice.ok(MessageType.JOIN, room="Blabla")
    alice.ok(MessageType.SAY, room="Blabla", text="avant")
    bob = logged_in("bob")
    bob.ok(MessageType.JOIN, room="Blabla")
    assert [c["unread"] for c in states(bob).values()] == [0, 0]
    alice.ok(MessageType.SAY, room="Blabla", text="après")
    assert states(bob)["#Blabla"]["unread"] == 1


def test_direct_conversations_page_newest_first(logged_in: LoggedIn) -> None:
    me = logged_in("carol")
    for index in range(5):
        logged_in(f"peer{index}").ok(MessageType.DIRECT, to="carol", text="hi")
    first = me.ok(MessageType.CONVERSATIONS, limit=2)
    assert [c["with"] for c in first["conversations"]] == [None, "peer4", "peer3"]
    assert first["more"] is True
    before = first["conversations"][-1]["last_id"]
    second = me.ok(MessageType.CONVERSATIONS, before=before, limit=2)
    assert [c["with"] for c in second["conversations"]] == ["peer2", "peer1"]  # no rooms again
    last = me.ok(MessageType.CONVERSATIONS, before=second["conversations"][-1]["last_id"])
    assert [c["with"] for c in last["conversations"]] == ["peer0"] and last["more"] is False


@pytest.mark.server_settings(max_text=500, max_frame=6 * 500 + 1024)
def test_a_page_never_exceeds_max_frame(logged_in: LoggedIn) -> None:
    me = logged_in("carol")
    for index in range(100):
        logged_in(f"a-rather-long-login-{index:03d}").ok(MessageType.DIRECT, to="carol", text="hi")
    seen: list[str] = []
    reply = me.ok(MessageType.CONVERSATIONS, limit=100)
    pages = 1
    while True:
        seen += [c["with"] for c in reply["conversations"] if c["with"] is not None]
        if not reply["more"]:
            break
        pages += 1
        last = reply["conversations"][-1]["last_id"]
        reply = me.ok(MessageType.CONVERSATIONS, before=last, limit=100)
    assert pages > 1 and me.largest_frame <= 6 * 500 + 1024
    assert seen == [f"a-rather-long-login-{index:03d}" for index in reversed(range(100))]


def test_refusals(logged_in: LoggedIn, connect: Callable[[], WireClient]) -> None:
    anonymous = connect()
    anonymous.hello()
    assert anonymous.error(MessageType.CONVERSATIONS)["code"] == "not_authenticated"
    assert anonymous.error(MessageType.READ, room="Général", up_to=1)["code"] == (
        "not_authenticated"
    )
    alice = logged_in("alice")

    def code(**fields: Any) -> tuple[str, str | None]:
        error = alice.error(MessageType.READ, **fields)
        return error["code"], error.get("field")

    assert code(room="Cuisine", up_to=1) == ("no_such_room", None)
    assert code(room="Blabla", up_to=1) == ("not_member", None)
    assert code(up_to=1, **{"with": "nobody"}) == ("no_such_user", None)
    assert code(room="Général", up_to=-1) == ("bad_request", "up_to")
    assert code(room="Général", up_to=2**63) == ("bad_request", "up_to")
    assert code(room="Général", up_to=True) == ("bad_request", "up_to")
    assert code(room="Général", up_to="1") == ("bad_request", "up_to")
    assert code(room="Général") == ("bad_request", "up_to")
    assert code(up_to=1) == ("bad_request", "room")
    assert code(room="Général", up_to=1, **{"with": "alice"}) == ("bad_request", "room")
    assert code(room=["Général"], up_to=1) == ("bad_request", "room")

    alice = logged_in("alice")  # ten malformed requests close a connection

    def listing(**fields: Any) -> tuple[str, str | None]:
        error = alice.error(MessageType.CONVERSATIONS, **fields)
        return error["code"], error.get("field")

    assert listing(limit=0) == ("bad_request", "limit")
    assert listing(limit=101) == ("bad_request", "limit")
    assert listing(before=-1) == ("bad_request", "before")
    assert listing(before=2**63) == ("bad_request", "before")
    assert alice.ok(MessageType.READ, room="Général", up_to=2**63 - 1)["conversation"]["read"] == 0
