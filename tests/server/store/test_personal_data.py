"""Personal data in the store: retention, export and erasure (on SQLite and MariaDB)."""

from __future__ import annotations

import json

import pytest

from guigui.common.protocol import SanctionKind
from guigui.server.store import Store, StoredMessage
from tests.server.store.test_store import GENERAL, IT, user

DAY = 86_400_000


def say(message_id: int, sender: int, ts: int, *, room: int | None = GENERAL, to: int | None = None,
        ip: str = "10.0.0.7") -> StoredMessage:  # fmt: skip
    return StoredMessage(message_id, room, sender, to, f"m{message_id}", ts, None, ip)


def test_retention_deletes_the_older_messages_in_batches_and_keeps_the_rest(
    store: Store,
) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    old = [say(i, alice.id, ts=i) for i in range(1, 26)]
    direct = [say(26, bob.id, ts=26, room=None, to=alice.id)]
    recent = [say(i, alice.id, ts=10 * DAY + i) for i in range(27, 31)]
    store.save_messages(old + direct + recent)
    assert store.delete_messages_before(10 * DAY, batch=7) == 26
    left = store.room_history(GENERAL, None, 100)
    assert [m.id for m in left] == [27, 28, 29, 30]
    assert store.direct_history(alice.id, bob.id, None, 100) == []
    assert store.delete_messages_before(10 * DAY) == 0
    assert store.load_snapshot(0).last_message_id == 30


def test_an_export_holds_what_is_kept_about_the_user_and_nothing_of_others(store: Store) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    store.add_membership(alice.id, IT)
    store.create_access_request(alice.id, IT, 5)
    store.save_messages(
        [
            say(1, alice.id, ts=10),
            say(2, bob.id, ts=11, room=None, to=alice.id),
            say(3, alice.id, ts=12, room=None, to=bob.id),
            say(4, bob.id, ts=13),
        ]
    )
    store.save_token(b"t" * 32, alice.id, 20, 30)
    store.log_connection_start(alice.id, "alice", "10.0.0.7", 40)
    store.add_sanction(SanctionKind.KICK, "alice", "10.0.0.7", 99, "flood", 50, "chief")
    export = store.export_user(alice.id)
    json.dumps(export)  # plain JSON values
    assert export["user"]["login"] == "alice" and "password_hash" not in export["user"]
    assert export["user"]["email"] == "alice@example.org"
    assert [r["room"] for r in export["rooms"]] == ["Général", "Informatique"]
    assert export["access_requests"][0]["room"] == "Informatique"
    assert [(m["id"], m.get("room"), m.get("to"), m["ip"]) for m in export["messages_sent"]] == [
        (1, "Général", None, "10.0.0.7"),
        (3, None, "bob", "10.0.0.7"),
    ]
    assert [(m["id"], m["from"]) for m in export["direct_messages_received"]] == [(2, "bob")]
    assert export["sanctions"][0]["reason"] == "flood"
    assert export["connections"][0]["ip"] == "10.0.0.7"
    assert export["sessions"][0]["expires_at"] == 30
    assert "m4" not in json.dumps(export), "another user's room message"
    with pytest.raises(LookupError):
        store.export_user(999)


def test_erasing_a_user_keeps_their_messages_under_a_placeholder(store: Store) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    store.add_membership(alice.id, IT)
    store.create_access_request(alice.id, IT, 5)
    store.save_messages([say(1, alice.id, ts=10), say(2, alice.id, ts=11, room=None, to=bob.id)])
    store.save_token(b"t" * 32, alice.id, 20, 10**15)
    store.log_connection_start(alice.id, "alice", "10.0.0.7", 40)
    store.add_sanction(SanctionKind.BAN, "alice", None, None, "spam", 50, "chief")
    placeholder = store.erase_user(alice.id)
    assert placeholder == f"deleted#{alice.id}"
    snapshot = store.load_snapshot(0)
    erased = next(u for u in snapshot.users if u.id == alice.id)
    assert (erased.login, erased.first_name, erased.last_name) == (placeholder, "", "")
    assert "alice" not in erased.email and erased.password_hash == b"!"
    assert all(user_id != alice.id for user_id, _ in snapshot.memberships)
    assert snapshot.pending_requests == []
    assert [s.login for s in snapshot.active_sanctions] == [placeholder]
    assert store.find_token(b"t" * 32, 0) is None
    assert store.connection_log(10) == []
    kept = store.room_history(GENERAL, None, 10) + store.direct_history(bob.id, alice.id, None, 10)
    assert [(m.text, m.sender_id, m.ip) for m in kept] == [
        ("m1", alice.id, None),
        ("m2", alice.id, None),
    ]
    again = user(store, "alice")  # the login and the email are free again
    assert again.id != alice.id
    with pytest.raises(LookupError):
        store.erase_user(999)
