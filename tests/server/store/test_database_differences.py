"""What differs between SQLite and MariaDB stays inside the store: each test runs on both.

The same calls must give the same answers whatever the database: an UPDATE's
row count, and rows read by column name into the same records.
"""

from __future__ import annotations

from guigui.common.protocol import SanctionKind
from guigui.server.store import SanctionRecord, Store, StoredMessage
from guigui.server.store.relational import (
    SELECT_SANCTIONS,
    RelationalStore,
    _message,
    _sanction,
    single_row,
)
from tests.server.store.test_store import GENERAL, user


def relational(store: Store) -> RelationalStore:
    assert isinstance(store, RelationalStore)
    return store


def test_an_update_writing_the_values_a_row_holds_still_counts_that_row(store: Store) -> None:
    # MariaDB's default counts the rows an UPDATE changed (0 here), SQLite the
    # rows it matched (1): the store asks MariaDB for rows matched.
    alice = user(store, "alice")
    with relational(store)._transaction() as execute:
        same = execute("UPDATE users SET first_name = ? WHERE id = ?", ("First", alice.id))
        assert same.rowcount == 1
        changed = execute("UPDATE users SET first_name = ? WHERE id = ?", ("Alice", alice.id))
        assert changed.rowcount == 1
        missing = execute("UPDATE users SET first_name = ? WHERE id = ?", ("Alice", 999))
        assert missing.rowcount == 0


def test_lifting_a_sanction_twice_finds_it_twice_and_keeps_the_first_lifting(
    store: Store,
) -> None:
    ban = store.add_sanction(SanctionKind.BAN, "bob", None, None, "spam", 100, "chief")
    assert store.lift_sanction(ban.id, 200, "chief") is True
    # The second UPDATE matches the row but changes nothing in it.
    assert store.lift_sanction(ban.id, 300, "deputy") is True
    assert store.lift_sanction(ban.id + 1, 300, "deputy") is False
    with relational(store)._reading() as execute:
        row = execute(f"{SELECT_SANCTIONS} WHERE id = ?", (ban.id,)).fetchone()
    assert row is not None
    assert _sanction(row) == SanctionRecord(
        ban.id, SanctionKind.BAN, "bob", None, None, "spam", 100, "chief", 200, "chief"
    )


def test_rows_read_by_name_give_the_same_records_whatever_the_column_order(
    store: Store,
) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    sent = [
        StoredMessage(1, GENERAL, alice.id, None, "é 😀 %s ?", 1001, "n1", "10.0.0.1"),
        StoredMessage(2, None, alice.id, bob.id, "to bob", 1002, None, None),
    ]
    assert store.save_messages(sent).messages == sent
    with relational(store)._reading() as execute:
        shuffled = execute(
            "SELECT ip, nonce, ts, text, recipient_id, sender_id, room_id, id"
            " FROM messages ORDER BY id"
        ).fetchall()
        aggregate = single_row(
            execute("SELECT COUNT(*) AS counted, MAX(id) AS newest, NULL AS missing FROM messages")
        )
    assert [_message(row) for row in shuffled] == sent
    assert (aggregate["counted"], aggregate["newest"], aggregate["missing"]) == (2, 2, None)
    assert store.room_history(GENERAL, None, 10) == [sent[0]]
    assert store.direct_history(bob.id, alice.id, None, 10) == [sent[1]]
    assert store.find_messages(alice.id, None, None, 10) == [sent[1], sent[0]]
