"""Files against a hostile or careless client (issue 18), over real sockets.

Bad input gets a clear ERROR and loses nothing; unfinished uploads count
against the quota, are limited in number, swept when left untouched and
removed with an erased account; deduplication reveals nothing; the largest
file message fits in the smallest ``max_frame`` the server accepts. Every test
runs on SQLite and on MariaDB (``database_url``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from guigui.common.file_frames import encode_chunk
from guigui.common.messages import HistoryOk, MessageEvent, MessageOk
from guigui.common.objects import ChatMessage, FileInfo
from guigui.common.protocol import (
    FILE_CHUNK_SIZE,
    MAX_BIG_INT,
    MAX_FILE_NAME_BYTES,
    MAX_REQUEST_ID,
    MessageType,
)
from guigui.common.validation import LOGIN_MAX
from guigui.server.chat_server import ChatServer
from guigui.server.config import MESSAGE_OVERHEAD, WORST_BYTES_PER_CHARACTER, ServerConfig
from guigui.server.file_storage import DatabaseContent
from guigui.server.personal_data import PersonalData
from tests.conftest import RunningServer
from tests.server.test_files_over_the_wire import (
    content,
    error_frames,
    offer,
    on_loop,
    send_chunks,
    sha256,
    upload,
)
from tests.support.wire import WireClient

LoggedIn = Callable[[str], WireClient]

SEVEN_ZIP = b"7z\xbc\xaf\x27\x1c" + bytes(range(200))


def held_uploads(server: ChatServer) -> dict[tuple[int, str], int]:
    """Bytes held of every unfinished upload, by (user id, SHA-256), read on the file worker."""
    storage = server.files.storage

    def read() -> dict[tuple[int, str], int]:
        if isinstance(storage, DatabaseContent):
            return storage.store.content_partials()
        root = Path(server.config.files_dir or "") / "partial"
        found = {}
        for path in root.iterdir():
            user, _, digest = path.name.partition("-")
            found[(int(user), digest)] = path.stat().st_size
        return found

    result: dict[tuple[int, str], int] = on_loop(
        server, lambda done: server.file_worker.submit(read, done)
    )
    return result


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` (the server acts on its own clock) for up to 10 s."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def uploads_in_progress(server: ChatServer) -> int:
    count: int = on_loop(server, lambda done: done(len(server.files.uploads)))
    return count


def user_id(server: ChatServer, login: str) -> int:
    user = server.users.find(login)
    assert user is not None
    return user.id


# ---- unfinished uploads: quota, number, sweep, erasure --------------------------


@pytest.mark.server_settings(file_quota=100_000)
def test_uploads_in_progress_and_unfinished_count_against_the_quota(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    server = running_server.server
    alice = logged_in("alice")
    first, second, third = content(60_000, seed=1), content(50_000, seed=2), content(20_000, seed=3)
    offered = offer(alice, first)
    # 60,000 offered and in progress + 50,000 > 100,000: refused, whatever is held yet.
    refused = alice.error(MessageType.FILE_OFFER, room="Général", name="b.bin", size=50_000,
                          type="application/octet-stream", sha256=sha256(second))  # fmt: skip
    assert refused["code"] == "quota_exceeded" and "reason" not in refused
    assert "unfinished" in refused["message"]
    # Offering the same content again takes the upload over: not one more.
    taken_over = offer(alice, first)
    assert taken_over["received"] == 0 and taken_over["transfer"] != offered["transfer"]
    # 40,000 held, then the connection is gone: the unfinished upload counts its bytes.
    send_chunks(alice, taken_over["transfer"], first, 0, 40_000)
    wait_until(lambda: sum(held_uploads(server).values()) == 40_000, "40,000 bytes not held")
    alice.close()
    wait_until(lambda: uploads_in_progress(server) == 0, "the upload is still in progress")
    again = logged_in("alice")
    taken = offer(again, second)  # 40,000 held + 50,000 offered <= 100,000
    assert again.error(MessageType.FILE_OFFER, room="Général", name="c.bin", size=20_000,
                       type="application/octet-stream", sha256=sha256(third))["code"] == (
        "quota_exceeded"
    )  # fmt: skip
    again.ok(MessageType.FILE_CANCEL, transfer=taken["transfer"])
    resumed = offer(again, first)  # held bytes of this very upload are not counted twice
    assert resumed["received"] == 40_000
    send_chunks(again, resumed["transfer"], first, 40_000, len(first))
    again.ok(MessageType.FILE_SEND, transfer=resumed["transfer"])
    assert held_uploads(server) == {}
    # 60,000 stored: 20,000 more fit, 50,000 do not.
    upload(again, third)
    assert again.error(MessageType.FILE_OFFER, room="Général", name="b.bin", size=50_000,
                       type="application/octet-stream", sha256=sha256(second))["code"] == (
        "quota_exceeded"
    )  # fmt: skip


@pytest.mark.server_settings(max_uploads=3)
def test_a_user_has_at_most_max_uploads_in_progress_and_others_go_on(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    alice, other_alice, bob = logged_in("alice"), logged_in("alice"), logged_in("bob")
    datas = [content(1000, seed=seed) for seed in range(5)]
    transfers = [offer(alice, datas[0])["transfer"], offer(alice, datas[1])["transfer"]]
    transfers.append(offer(other_alice, datas[2])["transfer"])  # the count is the user's
    # Many different SHA-256s, pipelined: every one refused, clearly; nothing held.
    request_ids = []
    for seed in range(100, 400):
        request_id = alice.next_id()
        alice.send(MessageType.FILE_OFFER, {"id": request_id, "room": "Général",
                   "name": f"f{seed}.bin", "size": 10, "type": "application/octet-stream",
                   "sha256": sha256(content(10, seed=seed))})  # fmt: skip
        request_ids.append(request_id)
    for request_id in request_ids:
        refused = alice.reply_to(request_id).body
        assert (refused["code"], refused["reason"]) == ("quota_exceeded", "too_many_uploads")
    assert "3 uploads in progress" in refused["message"]
    assert held_uploads(running_server.server) == {}
    # Offering one of the three again is no new upload; bob is not limited by alice.
    transfers[0] = offer(alice, datas[0])["transfer"]
    assert upload(bob, datas[3])["file"]["size"] == 1000
    assert alice.ok(MessageType.SAY, room="Général", text="still served")["message"]["id"] >= 1
    # One finished: room for another.
    send_chunks(other_alice, transfers[2], datas[2], 0, 1000)
    other_alice.ok(MessageType.FILE_SEND, transfer=transfers[2])
    assert upload(alice, datas[4])["file"]["size"] == 1000


@pytest.mark.parametrize("in_database", [False, True], ids=["directory", "database"])
def test_unfinished_uploads_left_untouched_are_swept_those_in_progress_kept(
    server_factory: Callable[..., RunningServer], in_database: bool
) -> None:
    running = server_factory(partial_max_age=0.5, files_in_database=in_database)
    server = running.server
    alice, bob = WireClient(running.address), WireClient(running.address)
    for client, login in ((alice, "alice"), (bob, "bob")):
        client.hello()
        client.register(login)
        client.login(login)
    left, kept = content(3 * FILE_CHUNK_SIZE, seed=1), content(3 * FILE_CHUNK_SIZE, seed=2)
    abandoned = offer(alice, left)
    send_chunks(alice, abandoned["transfer"], left, 0, FILE_CHUNK_SIZE)
    in_progress = offer(bob, kept)
    send_chunks(bob, in_progress["transfer"], kept, 0, FILE_CHUNK_SIZE)
    wait_until(lambda: len(held_uploads(server)) == 2, "both uploads are not held")
    alice.close()
    alice_id, bob_id = user_id(server, "alice"), user_id(server, "bob")
    wait_until(
        lambda: (alice_id, sha256(left)) not in held_uploads(server),
        "the abandoned upload was not removed",
    )
    # Bob's upload was left untouched as long, but is in progress: kept, and goes on.
    assert held_uploads(server) == {(bob_id, sha256(kept)): FILE_CHUNK_SIZE}
    send_chunks(bob, in_progress["transfer"], kept, FILE_CHUNK_SIZE, len(kept))
    assert bob.ok(MessageType.FILE_SEND, transfer=in_progress["transfer"])["message"]["file"]
    again = WireClient(running.address)
    again.hello()
    again.login("alice")
    assert offer(again, left)["received"] == 0  # starts over, nothing stale
    for client in (bob, again):
        client.close()


def test_an_erased_account_loses_its_unfinished_uploads(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    server = running_server.server
    alice, bob = logged_in("alice"), logged_in("bob")
    data = content(3 * FILE_CHUNK_SIZE)
    cut = offer(bob, data)
    send_chunks(bob, cut["transfer"], data, 0, FILE_CHUNK_SIZE)
    mine = offer(alice, data)
    send_chunks(alice, mine["transfer"], data, 0, FILE_CHUNK_SIZE)
    wait_until(lambda: len(held_uploads(server)) == 2, "both uploads are not held")
    bob_id = user_id(server, "bob")
    on_loop(server, lambda done: PersonalData(server).erase("bob", "chief", done))
    wait_until(
        lambda: all(owner != bob_id for owner, _ in held_uploads(server)),
        "the erased account's upload is still held",
    )
    assert bob.expect_closed() is not None
    # Alice's upload of the same content is hers, untouched.
    send_chunks(alice, mine["transfer"], data, FILE_CHUNK_SIZE, len(data))
    assert alice.ok(MessageType.FILE_SEND, transfer=mine["transfer"])["message"]["file"]


# ---- deduplication reveals nothing --------------------------------------------------


def test_offering_someone_elses_content_still_takes_every_byte(logged_in: LoggedIn) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    data = content(2 * FILE_CHUNK_SIZE + 7, seed=42)
    upload(alice, data)
    offered = offer(bob, data)
    assert offered["received"] == 0  # no "already have it" across users
    refused = bob.error(MessageType.FILE_SEND, transfer=offered["transfer"])
    assert (refused["code"], refused["received"]) == ("file_incomplete", 0)
    send_chunks(bob, offered["transfer"], data, 0, FILE_CHUNK_SIZE)
    refused = bob.error(MessageType.FILE_SEND, transfer=offered["transfer"])
    assert (refused["code"], refused["received"]) == ("file_incomplete", FILE_CHUNK_SIZE)
    # Other bytes under the same SHA-256 are refused: the digest is checked, not trusted.
    forged = content(len(data), seed=43)
    send_chunks(bob, offered["transfer"], forged, FILE_CHUNK_SIZE, len(data))
    assert bob.error(MessageType.FILE_SEND, transfer=offered["transfer"])["code"] == (
        "checksum_mismatch"
    )
    assert upload(bob, data)["file"]["sha256"] == sha256(data)


# ---- the largest file message fits the smallest max_frame ------------------------------

WORST_NAME = "é" * 125 + "xy.7z"
"""255 bytes of UTF-8, of a known type (the longest the detector finds)."""


def test_the_worst_file_message_fits_the_smallest_max_frame_by_encoding() -> None:
    max_text = 4000
    smallest = max_text * WORST_BYTES_PER_CHARACTER + MESSAGE_OVERHEAD
    ServerConfig(database_url="sqlite://", max_text=max_text, max_frame=smallest)
    with pytest.raises(ValueError, match="too small"):
        ServerConfig(database_url="sqlite://", max_text=max_text, max_frame=smallest - 1)
    assert len(WORST_NAME.encode()) == MAX_FILE_NAME_BYTES
    file = FileInfo(MAX_BIG_INT, WORST_NAME, MAX_BIG_INT, "application/x-7z-compressed", "f" * 64)
    login, other = "a" * LOGIN_MAX, "b" * LOGIN_MAX
    caption = "\x00" * max_text  # six bytes each in JSON
    room = "Ω" * 64  # far longer than any room's name
    for message in (
        ChatMessage(MAX_BIG_INT, room, login, None, caption, MAX_BIG_INT, file),
        ChatMessage(MAX_BIG_INT, None, login, other, caption, MAX_BIG_INT, file),
    ):
        for body in (
            MessageEvent(message),
            MessageOk(MAX_REQUEST_ID, message),
            HistoryOk(MAX_REQUEST_ID, [message], more=True),
        ):
            assert len(msgspec.json.encode(body)) + 1 <= smallest, body


@pytest.mark.server_settings(max_text=500, max_frame=500 * WORST_BYTES_PER_CHARACTER + 1024)
def test_the_worst_file_message_fits_the_smallest_max_frame_over_the_wire(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    max_frame = running_server.server.config.max_frame
    sender, reader = logged_in("s" * LOGIN_MAX), logged_in("r" * LOGIN_MAX)
    caption = "\x01" * 500
    sizes = []
    for place in ({"room": "Général"}, {"to": "r" * LOGIN_MAX}):
        offered = offer(sender, SEVEN_ZIP, WORST_NAME, "application/x-7z-compressed", **place)
        send_chunks(sender, offered["transfer"], SEVEN_ZIP, 0, len(SEVEN_ZIP))
        reply = sender.request(MessageType.FILE_SEND, transfer=offered["transfer"], text=caption)
        assert reply.type == MessageType.OK, reply.body
        sizes.append(len(reply.payload) + 1)
        event = reader.receive()
        while event.type != MessageType.MESSAGE:
            event = reader.receive()
        sizes.append(len(event.payload) + 1)
        query = place if "room" in place else {"with": "s" * LOGIN_MAX}
        page = reader.request(MessageType.HISTORY, **query)
        assert page.body["messages"][-1]["file"]["name"] == WORST_NAME
        sizes.append(len(page.payload) + 1)
    assert all(size <= max_frame for size in sizes), (sizes, max_frame)
    assert min(sizes) > 6 * 500  # the captions did take six bytes a character


# ---- what a hostile client may send ---------------------------------------------


def test_chunks_before_hello_or_login_or_for_another_connection_are_refused(
    connect: Callable[[], WireClient], logged_in: LoggedIn
) -> None:
    early = connect()
    early.send_raw(encode_chunk(MessageType.FILE_CHUNK, 1, 0, b"abc"))
    frames = early.expect_closed()
    assert [f.body["code"] for f in frames if f.type == MessageType.ERROR] == ["hello_required"]
    anonymous = connect()
    anonymous.hello()
    anonymous.send_raw(encode_chunk(MessageType.FILE_CHUNK, 1, 0, b"abc"))
    assert [e["code"] for e in error_frames(anonymous, 1)] == ["no_such_transfer"]
    assert anonymous.error(MessageType.FILE_OFFER, room="Général", name="a.bin", size=3,
                           type="application/octet-stream", sha256="0" * 64)["code"] == (
        "not_authenticated"
    )  # fmt: skip
    alice, mallory = logged_in("alice"), logged_in("mallory")
    data = content(2 * FILE_CHUNK_SIZE)
    offered = offer(alice, data)
    # Mallory writes into alice's transfer number on her own connection: nothing of hers.
    mallory.send_raw(encode_chunk(MessageType.FILE_CHUNK, offered["transfer"], 0, b"evil"))
    assert [e["code"] for e in error_frames(mallory, 1)] == ["no_such_transfer"]
    for request in (MessageType.FILE_SEND, MessageType.FILE_CANCEL):
        assert mallory.error(request, transfer=offered["transfer"])["code"] == "no_such_transfer"
    send_chunks(alice, offered["transfer"], data, 0, len(data))
    message = alice.ok(MessageType.FILE_SEND, transfer=offered["transfer"])["message"]
    assert message["file"]["sha256"] == sha256(data)
    # FILE_SEND twice: the second finds no upload, and no second message is posted.
    assert alice.error(MessageType.FILE_SEND, transfer=offered["transfer"])["code"] == (
        "no_such_transfer"
    )
    history = alice.ok(MessageType.HISTORY, room="Général")["messages"]
    assert [m["id"] for m in history if "file" in m] == [message["id"]]


def test_bad_gets_and_names_are_refused_clearly(logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    file = upload(alice, content(100))["file"]
    past = alice.error(MessageType.FILE_GET, file=file["id"], offset=101)
    assert (past["code"], past["field"]) == ("bad_request", "offset")
    assert alice.error(MessageType.FILE_GET, file=file["id"] + 1000)["code"] == "no_such_file"
    got: dict[str, Any] = alice.ok(MessageType.FILE_GET, file=file["id"], offset=100)
    assert got["file"]["size"] == 100  # at the very end: nothing left to send, no error
    for name in ("x" * (MAX_FILE_NAME_BYTES + 1), "é" * 128, "\u2067evil\u2069.txt", "a\x00b"):
        refused = alice.error(MessageType.FILE_OFFER, room="Général", name=name, size=1,
                              type="application/octet-stream", sha256="0" * 64)  # fmt: skip
        assert (refused["code"], refused["field"]) == ("invalid_field", "name"), name
    offered = offer(alice, content(10), "x" * MAX_FILE_NAME_BYTES)  # 255 bytes: accepted
    assert offered["received"] == 0
    assert alice.ok(MessageType.SAY, room="Général", text="still here")["message"]["id"] >= 1
