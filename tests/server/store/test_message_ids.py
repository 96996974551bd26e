"""Message ids taken from the database (``save_messages(number_ids=True)``), on each store.

The nodes of a cluster share one database and number their messages from its
``message_id`` counter, inside the transaction that stores them.
"""

from __future__ import annotations

import threading

import pytest

from guigui.server.store import UNNUMBERED, StoredMessage
from guigui.server.store import relational as relational_module
from guigui.server.store.migrations import load_migrations
from guigui.server.store.relational import RelationalStore, single_row
from tests.server.store.test_backup import opened

GENERAL = 1


def counter(store: RelationalStore) -> int:
    with store._reading() as execute:
        row = single_row(execute("SELECT value FROM counters WHERE name = 'message_id'"))
    return int(row["value"])


def new_user(store: RelationalStore, login: str) -> int:
    return store.create_user(login, "F", "L", f"{login}@example.org", b"h", 1, GENERAL).id


def said(sender: int, text: str, nonce: str | None = None) -> StoredMessage:
    return StoredMessage(UNNUMBERED, GENERAL, sender, None, text, 10, nonce, "10.0.0.1")


def test_a_numbered_batch_gets_consecutive_ids_in_order(database_url: str) -> None:
    with opened(database_url) as store:
        store.migrate()
        alice = new_user(store, "alice")
        # A single server numbered these itself, without moving the counter.
        store.save_messages([StoredMessage(n, GENERAL, alice, None, f"old {n}", 5) for n in (1, 2)])
        assert counter(store) == 0
        batch = store.save_messages([said(alice, f"new {n}") for n in range(5)], number_ids=True)
        assert [m.id for m in batch.messages] == [3, 4, 5, 6, 7]  # after the stored ones
        assert [m.text for m in batch.messages] == [f"new {n}" for n in range(5)]
        assert batch.first_time == [True] * 5
        assert counter(store) == 7
        more = store.save_messages([said(alice, "a"), said(alice, "b")], number_ids=True)
        assert [m.id for m in more.messages] == [8, 9]
        history = store.room_history(GENERAL, None, 20)
        assert [m.id for m in history] == list(range(1, 10))
        assert history[2:] == batch.messages + more.messages


def test_unnumbered_saves_leave_the_counter_alone(database_url: str) -> None:
    with opened(database_url) as store:
        store.migrate()
        alice = new_user(store, "alice")
        store.save_messages([StoredMessage(40, GENERAL, alice, None, "x", 5)])
        assert counter(store) == 0
        assert [m.id for m in store.room_history(GENERAL, None, 5)] == [40]


def test_a_repeated_nonce_numbered_gives_the_first_message_and_stores_nothing(
    database_url: str,
) -> None:
    with opened(database_url) as store:
        store.migrate()
        alice = new_user(store, "alice")
        first = store.save_messages([said(alice, "hello", "n1")], number_ids=True).messages[0]
        again = store.save_messages(
            [said(alice, "hello (resent)", "n1"), said(alice, "next")], number_ids=True
        )
        assert again.first_time == [False, True]
        assert again.messages[0] == first
        following = again.messages[1]
        assert following.id > first.id and following.text == "next"
        assert store.room_history(GENERAL, None, 10) == [first, following]
        assert store.load_snapshot(0).last_message_id == following.id


def test_two_nodes_numbering_at_once_never_share_an_id_and_commit_in_id_order(
    database_url: str,
) -> None:
    """Two connections, two threads: ids all distinct, and never visible out of order.

    A third connection keeps reading how many messages there are and the
    highest id: were a higher id committed before a lower one, it would see
    fewer messages than the highest id. (No message is refused, so ids have
    no gaps.)
    """
    batches, size = 40, 7
    with opened(database_url) as setup:
        setup.migrate()
        senders = [new_user(setup, "alice"), new_user(setup, "bob")]
    numbered: dict[int, list[list[int]]] = {sender: [] for sender in senders}
    errors: list[BaseException] = []
    writing = threading.Barrier(len(senders) + 1)
    done = threading.Event()

    def node(sender: int) -> None:
        try:
            with opened(database_url) as store:
                writing.wait()
                for batch in range(batches):
                    messages = [said(sender, f"{batch}.{n}", f"{batch}.{n}") for n in range(size)]
                    saved = store.save_messages(messages, number_ids=True)
                    assert saved.first_time == [True] * size
                    numbered[sender].append([m.id for m in saved.messages])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=node, args=(sender,)) for sender in senders]
    for thread in threads:
        thread.start()
    seen: list[tuple[int, int]] = []
    with opened(database_url) as reader:
        writing.wait()
        while not done.is_set():
            if not any(thread.is_alive() for thread in threads):
                done.set()
            with reader._reading() as execute:
                row = single_row(
                    execute("SELECT COUNT(*) AS counted, MAX(id) AS highest FROM messages")
                )
            seen.append((int(row["counted"]), int(row["highest"] or 0)))
    for thread in threads:
        thread.join()
    assert not errors, errors
    every_id = [i for batches_of in numbered.values() for ids in batches_of for i in ids]
    assert sorted(every_id) == list(range(1, len(senders) * batches * size + 1))
    for batches_of in numbered.values():
        for ids in batches_of:  # each batch: consecutive ids, in order
            assert ids == list(range(ids[0], ids[0] + size))
        assert [ids[0] for ids in batches_of] == sorted(ids[0] for ids in batches_of)
    assert all(counted == highest for counted, highest in seen), [
        pair for pair in seen if pair[0] != pair[1]
    ][:5]
    assert seen[-1] == (len(every_id), len(every_id))


def waiting_for_the_counter(watch: RelationalStore) -> bool:
    """Whether another connection is in an UPDATE of the counter (A, held, runs no query)."""
    with watch._reading() as execute:
        row = single_row(
            execute(
                "SELECT COUNT(*) AS waiting FROM information_schema.PROCESSLIST"
                " WHERE INFO LIKE 'UPDATE counters%' AND ID <> CONNECTION_ID()"
            )
        )
    return bool(row["waiting"])


def test_a_node_waits_for_the_commit_of_the_one_holding_the_counter() -> None:
    """MariaDB: the counter's row lock, taken when numbering, is held until COMMIT.

    Node A numbers a batch and is held before its INSERT; node B, numbering
    meanwhile, waits for A's commit (seen in the process list), then commits
    after it with the next ids.
    """
    from tests.support.databases import fresh_mysql_database

    with fresh_mysql_database() as url, opened(url) as a, opened(url) as b, opened(url) as watch:
        a.migrate()
        alice = new_user(a, "alice")
        numbered = threading.Event()
        release = threading.Event()
        finished: list[str] = []
        number = a._number

        def number_then_hold(execute: relational_module.Execute, messages: object) -> object:
            ids = number(execute, messages)  # type: ignore[arg-type]
            numbered.set()
            assert release.wait(30)
            return ids

        a._number = number_then_hold  # type: ignore[assignment, method-assign]

        def save(store: RelationalStore, name: str, text: str) -> None:
            store.save_messages([said(alice, text)], number_ids=True)
            finished.append(name)

        first = threading.Thread(target=save, args=(a, "a", "from a"))
        first.start()
        assert numbered.wait(30)
        second = threading.Thread(target=save, args=(b, "b", "from b"))
        second.start()
        while not waiting_for_the_counter(watch):  # what B does at once
            assert second.is_alive()
        release.set()
        first.join()
        second.join()
        assert finished == ["a", "b"]
        history = a.room_history(GENERAL, None, 10)
        assert [(m.id, m.text) for m in history] == [(1, "from a"), (2, "from b")]


def test_upgrading_a_version_3_database_seeds_the_counter_with_the_highest_id(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    up_to_3 = {dialect: load_migrations(dialect)[:3] for dialect in ("sqlite", "mysql")}
    with monkeypatch.context() as patched:
        patched.setattr(relational_module, "load_migrations", lambda dialect: up_to_3[dialect])
        with opened(database_url) as old:
            old.migrate()
            assert old.schema_version() == 3
            alice = new_user(old, "alice")
            old.save_messages([StoredMessage(n, GENERAL, alice, None, "old", 1) for n in (5, 9)])
    with opened(database_url) as store:
        store.migrate()
        assert store.schema_version() == store.latest_schema_version() >= 4
        assert counter(store) == 9
        saved = store.save_messages([said(alice, "new")], number_ids=True)
        assert [m.id for m in saved.messages] == [10]


def test_a_fresh_database_starts_the_counter_at_zero(database_url: str) -> None:
    with opened(database_url) as store:
        store.migrate()
        assert counter(store) == 0
        alice = new_user(store, "alice")
        assert store.save_messages([said(alice, "x")], number_ids=True).messages[0].id == 1
