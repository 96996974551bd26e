"""The admin's files: listed, filtered by owner, deleted (audited), storage used.

Files are uploaded over real sockets (FILE_OFFER, FILE_CHUNK, FILE_SEND) to a
real server on SQLite and on MariaDB; the admin API is driven as the panel and
the console drive it, through its futures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from guigui.common.file_frames import encode_chunk
from guigui.common.file_types import HEAD_SIZE, detect_type
from guigui.common.i18n import set_language
from guigui.common.protocol import MessageType
from guigui.server.admin.api import AdminAPI, AdminError
from guigui.server.admin.file_list import ListedFile, describe_file, size_words, storage_words
from guigui.server.clock import now_ms
from guigui.server.config import files_directory
from guigui.server.handoff import Done, run_on_loop
from guigui.server.hashing import hash_password
from guigui.server.store import AdminRecord
from tests.conftest import RunningServer
from tests.support.wire import WireClient

LoggedIn = Callable[[str], WireClient]
TIMEOUT = 10

PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 200
"""Enough of a PNG for the server's type check (its signature), 51,208 bytes."""
QUOTE = b"%PDF-1.4\n" + b"devis " * 20_000
"""A PDF by its signature, 120,009 bytes: more than one chunk."""


def upload(
    client: WireClient, name: str, content: bytes, *, room: str | None = None, to: str | None = None
) -> dict[str, Any]:
    """Send a file as a client does (offer, chunks, send); the stored message."""
    where = {"room": room} if room is not None else {"to": to}
    offer = client.ok(
        MessageType.FILE_OFFER,
        name=name,
        size=len(content),
        type=detect_type(content[:HEAD_SIZE]),
        sha256=hashlib.sha256(content).hexdigest(),
        **where,
    )
    transfer, step = offer["transfer"], offer["max_chunk"]
    for offset in range(offer["received"], len(content), step):
        chunk = content[offset : offset + step]
        client.send_raw(encode_chunk(MessageType.FILE_CHUNK, transfer, offset, chunk))
    message: dict[str, Any] = client.ok(MessageType.FILE_SEND, transfer=transfer)["message"]
    return message


def admin_api(running_server: RunningServer) -> AdminAPI:
    """An admin API logged in as ``chief`` (created here)."""
    server = running_server.server
    password_hash = hash_password("chief password", 4)

    def create_admin(done: Done[AdminRecord]) -> None:
        server.store_worker.submit(
            lambda store: store.create_admin("chief", password_hash, now_ms()), done
        )

    run_on_loop(server, create_admin).result(TIMEOUT)
    api = AdminAPI(server)
    assert api.login("chief", "chief password").result(TIMEOUT) == "chief"
    return api


def contents_on_disk(running_server: RunningServer) -> list[bytes]:
    """The bytes of every file in the server's content directory."""
    root = files_directory(running_server.server.config)
    return [path.read_bytes() for path in root.rglob("*") if path.is_file()]


def test_files_are_listed_newest_first_and_filtered_by_owner(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    api = AdminAPI(running_server.server)
    with pytest.raises(AdminError, match="log in first"):
        api.files().result(TIMEOUT)
    api = admin_api(running_server)
    assert api.files().result(TIMEOUT) == []
    assert (api.storage().result(TIMEOUT).files, api.storage().result(TIMEOUT).bytes) == (0, 0)

    plan = upload(alice, "plan.png", PICTURE, room="Général")
    quote = upload(bob, "devis 2026.pdf", QUOTE, to="alice")
    listed = api.files().result(TIMEOUT)
    assert [(f.id, f.owner, f.name, f.size, f.type, f.room, f.to) for f in listed] == [
        (quote["file"]["id"], "bob", "devis 2026.pdf", len(QUOTE), "application/pdf", None,
         "alice"),
        (plan["file"]["id"], "alice", "plan.png", len(PICTURE), "image/png", "Général", None),
    ]  # fmt: skip
    assert all(abs(f.created_at - now_ms()) < 60_000 for f in listed)
    assert [f.name for f in api.files("BOB").result(TIMEOUT)] == ["devis 2026.pdf"]
    assert [f.name for f in api.files(limit=1).result(TIMEOUT)] == ["devis 2026.pdf"]
    usage = api.storage().result(TIMEOUT)
    assert (usage.files, usage.bytes) == (2, len(PICTURE) + len(QUOTE))
    with pytest.raises(AdminError, match="no user named 'nobody'"):
        api.files("nobody").result(TIMEOUT)
    with pytest.raises(AdminError, match="the limit is a number from 1 to 1000"):
        api.files(limit=0)


def test_deleting_a_file_is_audited_and_stops_its_downloads(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    api = admin_api(running_server)
    plan = upload(alice, "plan.png", PICTURE, room="Général")["file"]
    quote = upload(bob, "devis.pdf", QUOTE, to="alice")["file"]

    deleted = api.delete_file(quote["id"]).result(TIMEOUT)
    assert (deleted.id, deleted.owner, deleted.name, deleted.to) == (
        quote["id"], "bob", "devis.pdf", "alice"
    )  # fmt: skip
    assert [f.id for f in api.files().result(TIMEOUT)] == [plan["id"]]
    usage = api.storage().result(TIMEOUT)
    assert (usage.files, usage.bytes) == (1, len(PICTURE))
    refused = alice.error(MessageType.FILE_GET, file=quote["id"])
    assert refused["code"] == "no_such_file"
    audit = api.audit(5).result(TIMEOUT)
    assert (audit[0].admin_login, audit[0].action, audit[0].target, audit[0].details) == (
        "chief", "delete file", f"#{quote['id']}", f"devis.pdf by bob, {len(QUOTE)} bytes"
    )  # fmt: skip

    with pytest.raises(AdminError, match=rf"no file #{quote['id']} \(unknown, or already"):
        api.delete_file(quote["id"]).result(TIMEOUT)
    with pytest.raises(AdminError, match="no file #999999"):
        api.delete_file(999_999).result(TIMEOUT)
    with pytest.raises(AdminError, match="no file #"):
        api.delete_file(2**70).result(TIMEOUT)  # past any database's integers
    assert len(api.audit(10).result(TIMEOUT)) == len(audit)  # a refusal writes nothing


def test_a_content_two_files_share_stays_until_both_are_deleted(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    api = admin_api(running_server)
    first = upload(alice, "plan.png", PICTURE, room="Général")["file"]
    second = upload(bob, "same plan.png", PICTURE, room="Général")["file"]
    assert contents_on_disk(running_server).count(PICTURE) == 1  # stored once
    usage = api.storage().result(TIMEOUT)
    assert (usage.files, usage.bytes) == (2, 2 * len(PICTURE))  # each file counted whole

    api.delete_file(first["id"]).result(TIMEOUT)
    assert contents_on_disk(running_server).count(PICTURE) == 1  # the other file still uses it
    assert alice.ok(MessageType.FILE_GET, file=second["id"])["file"]["id"] == second["id"]
    api.delete_file(second["id"]).result(TIMEOUT)
    assert PICTURE not in contents_on_disk(running_server)


def test_the_words_for_files_in_both_languages() -> None:
    listed = ListedFile(
        id=7, owner="alice", name="plan\u202e.png\nnext", size=48_213, type="image/png",
        room=None, to="bob", created_at=1795873304794,
    )  # fmt: skip
    try:
        set_language("en")
        assert [size_words(n) for n in (0, 1023, 1024, 48_213, 25 * 2**20, 3 * 2**40)] == [
            "0 B", "1023 B", "1 KiB", "47.1 KiB", "25 MiB", "3 TiB"
        ]  # fmt: skip
        assert storage_words(2, 2_568_000) == "2 file(s), 2.4 MiB"
        line = describe_file(listed)
        assert line.startswith("#7 2026-11-28 ")
        assert line.endswith(r" alice to bob 47.1 KiB image/png: plan\u202e.png\nnext")
        set_language("fr")
        assert size_words(48_213) == "47,1 Kio"
        assert storage_words(1, 512) == "1 fichier(s), 512 o"
        assert " alice à bob 47,1 Kio image/png: " in describe_file(listed)
    finally:
        set_language("en")
