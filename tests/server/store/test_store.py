"""Every method of the Store interface, run against each implementation."""

from __future__ import annotations

from pathlib import Path

import pymysql
import pytest

from guigui.common.protocol import RoomAccess, SanctionKind
from guigui.server.store import (
    DuplicateKey,
    Store,
    StoredMessage,
    StoreError,
    StoreUnavailable,
    UserRecord,
    missing_database,
    open_store,
)
from guigui.server.store.mysql_store import MySQLStore
from guigui.server.store.provisioning import init_database, needs_app_password
from guigui.server.store.relational import IntegrityViolation
from guigui.server.store.sqlite_store import SQLiteStore

HOSTILE = '\'; DROP TABLE messages; -- 😀🎉 "q" \\ %s ? \u0000end'
GENERAL, BLABLA, IT = 1, 2, 4


def user(store: Store, login: str, email: str | None = None) -> UserRecord:
    return store.create_user(
        login, "First", "Last", email or f"{login}@example.org", b"$2b$04$hash", 1000, GENERAL
    )


def message(
    message_id: int,
    sender: int,
    room: int | None = GENERAL,
    to: int | None = None,
    nonce: str | None = None,
    ip: str | None = None,
) -> StoredMessage:
    text = f"m{message_id}"
    return StoredMessage(message_id, room, sender, to, text, 1000 + message_id, nonce, ip)


def test_fresh_store_has_the_five_rooms_in_order(store: Store) -> None:
    snapshot = store.load_snapshot(0)
    assert [(r.name, r.access) for r in snapshot.rooms] == [
        ("Général", RoomAccess.OPEN),
        ("Blabla", RoomAccess.ON_REQUEST),
        ("Comptabilité", RoomAccess.APPROVAL),
        ("Informatique", RoomAccess.APPROVAL),
        ("Marketing", RoomAccess.APPROVAL),
    ]
    assert snapshot.users == [] and snapshot.last_message_id == 0


def test_migrate_twice_is_safe(store: Store) -> None:
    store.migrate()
    assert len(store.load_snapshot(0).rooms) == 5


def test_create_user_adds_the_arrival_membership(store: Store) -> None:
    alice = user(store, "Alice")
    snapshot = store.load_snapshot(0)
    assert snapshot.users == [alice]
    assert snapshot.memberships == [(alice.id, GENERAL)]


def test_a_user_is_read_back_by_id_as_stored(store: Store) -> None:
    alice = user(store, "alice")
    assert store.user(alice.id) == alice
    assert store.user(alice.id + 1000) is None


def test_messages_after_an_id_come_in_id_order_rooms_and_direct(store: Store) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    store.save_messages(
        [
            StoredMessage(1, GENERAL, alice.id, None, "one", 1, None, "10.0.0.1"),
            StoredMessage(2, None, alice.id, bob.id, "two", 2, None, "10.0.0.1"),
            StoredMessage(3, GENERAL, bob.id, None, "three", 3, None, "10.0.0.2"),
        ]
    )
    assert [m.text for m in store.messages_after(1, 10)] == ["two", "three"]
    assert [m.text for m in store.messages_after(0, 2)] == ["one", "two"]
    assert store.messages_after(3, 10) == []


def test_duplicate_login_and_email_are_case_insensitive(store: Store) -> None:
    user(store, "Alice", "alice@example.org")
    with pytest.raises(DuplicateKey) as error:
        user(store, "ALICE", "other@example.org")
    assert error.value.field == "login"
    with pytest.raises(DuplicateKey) as error:
        user(store, "bob", "ALICE@example.org")
    assert error.value.field == "email"
    assert len(store.load_snapshot(0).users) == 1  # nothing half-written


def test_memberships(store: Store) -> None:
    alice = user(store, "alice")
    store.add_membership(alice.id, BLABLA)
    store.add_membership(alice.id, BLABLA)  # idempotent
    assert sorted(store.load_snapshot(0).memberships) == [(alice.id, GENERAL), (alice.id, BLABLA)]
    store.remove_membership(alice.id, BLABLA)
    store.remove_membership(alice.id, BLABLA)
    assert store.load_snapshot(0).memberships == [(alice.id, GENERAL)]


def test_access_requests(store: Store) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    first = store.create_access_request(alice.id, IT, 5)
    second = store.create_access_request(bob.id, IT, 6)
    assert [r.id for r in store.load_snapshot(0).pending_requests] == [first, second]
    store.decide_access_request(first, True, "chief", 7)
    store.decide_access_request(second, False, "chief", 8)
    snapshot = store.load_snapshot(0)
    assert snapshot.pending_requests == []
    assert (alice.id, IT) in snapshot.memberships and (bob.id, IT) not in snapshot.memberships
    with pytest.raises(LookupError):
        store.decide_access_request(first, True, "chief", 9)


def test_save_messages_and_room_history_pages(store: Store) -> None:
    alice = user(store, "alice")
    saved = store.save_messages([message(n, alice.id) for n in range(1, 13)])
    assert [m.id for m in saved.messages] == list(range(1, 13))
    assert saved.first_time == [True] * 12
    assert store.load_snapshot(0).last_message_id == 12
    page = store.room_history(GENERAL, None, 5)
    assert [m.id for m in page] == [8, 9, 10, 11, 12]
    assert [m.id for m in store.room_history(GENERAL, 8, 5)] == [3, 4, 5, 6, 7]
    assert [m.id for m in store.room_history(GENERAL, 3, 5)] == [1, 2]
    assert store.room_history(BLABLA, None, 5) == []
    assert page[0] == message(8, alice.id)


def test_repeated_nonce_returns_the_first_message(store: Store) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    first = message(1, alice.id, nonce="n")
    saved = store.save_messages(
        [first, message(2, alice.id, nonce="n"), message(3, bob.id, nonce="n")]
    )
    assert saved.messages == [first, first, message(3, bob.id, nonce="n")]
    assert saved.first_time == [True, False, True]
    again = store.save_messages([message(4, alice.id, nonce="n")])
    assert again.messages == [first] and again.first_time == [False]
    assert [m.id for m in store.room_history(GENERAL, None, 10)] == [1, 3]


def test_messages_keep_the_sender_ip_in_every_history(store: Store) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    sent = [
        message(1, alice.id, ip="10.0.0.1"),
        message(2, alice.id, None, bob.id, ip="2001:db8::1"),
        message(3, bob.id),  # no IP known (stored before the IP was kept)
    ]
    store.save_messages(sent)
    assert store.room_history(GENERAL, None, 10) == [sent[0], sent[2]]
    assert store.direct_history(bob.id, alice.id, None, 10) == [sent[1]]
    assert [m.ip for m in store.room_history(GENERAL, None, 10)] == ["10.0.0.1", None]


def test_find_messages_by_sender_by_ip_and_room_newest_first(store: Store) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    store.save_messages(
        [
            message(1, alice.id, ip="10.0.0.1"),
            message(2, bob.id, ip="10.0.0.1"),
            message(3, alice.id, BLABLA, ip="10.0.0.2"),
            message(4, alice.id, None, bob.id, ip="10.0.0.1"),
            message(5, bob.id, ip="10.0.0.2"),
            message(6, alice.id),  # stored before the IP was kept
        ]
    )

    def ids(sender: int | None, ip: str | None, room: int | None, limit: int = 10) -> list[int]:
        return [m.id for m in store.find_messages(sender, ip, room, limit)]

    assert ids(alice.id, None, None) == [6, 4, 3, 1]
    assert ids(None, "10.0.0.1", None) == [4, 2, 1]
    assert ids(None, "10.0.0.2", GENERAL) == [5]
    assert ids(alice.id, "10.0.0.1", None) == [4, 1]
    assert ids(alice.id, None, None, limit=2) == [6, 4]
    assert ids(None, HOSTILE, None) == [] and ids(None, "10.0.0.9", None) == []
    assert store.find_messages(None, "10.0.0.2", BLABLA, 10) == [
        message(3, alice.id, BLABLA, ip="10.0.0.2")
    ]


def test_direct_history_mixes_both_directions_only(store: Store) -> None:
    alice, bob, carol = user(store, "alice"), user(store, "bob"), user(store, "carol")
    store.save_messages(
        [
            message(1, alice.id, None, bob.id),
            message(2, bob.id, None, alice.id),
            message(3, carol.id, None, alice.id),
            message(4, alice.id),
            message(5, alice.id, None, bob.id),
        ]
    )
    assert [m.id for m in store.direct_history(alice.id, bob.id, None, 10)] == [1, 2, 5]
    assert [m.id for m in store.direct_history(bob.id, alice.id, 5, 1)] == [2]
    assert [m.id for m in store.direct_history(alice.id, bob.id, None, 2)] == [2, 5]
    store.save_messages([message(6, alice.id, None, alice.id)])
    assert [m.id for m in store.direct_history(alice.id, alice.id, None, 10)] == [6]


def test_hostile_text_round_trips_everywhere(store: Store) -> None:
    text = HOSTILE.replace("\u0000", "")
    bobby = store.create_user("bobby", text[:64], "😀", "b@example.org", b"h", 1, GENERAL)
    store.save_messages([StoredMessage(1, GENERAL, bobby.id, None, HOSTILE, 2, HOSTILE[:128])])
    assert store.room_history(GENERAL, None, 1)[0].text == HOSTILE
    assert store.load_snapshot(0).users[0].first_name == text[:64]
    store.add_sanction(SanctionKind.BAN, text, None, None, HOSTILE, 3, text)
    assert store.load_snapshot(4).active_sanctions[0].reason == HOSTILE
    store.add_audit(text, text, text, HOSTILE, 5)
    assert store.list_audit(1)[0].details == HOSTILE


def test_tokens(store: Store) -> None:
    alice = user(store, "alice")
    store.save_token(b"h1", alice.id, 0, 100)
    store.save_token(b"h2", alice.id, 0, 100)
    assert store.find_token(b"h1", 50) == alice.id
    assert store.find_token(b"h1", 100) is None  # expired
    assert store.find_token(b"nope", 50) is None
    store.revoke_token(b"h1", 60)
    store.revoke_token(b"unknown", 60)
    assert store.find_token(b"h1", 70) is None
    assert store.find_token(b"h2", 70) == alice.id


def test_sanctions_in_force(store: Store) -> None:
    kick = store.add_sanction(SanctionKind.KICK, "alice", "10.0.0.1", 500, "calm", 100, "chief")
    ban = store.add_sanction(SanctionKind.BAN, None, "10.0.0.2", None, "", 100, "chief")
    lifted = store.add_sanction(SanctionKind.BAN, "bob", None, None, "", 100, "chief")
    store.lift_sanction(lifted.id, 200, "chief")
    assert store.load_snapshot(300).active_sanctions == [kick, ban]
    assert store.load_snapshot(500).active_sanctions == [ban]


def test_a_check_constraint_failure_is_a_fault_of_the_row_not_of_the_database(
    store: Store,
) -> None:
    # PyMySQL reports a failed CHECK as an OperationalError, the class of a
    # lost connection: the store must not take it for one.
    with pytest.raises(IntegrityViolation):
        store.add_sanction(SanctionKind.KICK, None, None, 500, "nobody", 100, "chief")
    assert store.add_sanction(SanctionKind.KICK, "alice", None, 500, "", 100, "chief").id


def test_connection_log(store: Store) -> None:
    alice = user(store, "alice")
    log_id = store.log_connection_start(alice.id, "alice", "10.0.0.7", 100)
    store.log_connection_end(log_id, 200)
    store.log_connection_start(alice.id, "alice", "10.0.0.8", 300)
    assert store.connection_log(10) == [
        ("alice", "10.0.0.8", 300, None),
        ("alice", "10.0.0.7", 100, 200),
    ]


def test_admins_and_audit(store: Store) -> None:
    admin = store.create_admin("Chief", b"$2b$hash", 1)
    assert store.find_admin("chief") == admin
    assert store.find_admin("nobody") is None
    with pytest.raises(DuplicateKey):
        store.create_admin("CHIEF", b"x", 2)
    store.add_audit("Chief", "kick", "alice", "10m", 10)
    store.add_audit("Chief", "ban", "bob", "", 11)
    assert [a.action for a in store.list_audit(10)] == ["ban", "kick"]
    assert len(store.list_audit(1)) == 1


def test_room_history_uses_the_index(store: Store) -> None:
    query = "SELECT id FROM messages WHERE room_id = 1 AND id < 100 ORDER BY id DESC LIMIT 10"
    if isinstance(store, SQLiteStore):
        plan = " ".join(str(row[-1]) for row in store._db.execute(f"EXPLAIN QUERY PLAN {query}"))
        assert "messages_by_room" in plan and "SCAN messages" not in plan
    else:
        assert isinstance(store, MySQLStore)
        with store._reading() as execute:
            row = execute(f"EXPLAIN {query}").fetchone()
        assert row is not None and row["key"] == "messages_by_room", row


def test_search_by_ip_uses_the_index(store: Store) -> None:
    query = "SELECT id FROM messages WHERE ip = '10.0.0.1' ORDER BY id DESC LIMIT 10"
    if isinstance(store, SQLiteStore):
        plan = " ".join(str(row[-1]) for row in store._db.execute(f"EXPLAIN QUERY PLAN {query}"))
        assert "messages_by_ip" in plan and "TEMP B-TREE" not in plan, plan
    else:
        assert isinstance(store, MySQLStore)
        with store._reading() as execute:
            row = execute(f"EXPLAIN {query}").fetchone()
        assert row is not None and row["key"] == "messages_by_ip", row


def test_a_database_opened_read_only_refuses_writes_cleanly(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "guigui.db")
    store.migrate()
    store._db.execute("PRAGMA query_only = ON")
    # Whatever the rows, nothing can be written: the database is unavailable.
    with pytest.raises(StoreUnavailable):
        store.save_messages([message(1, 1)])
    with pytest.raises(StoreUnavailable):
        store.add_membership(1, BLABLA)
    store.close()


def test_unknown_urls() -> None:
    with pytest.raises(ValueError):
        open_store("postgres://x")
    with pytest.raises(ValueError):
        open_store("sqlite://")


def test_what_depends_on_the_database_kind_is_answered_by_the_store(tmp_path: Path) -> None:
    absent = tmp_path / "absent.db"
    assert missing_database(f"sqlite:///{absent}") == absent
    assert not absent.exists()  # asked without opening (which would create it)
    assert missing_database("mysql://u:p@127.0.0.1:3306/sae_r309") is None
    assert needs_app_password("mysql://u:p@127.0.0.1:3306/sae_r309")
    assert not needs_app_password(f"sqlite:///{absent}")


def test_provisioning_an_unreachable_server_is_a_store_error_not_a_driver_error() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    with pytest.raises(StoreError) as error:
        init_database("mysql://root:pw@127.0.0.1:1/sae_r309", "a password")
    assert not isinstance(error.value, pymysql.err.MySQLError)
