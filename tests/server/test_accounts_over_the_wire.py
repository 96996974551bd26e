"""REGISTER, LOGIN, RESUME, LOGOUT and SET_STATUS over real sockets."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from guigui.common.protocol import MessageType
from tests.support.wire import WireClient

Connect = Callable[[], WireClient]
LoggedIn = Callable[[str], WireClient]

HOSTILE = '\'; DROP TABLE users; -- 😀 "x" \\ %s ?'


def registration(login: str = "alice", **changes: str) -> dict[str, str]:
    fields = {
        "login": login,
        "password": "correct horse",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": f"{login}@example.org",
    }
    fields.update(changes)
    return fields


def ready(connect: Connect) -> WireClient:
    client = connect()
    client.hello()
    return client


def test_register_returns_the_user_with_email_and_does_not_log_in(connect: Connect) -> None:
    client = ready(connect)
    reply = client.ok(MessageType.REGISTER, **registration())
    assert reply["user"] == {
        "login": "alice",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "status": "offline",
        "email": "alice@example.org",
    }
    assert client.error(MessageType.ROOMS)["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"login": "ab"}, "invalid_field", "login"),
        ({"login": "a b c"}, "invalid_field", "login"),
        ({"login": "x" * 33}, "invalid_field", "login"),
        ({"password": "short"}, "weak_password", "password"),
        ({"password": "é" * 37}, "invalid_field", "password"),
        ({"email": "not-an-email"}, "invalid_field", "email"),
        ({"email": "a@" + "b" * 250 + ".fr"}, "invalid_field", "email"),
        ({"first_name": ""}, "invalid_field", "first_name"),
        ({"last_name": "x" * 65}, "invalid_field", "last_name"),
        ({"first_name": "Ada\x85"}, "invalid_field", "first_name"),
        ({"first_name": "Ada\x9b31m"}, "invalid_field", "first_name"),
        ({"first_name": "\u200b"}, "invalid_field", "first_name"),
        ({"last_name": "Lovelace\u202e"}, "invalid_field", "last_name"),
        ({"last_name": HOSTILE[:64]}, "invalid_field", "last_name"),
        ({"email": "alice\x00@example.org"}, "invalid_field", "email"),
    ],
)
def test_invalid_registrations(
    connect: Connect, changes: dict[str, str], code: str, field: str
) -> None:
    error = ready(connect).error(MessageType.REGISTER, **registration(**changes))
    assert (error["code"], error["field"]) == (code, field)


def test_taken_login_and_email(connect: Connect) -> None:
    client = ready(connect)
    client.ok(MessageType.REGISTER, **registration("alice"))
    taken = client.error(MessageType.REGISTER, **registration("ALICE", email="new@example.org"))
    assert taken["code"] == "login_taken"
    taken = client.error(MessageType.REGISTER, **registration("bob", email="Alice@Example.org"))
    assert taken["code"] == "email_taken"


def test_two_registrations_racing_for_one_login(connect: Connect) -> None:
    first, second = ready(connect), ready(connect)
    first.send(MessageType.REGISTER, {"id": 1, **registration("carol")})
    second.send(MessageType.REGISTER, {"id": 1, **registration("Carol", email="c2@example.org")})
    codes = sorted(
        (first.reply_to(1).body.get("code", "ok"), second.reply_to(1).body.get("code", "ok"))
    )
    assert codes == ["login_taken", "ok"]


def test_quotes_and_accents_in_names_are_stored_unchanged(connect: Connect) -> None:
    client = ready(connect)
    fields = registration(first_name="Jean-Pierre O'Connor", last_name="D’Artagnan-Nguyễn Zoé.")
    client.ok(MessageType.REGISTER, **fields)
    reply = client.login("alice")
    assert reply["user"]["first_name"] == "Jean-Pierre O'Connor"
    assert reply["user"]["last_name"] == "D’Artagnan-Nguyễn Zoé."


def test_rooms_are_listed_in_order(logged_in: LoggedIn) -> None:
    reply = logged_in("alice").ok(MessageType.ROOMS)
    assert [room["name"] for room in reply["rooms"]] == [
        "Général",
        "Blabla",
        "Comptabilité",
        "Informatique",
        "Marketing",
    ]


def test_a_second_hello_is_answered_again(logged_in: LoggedIn) -> None:
    assert logged_in("alice").hello()["version"] == 1


def test_login_reply_shape(connect: Connect) -> None:
    client = ready(connect)
    client.register("alice")
    reply = client.login("Alice")  # case-insensitive
    assert reply["user"]["login"] == "alice" and reply["user"]["status"] == "online"
    assert isinstance(reply["token"], str) and len(reply["token"]) >= 40
    rooms = {room["name"]: room for room in reply["rooms"]}
    assert rooms["Général"] == {
        "name": "Général",
        "access": "open",
        "member": True,
        "pending": False,
    }
    assert rooms["Blabla"]["access"] == "on_request" and not rooms["Blabla"]["member"]
    assert rooms["Informatique"]["access"] == "approval"
    assert reply["online"] == [{"login": "alice", "status": "online"}]


def test_wrong_password_and_unknown_login_look_the_same(connect: Connect) -> None:
    client = ready(connect)
    client.register("alice")
    wrong = client.error(MessageType.LOGIN, login="alice", password="wrong password")
    unknown = client.error(MessageType.LOGIN, login="nobody", password="wrong password")
    assert wrong["code"] == unknown["code"] == "bad_credentials"
    assert wrong["message"] == unknown["message"]
    client.login("alice")  # the connection is still usable


def test_login_twice_on_one_connection(logged_in: LoggedIn) -> None:
    client = logged_in("alice")
    error = client.error(MessageType.LOGIN, login="alice", password="correct horse")
    assert error["code"] == "already_authenticated"


def test_resume_with_the_token(logged_in: LoggedIn, connect: Connect) -> None:
    logged_in("alice")
    client = ready(connect)
    client.register("bob")
    token = client.login("bob")["token"]
    client.close()
    again = ready(connect)
    resumed = again.ok(MessageType.RESUME, token=token)
    assert resumed["user"]["login"] == "bob"
    assert resumed["token"] == token
    assert {p["login"] for p in resumed["online"]} == {"alice", "bob"}


@pytest.mark.parametrize("token", ["", "nonsense", "x" * 5000])
def test_resume_with_a_bad_token(connect: Connect, token: str) -> None:
    assert ready(connect).error(MessageType.RESUME, token=token)["code"] == "bad_token"


def test_logout_revokes_the_token_and_keeps_the_connection(connect: Connect) -> None:
    client = ready(connect)
    client.register("alice")
    token = client.login("alice")["token"]
    client.ok(MessageType.LOGOUT)
    assert client.error(MessageType.ROOMS)["code"] == "not_authenticated"
    assert client.error(MessageType.RESUME, token=token)["code"] == "bad_token"
    client.login("alice")


def test_presence_online_status_and_offline(logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    bob = logged_in("bob")
    assert alice.next_event(MessageType.PRESENCE) == {"login": "bob", "status": "online"}
    bob.ok(MessageType.SET_STATUS, status="busy")
    assert alice.next_event(MessageType.PRESENCE) == {"login": "bob", "status": "busy"}
    assert bob.error(MessageType.SET_STATUS, status="offline")["field"] == "status"
    second_bob = logged_in("bob")  # another session: no new announcement
    alice.no_event(MessageType.PRESENCE)
    bob.close()
    alice.no_event(MessageType.PRESENCE)  # bob still has a session
    second_bob.close()
    assert alice.next_event(MessageType.PRESENCE) == {"login": "bob", "status": "offline"}
