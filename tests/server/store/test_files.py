"""The files of the Store interface (issue 18), on SQLite and on MariaDB."""

from __future__ import annotations

from guigui.server.store import FileRecord, FileUsage, Store, StoredMessage, UserRecord

GENERAL = 1
SHA_A = "a" * 64
SHA_B = "b" * 64


def user(store: Store, login: str) -> UserRecord:
    return store.create_user(
        login, "First", "Last", f"{login}@example.org", b"$2b$04$hash", 1000, GENERAL
    )


def new_file(
    owner: int, sha256: str = SHA_A, size: int = 10, *, room: int | None = GENERAL,
    to: int | None = None, ts: int = 5000,
) -> FileRecord:  # fmt: skip
    return FileRecord(0, sha256, size, "plan.png", "image/png", owner, room, to, ts)


def file_message(
    message_id: int, owner: int, *, room: int | None = GENERAL, to: int | None = None,
    nonce: str | None = None, ts: int = 5000,
) -> StoredMessage:  # fmt: skip
    return StoredMessage(message_id, room, owner, to, "plan.png", ts, nonce, "10.0.0.1")


def test_a_file_message_comes_back_with_its_file_in_every_history(store: Store) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    store.save_messages([StoredMessage(1, GENERAL, alice.id, None, "text", 1000)])
    saved = store.save_file_message(new_file(alice.id), file_message(2, alice.id))
    assert saved.first_time == [True]
    stored = saved.messages[0]
    assert stored.id == 2 and stored.file is not None and stored.file.id >= 1
    assert stored.file == FileRecord(
        stored.file.id, SHA_A, 10, "plan.png", "image/png", alice.id, GENERAL, None, 5000
    )
    history = store.room_history(GENERAL, None, 10)
    assert [m.file for m in history] == [None, stored.file]
    assert store.messages_after(0, 10)[1].file == stored.file
    assert store.find_messages(alice.id, None, None, 10)[0].file == stored.file
    direct = store.save_file_message(
        new_file(alice.id, SHA_B, room=None, to=bob.id),
        file_message(3, alice.id, room=None, to=bob.id),
    ).messages[0]
    assert store.direct_history(bob.id, alice.id, None, 10)[0].file == direct.file
    assert store.file(stored.file.id) == stored.file
    assert store.file(999) is None


def test_a_repeated_nonce_stores_no_second_file(store: Store) -> None:
    alice = user(store, "alice")
    first = store.save_file_message(new_file(alice.id), file_message(1, alice.id, nonce="n"))
    again = store.save_file_message(new_file(alice.id), file_message(2, alice.id, nonce="n"))
    assert again.first_time == [False] and again.messages == first.messages
    assert store.file_usage() == FileUsage(1, 10)


def test_the_store_numbers_a_file_message_when_asked(store: Store) -> None:
    alice = user(store, "alice")
    store.save_messages([StoredMessage(0, GENERAL, alice.id, None, "t", 1000)], number_ids=True)
    saved = store.save_file_message(new_file(alice.id), file_message(0, alice.id), number_ids=True)
    assert saved.messages[0].id == 2


def test_usage_quota_list_and_delete(store: Store) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    one = store.save_file_message(new_file(alice.id, size=100), file_message(1, alice.id))
    store.save_file_message(new_file(alice.id, SHA_B, size=50), file_message(2, alice.id))
    store.save_file_message(new_file(bob.id, size=100), file_message(3, bob.id))
    assert store.file_bytes_of(alice.id) == 150 and store.file_bytes_of(bob.id) == 100
    assert store.file_usage() == FileUsage(3, 250)
    assert [f.size for f in store.list_files()] == [100, 50, 100]
    assert [f.sha256 for f in store.list_files(alice.id, limit=1)] == [SHA_B]
    file = one.messages[0].file
    assert file is not None
    deleted = store.delete_file(file.id, 7000)
    assert deleted is not None and deleted.deleted_at == 7000 and deleted.id == file.id
    assert store.delete_file(file.id) is None and store.delete_file(999) is None
    assert store.file_bytes_of(alice.id) == 50
    assert store.file_usage() == FileUsage(2, 150)
    assert store.sha256_in_use(SHA_A)  # bob's file has the same content
    assert store.room_history(GENERAL, None, 10)[0].file is None  # the message stays, bare
    assert store.list_files(alice.id) == [f for f in store.list_files() if f.owner_id == alice.id]


def test_erasure_and_retention_give_the_contents_nobody_uses(store: Store) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    store.save_file_message(new_file(alice.id), file_message(1, alice.id, ts=1000))
    store.save_file_message(new_file(alice.id, SHA_B, ts=9000), file_message(2, alice.id, ts=9000))
    store.save_file_message(new_file(bob.id, ts=9000), file_message(3, bob.id, ts=9000))
    assert store.delete_files_of(alice.id, 10_000) == [SHA_B]  # SHA_A: bob's file uses it
    assert not store.sha256_in_use(SHA_B) and store.sha256_in_use(SHA_A)
    assert "files_sent" in store.export_user(alice.id)
    assert store.delete_messages_before(5000) == 1
    assert store.delete_files_before(5000) == []  # alice's old file: SHA_A is bob's too
    assert len(store.room_history(GENERAL, None, 10)) == 2
    assert store.delete_messages_before(10_000) == 2
    assert store.delete_files_before(10_000) == [SHA_A]
    assert store.file_usage() == FileUsage(0, 0) and store.list_files() == []
