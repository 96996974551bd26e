"""Read markers and conversation lists (CONVERSATIONS, READ), on each store implementation."""

from __future__ import annotations

import pytest

from guigui.common.protocol import UNREAD_COUNT_CAP
from guigui.server.store import (
    ReadStateRecord,
    Store,
    StoredMessage,
    UserRecord,
    open_store,
    relational,
)
from guigui.server.store.migrations import load_migrations
from guigui.server.store.mysql_store import MySQLStore
from guigui.server.store.sqlite_store import SQLiteStore

GENERAL, BLABLA = 1, 2


def user(store: Store, login: str) -> UserRecord:
    return store.create_user(login, "F", "L", f"{login}@example.org", b"h", 1000, GENERAL)


def user_of_an_old_schema(store: relational.RelationalStore, login: str) -> int:
    """A user (member of Général) as schemas before 3 stored it: ``create_user`` is for now."""
    with store._transaction() as execute:
        user_id = int(
            execute(
                "INSERT INTO users (login, login_key, email, email_key, first_name, last_name,"
                " password_hash, created_at) VALUES (?, ?, ?, ?, 'F', 'L', ?, 1000)",
                (login, login, f"{login}@example.org", f"{login}@example.org", b"h"),
            ).lastrowid
        )
        execute(
            "INSERT INTO memberships (user_id, room_id, joined_at) VALUES (?, ?, 1000)",
            (user_id, GENERAL),
        )
    return user_id


def room_message(message_id: int, sender: int, room: int = GENERAL) -> StoredMessage:
    return StoredMessage(message_id, room, sender, None, f"m{message_id}", 1000 + message_id)


def direct(message_id: int, sender: int, to: int) -> StoredMessage:
    return StoredMessage(message_id, None, sender, to, f"d{message_id}", 1000 + message_id)


def test_a_new_member_has_read_what_was_said_before_joining(store: Store) -> None:
    alice = user(store, "alice")
    store.save_messages([room_message(1, alice.id), room_message(2, alice.id, BLABLA)])
    bob = user(store, "bob")  # joins Général at registration, after message 1
    store.add_membership(bob.id, BLABLA)
    assert store.room_read_states(bob.id, [GENERAL, BLABLA]) == [
        ReadStateRecord(GENERAL, None, 1, 1001, 1, 0),
        ReadStateRecord(BLABLA, None, 2, 1002, 2, 0),
    ]


def test_unread_counts_messages_from_others_after_the_marker(store: Store) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    store.save_messages([room_message(i, alice.id if i % 2 else bob.id) for i in range(1, 8)])
    # bob: messages 1, 3, 5, 7 are alice's; his own (2, 4, 6) are never unread
    assert store.room_read_states(bob.id, [GENERAL]) == [
        ReadStateRecord(GENERAL, None, 7, 1007, 0, 4)
    ]
    marked = store.mark_read(bob.id, GENERAL, None, 4)
    assert marked.moved and marked.state == ReadStateRecord(GENERAL, None, 7, 1007, 4, 2)


def test_the_marker_only_moves_forward_and_only_to_real_messages(store: Store) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    store.save_messages([room_message(1, alice.id), direct(2, alice.id, bob.id)])
    store.save_messages([room_message(5, alice.id)])
    assert store.mark_read(bob.id, GENERAL, None, 3).state.read == 1  # 3 is no message of the room
    assert not store.mark_read(bob.id, GENERAL, None, 1).moved  # idempotent
    assert store.mark_read(bob.id, GENERAL, None, 2**63 - 1).state.read == 5  # the newest there
    back = store.mark_read(bob.id, GENERAL, None, 0)
    assert not back.moved and back.state.read == 5


def test_direct_conversations_newest_first_with_paging(store: Store) -> None:
    alice, bob, carol, dan = (user(store, name) for name in ("alice", "bob", "carol", "dan"))
    store.save_messages(
        [
            direct(1, bob.id, alice.id),
            direct(2, alice.id, carol.id),
            direct(3, dan.id, alice.id),
            direct(4, alice.id, bob.id),  # bob's conversation is now the newest
            direct(5, carol.id, dan.id),  # not alice's
            room_message(6, bob.id),
        ]
    )
    states = store.direct_read_states(alice.id, None, 10)
    assert [(s.other_id, s.last_id, s.last_ts) for s in states] == [
        (bob.id, 4, 1004),
        (dan.id, 3, 1003),
        (carol.id, 2, 1002),
    ]
    assert [s.unread for s in states] == [1, 1, 0]  # bob's 1 and dan's 3 are unread
    assert [s.other_id for s in store.direct_read_states(alice.id, None, 2)] == [bob.id, dan.id]
    assert [s.other_id for s in store.direct_read_states(alice.id, 3, 2)] == [carol.id]
    assert store.direct_read_states(alice.id, 2, 10) == []
    marked = store.mark_read(alice.id, None, bob.id, 4)
    assert marked.moved and marked.state == ReadStateRecord(None, bob.id, 4, 1004, 4, 0)
    assert store.direct_read_states(bob.id, None, 10)[0].unread == 1  # bob has not read 4


def test_writing_to_oneself_is_a_conversation_never_unread(store: Store) -> None:
    alice = user(store, "alice")
    store.save_messages([direct(1, alice.id, alice.id)])
    assert store.direct_read_states(alice.id, None, 10) == [
        ReadStateRecord(None, alice.id, 1, 1001, 0, 0)
    ]


def test_unread_counting_stops_at_the_cap(store: Store) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    store.save_messages([direct(i, alice.id, bob.id) for i in range(1, UNREAD_COUNT_CAP + 3)])
    assert store.direct_read_states(bob.id, None, 1)[0].unread == UNREAD_COUNT_CAP


def test_upgrading_a_version_2_database_counts_the_past_as_read(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 3 starts every marker at the newest message: nobody finds the past unread."""
    first_two = [load_migrations(dialect)[:2] for dialect in ("sqlite", "mysql")]
    with monkeypatch.context() as patched:
        patched.setattr(
            relational, "load_migrations", lambda dialect: first_two[dialect == "mysql"]
        )
        old = open_store(database_url)
        assert isinstance(old, relational.RelationalStore)
        old.migrate()
        assert old.schema_version() == 2
        alice, bob = user_of_an_old_schema(old, "alice"), user_of_an_old_schema(old, "bob")
        old.save_messages([room_message(1, alice), direct(2, alice, bob), direct(3, bob, alice)])
        old.close()
    store = open_store(database_url)
    try:
        store.migrate()
        assert store.room_read_states(bob, [GENERAL]) == [
            ReadStateRecord(GENERAL, None, 1, 1001, 1, 0)
        ]
        assert store.direct_read_states(bob, None, 10) == [
            ReadStateRecord(None, alice, 3, 1003, 2, 0)
        ]
        assert store.direct_read_states(alice, None, 10)[0].unread == 0
    finally:
        store.close()


def test_listing_received_direct_messages_uses_an_index(store: Store) -> None:
    """Who wrote to a user: a range of ``messages_to``, never a scan of every message."""
    query = "SELECT sender_id, MAX(id) FROM messages WHERE recipient_id = 7 GROUP BY sender_id"
    if isinstance(store, SQLiteStore):
        plan = " ".join(str(row[-1]) for row in store._db.execute(f"EXPLAIN QUERY PLAN {query}"))
        assert "messages_to" in plan and "SCAN messages" not in plan, plan
    else:
        assert isinstance(store, MySQLStore)
        with store._reading() as execute:
            row = execute(f"EXPLAIN {query}").fetchone()
        # EXPLAIN's ``type`` and ``key``: an index range, on a key led by recipient_id
        assert row is not None and row["type"] != "ALL" and row["key"] is not None, row
