"""Files over real sockets (issue 18): upload, download, resume, access, limits, fairness.

Every test runs on SQLite and on MariaDB (``database_url``). The conftest fails
the run if any frame the servers send is over their ``max_frame``.
"""

from __future__ import annotations

import hashlib
import random
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from guigui.common.codec import Frame
from guigui.common.file_frames import decode_chunk, encode_chunk
from guigui.common.protocol import FILE_CHUNK_SIZE, MessageType
from guigui.server import retention
from guigui.server.chat_server import ChatServer
from guigui.server.clock import now_ms
from guigui.server.file_storage import DirectoryContent
from guigui.server.handoff import Done, run_on_loop
from guigui.server.personal_data import PersonalData
from guigui.server.store import FileRecord, FileUsage, Store, StoredMessage, open_store
from tests.conftest import RunningServer
from tests.support.wire import WireClient

LoggedIn = Callable[[str], WireClient]

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def content(size: int, seed: int = 18) -> bytes:
    """``size`` bytes no signature matches (application/octet-stream)."""
    return b"\x00\x01" + random.Random(seed).randbytes(max(0, size - 2))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def offer(
    client: WireClient,
    data: bytes,
    name: str = "data.bin",
    media_type: str = "application/octet-stream",
    **place: str,
) -> dict[str, Any]:
    """FILE_OFFER of ``data`` (to ``room=`` or ``to=``, Général by default); the OK body."""
    place = place or {"room": "Général"}
    return client.ok(
        MessageType.FILE_OFFER,
        **place,
        name=name,
        size=len(data),
        type=media_type,
        sha256=sha256(data),
    )


def send_chunks(client: WireClient, transfer: int, data: bytes, start: int, end: int) -> None:
    """FILE_CHUNK frames for ``data[start:end]``, FILE_CHUNK_SIZE at a time, no reply."""
    for offset in range(start, end, FILE_CHUNK_SIZE):
        piece = data[offset : min(end, offset + FILE_CHUNK_SIZE)]
        client.send_raw(encode_chunk(MessageType.FILE_CHUNK, transfer, offset, piece))


def upload(
    client: WireClient,
    data: bytes,
    name: str = "data.bin",
    media_type: str = "application/octet-stream",
    **fields: Any,
) -> dict[str, Any]:
    """Offer, send every chunk, FILE_SEND: the stored message."""
    place = {key: fields.pop(key) for key in ("room", "to") if key in fields}
    offered = offer(client, data, name, media_type, **place)
    send_chunks(client, offered["transfer"], data, offered["received"], len(data))
    message: dict[str, Any] = client.ok(
        MessageType.FILE_SEND, transfer=offered["transfer"], **fields
    )["message"]
    return message


def download(client: WireClient, file_id: int, offset: int = 0) -> tuple[bytes, list[Frame]]:
    """FILE_GET, then every FILE_DATA to the end: the bytes, and the other frames seen meanwhile."""
    got = client.ok(MessageType.FILE_GET, file=file_id, offset=offset)
    transfer, size = got["transfer"], got["file"]["size"]
    parts, others, position = [], [], offset
    while True:
        frame = client.receive()
        if frame.type != MessageType.FILE_DATA:
            others.append(frame)
            continue
        chunk = decode_chunk(frame)
        assert chunk.transfer == transfer and chunk.offset == position
        parts.append(chunk.data)
        position = chunk.end
        if position >= size:
            return b"".join(parts), others


def error_frames(client: WireClient, count: int) -> list[dict[str, Any]]:
    """The next ``count`` ERROR frames without id (those kept aside while waiting included)."""
    kept = [f for f in client.events if f.type == MessageType.ERROR]
    client.events = [f for f in client.events if f.type != MessageType.ERROR]
    errors = [f.body for f in kept]
    while len(errors) < count:
        frame = client.receive()
        if frame.type == MessageType.ERROR:
            errors.append(frame.body)
        else:
            client.events.append(frame)
    return errors


def on_loop(server: ChatServer, action: Callable[[Done[Any]], None]) -> Any:
    """Run ``action(done)`` on the server's loop (as the admin API does); its outcome."""
    return run_on_loop(server, action).result(timeout=10)


def contents(running: RunningServer) -> list[Path]:
    """The content files stored (not the uploads in progress)."""
    root = Path(running.server.config.files_dir or "")
    return sorted(p for p in root.rglob("*") if p.is_file() and "partial" not in p.parts)


def partials(running: RunningServer) -> list[Path]:
    root = Path(running.server.config.files_dir or "") / "partial"
    return sorted(root.iterdir())


def test_a_10_mb_file_from_one_user_is_downloaded_intact_by_another(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    data = content(10 * 1024 * 1024)
    message = upload(alice, data, "rapport.bin", text="le rapport")
    file = message["file"]
    assert message["text"] == "le rapport" and message["from"] == "alice"
    assert file["name"] == "rapport.bin" and file["size"] == len(data)
    assert file["sha256"] == sha256(data) and file["type"] == "application/octet-stream"
    acks = [f.body for f in alice.events if f.type == MessageType.FILE_ACK]
    assert acks and acks[-1]["received"] == len(data)
    assert bob.next_event(MessageType.MESSAGE) == {"message": message}
    received, _ = download(bob, file["id"])
    assert sha256(received) == sha256(data)
    history = bob.ok(MessageType.HISTORY, room="Général")["messages"]
    assert history[-1]["file"] == file
    assert len(contents(running_server)) == 1 and partials(running_server) == []


def test_chat_goes_between_the_chunks_of_a_download_that_is_not_read(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    alice = logged_in("alice")
    bob = WireClient(running_server.address)
    bob.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    bob.hello()
    bob.register("bob")
    bob.login("bob")
    data = content(10 * 1024 * 1024, seed=7)
    file = upload(alice, data)["file"]
    bob.next_event(MessageType.MESSAGE)
    got = bob.ok(MessageType.FILE_GET, file=file["id"])
    first = bob.receive()
    while first.type != MessageType.FILE_DATA:
        first = bob.receive()
    # Bob reads nothing more: his download waits for him, not the chat.
    said = alice.ok(MessageType.SAY, room="Général", text="pendant le téléchargement")
    parts, position, seen_message_at = [decode_chunk(first).data], decode_chunk(first).end, None
    while position < file["size"]:
        frame = bob.receive()
        if frame.type == MessageType.MESSAGE:
            assert frame.body == {"message": said["message"]}
            seen_message_at = position
            continue
        chunk = decode_chunk(frame)
        assert chunk.transfer == got["transfer"] and chunk.offset == position
        parts.append(chunk.data)
        position = chunk.end
    assert seen_message_at is not None and seen_message_at < file["size"]
    assert sha256(b"".join(parts)) == file["sha256"]


def test_an_upload_cut_resumes_after_resume_and_is_stored_once(
    running_server: RunningServer, connect: Callable[[], WireClient]
) -> None:
    alice = connect()
    alice.hello()
    alice.register("alice")
    token = alice.login("alice")["token"]
    data = content(1024 * 1024 + 1000, seed=3)
    offered = offer(alice, data)
    assert offered["received"] == 0 and offered["max_chunk"] == 65536 - 13
    half = 16 * FILE_CHUNK_SIZE
    send_chunks(alice, offered["transfer"], data, 0, half)
    acked = 0
    while acked < half:
        acked = alice.next_event(MessageType.FILE_ACK)["received"]
    alice.close()  # cut
    again = WireClient(running_server.address)
    again.hello()
    again.ok(MessageType.RESUME, token=token)
    resumed = offer(again, data)
    assert resumed["received"] == half
    send_chunks(again, resumed["transfer"], data, half, len(data))
    message = again.ok(MessageType.FILE_SEND, transfer=resumed["transfer"], nonce="up-1")["message"]
    # The same upload sent again (its OK lost, say) gives the same message, stored once.
    repeat = upload(again, data, nonce="up-1")
    assert repeat == message
    received, _ = download(again, message["file"]["id"])
    assert received == data
    assert len(contents(running_server)) == 1 and partials(running_server) == []
    server = running_server.server

    def usage_of(store: Store) -> FileUsage:
        return store.file_usage()

    usage = on_loop(server, lambda done: server.store_worker.submit(usage_of, done))
    assert (usage.files, usage.bytes) == (1, len(data))


def test_only_the_conversation_may_download(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    alice, bob, carol = logged_in("alice"), logged_in("bob"), logged_in("carol")
    alice.ok(MessageType.JOIN, room="Blabla")
    in_blabla = upload(alice, content(5000), room="Blabla")["file"]
    assert bob.error(MessageType.FILE_GET, file=in_blabla["id"])["code"] == "not_member"
    to_bob = upload(alice, content(6000, seed=2), to="bob")["file"]
    assert carol.error(MessageType.FILE_GET, file=to_bob["id"])["code"] == "no_such_file"
    assert download(bob, to_bob["id"])[0] == content(6000, seed=2)
    assert download(alice, to_bob["id"], offset=5000)[0] == content(6000, seed=2)[5000:]
    assert bob.error(MessageType.FILE_GET, file=999_999)["code"] == "no_such_file"
    past = bob.error(MessageType.FILE_GET, file=to_bob["id"], offset=6001)
    assert (past["code"], past["field"]) == ("bad_request", "offset")
    outsider = bob.error(MessageType.FILE_OFFER, room="Blabla", name="a.bin", size=1,
                         type="application/octet-stream", sha256="0" * 64)  # fmt: skip
    assert outsider["code"] == "not_member"


def test_an_empty_file_comes_as_one_empty_chunk(logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    file = upload(alice, b"", "vide.txt", "text/plain")["file"]
    assert file["size"] == 0 and file["type"] == "text/plain"
    assert download(alice, file["id"])[0] == b""


@pytest.mark.server_settings(max_file=100_000, file_quota=150_000)
def test_limits_names_and_types_are_refused_clearly(logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    assert alice.ok(MessageType.HELLO, version=1, client="t")["max_file"] == 100_000
    big = alice.error(MessageType.FILE_OFFER, room="Général", name="big.bin", size=100_001,
                      type="application/octet-stream", sha256="0" * 64)  # fmt: skip
    assert (big["code"], big["max_file"]) == ("file_too_large", 100_000)
    for name in ("../etc/passwd", "NUL.txt", " lead", "a\u202eb"):
        refused = alice.error(MessageType.FILE_OFFER, room="Général", name=name, size=1,
                              type="application/octet-stream", sha256="0" * 64)  # fmt: skip
        assert (refused["code"], refused["field"]) == ("invalid_field", "name"), name
    # A .png that is no PNG, declared as one or not.
    for media_type in ("image/png", "application/octet-stream"):
        offered = offer(alice, b"MZ not a picture", "photo.png", media_type)
        send_chunks(alice, offered["transfer"], b"MZ not a picture", 0, 16)
        refused = alice.error(MessageType.FILE_SEND, transfer=offered["transfer"])
        assert refused["code"] == "file_type_mismatch" and "x-msdownload" in refused["reason"]
        assert alice.error(MessageType.FILE_SEND, transfer=offered["transfer"])["code"] == (
            "no_such_transfer"
        )
    # A picture declared as anything: refused too (a client shows it as declared).
    offered = offer(alice, PNG, "image", "application/octet-stream")
    send_chunks(alice, offered["transfer"], PNG, 0, len(PNG))
    assert alice.error(MessageType.FILE_SEND, transfer=offered["transfer"])["code"] == (
        "file_type_mismatch"
    )
    assert upload(alice, PNG, "plan.png", "image/png")["file"]["type"] == "image/png"
    # The content is not the SHA-256 offered.
    wrong = alice.ok(MessageType.FILE_OFFER, room="Général", name="x.bin", size=10,
                     type="application/octet-stream", sha256="0" * 64)  # fmt: skip
    send_chunks(alice, wrong["transfer"], content(10), 0, 10)
    assert alice.error(MessageType.FILE_SEND, transfer=wrong["transfer"])["code"] == (
        "checksum_mismatch"
    )
    # Not every byte yet: the upload goes on.
    data = content(90_000)
    offered = offer(alice, data)
    send_chunks(alice, offered["transfer"], data, 0, FILE_CHUNK_SIZE)
    incomplete = alice.error(MessageType.FILE_SEND, transfer=offered["transfer"])
    assert (incomplete["code"], incomplete["received"]) == ("file_incomplete", FILE_CHUNK_SIZE)
    send_chunks(alice, offered["transfer"], data, FILE_CHUNK_SIZE, len(data))
    alice.ok(MessageType.FILE_SEND, transfer=offered["transfer"])
    # 90,000 + len(PNG) stored: another 90,000 would pass the quota of 150,000.
    over = alice.error(MessageType.FILE_OFFER, room="Général", name="y.bin", size=90_000,
                       type="application/octet-stream", sha256="0" * 64)  # fmt: skip
    assert over["code"] == "quota_exceeded"


def test_bad_chunks_get_their_errors_and_the_connection_stays_usable(
    logged_in: LoggedIn,
) -> None:
    alice = logged_in("alice")
    data = content(3 * FILE_CHUNK_SIZE)
    alice.send_raw(encode_chunk(MessageType.FILE_CHUNK, 77, 0, b"abc"))
    offered = offer(alice, data)
    transfer = offered["transfer"]
    alice.send_raw(encode_chunk(MessageType.FILE_CHUNK, transfer, 5, b"abc"))  # not at 0
    small = offer(alice, content(10, seed=11))["transfer"]
    alice.send_raw(
        encode_chunk(MessageType.FILE_CHUNK, small, 0, content(11, seed=11))
    )  # past size
    alice.send_raw(b"\x00\x00\x00\x06" + bytes((MessageType.FILE_CHUNK,)) + b"\x00\x00\x00\x01\x00")
    codes = [error["code"] for error in error_frames(alice, 4)]
    assert codes == ["no_such_transfer", "bad_chunk", "bad_chunk", "bad_chunk"]
    assert alice.ok(MessageType.SAY, room="Général", text="still here")["message"]["id"] >= 1
    send_chunks(alice, transfer, data, 0, len(data))
    assert alice.ok(MessageType.FILE_SEND, transfer=transfer)["message"]["file"]["size"] == len(
        data
    )
    # A cancelled upload takes no more chunks; a transfer cancelled twice is unknown.
    again = offer(alice, content(100, seed=9))
    alice.ok(MessageType.FILE_CANCEL, transfer=again["transfer"])
    assert alice.error(MessageType.FILE_CANCEL, transfer=again["transfer"])["code"] == (
        "no_such_transfer"
    )
    alice.send_raw(encode_chunk(MessageType.FILE_CHUNK, again["transfer"], 0, b"x"))
    assert [e["code"] for e in error_frames(alice, 1)] == ["no_such_transfer"]


def test_others_chat_while_an_upload_is_in_progress(logged_in: LoggedIn) -> None:
    alice, bob, carol = logged_in("alice"), logged_in("bob"), logged_in("carol")
    data = content(4 * 1024 * 1024, seed=5)
    offered = offer(alice, data)
    half = len(data) // 2 // FILE_CHUNK_SIZE * FILE_CHUNK_SIZE
    sender = threading.Thread(
        target=send_chunks, args=(alice, offered["transfer"], data, 0, half), daemon=True
    )
    sender.start()
    # Mid-upload (FILE_SEND is not sent yet): bob is answered and carol told.
    said = bob.ok(MessageType.SAY, room="Général", text="pendant l'envoi")["message"]
    assert carol.next_event(MessageType.MESSAGE) == {"message": said}
    # Alice's own SAY between two of her chunks is handled between them.
    sender.join()
    mine = alice.request(MessageType.SAY, room="Général", text="entre deux morceaux")
    assert mine.type == MessageType.OK
    send_chunks(alice, offered["transfer"], data, half, len(data))
    message = alice.ok(MessageType.FILE_SEND, transfer=offered["transfer"])["message"]
    assert message["id"] > mine.body["message"]["id"] > said["id"]
    events = [f.body for f in alice.events if f.type == MessageType.MESSAGE]
    assert {"message": said} in events


def test_the_admin_deletes_a_file_and_erasure_removes_files(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    server = running_server.server
    alice, bob = logged_in("alice"), logged_in("bob")
    kept = upload(alice, content(3000))["file"]
    same = upload(bob, content(3000))["file"]  # the same content: one copy
    assert len(contents(running_server)) == 1
    deleted = on_loop(server, lambda done: server.files.delete_file(kept["id"], done))
    assert isinstance(deleted, FileRecord) and deleted.deleted_at is not None
    assert alice.error(MessageType.FILE_GET, file=kept["id"])["code"] == "no_such_file"
    assert len(contents(running_server)) == 1  # bob's file still uses it
    assert download(alice, same["id"])[0] == content(3000)
    assert on_loop(server, lambda done: server.files.delete_file(kept["id"], done)) is None
    history = alice.ok(MessageType.HISTORY, room="Général")["messages"]
    assert "file" not in history[0] and history[1]["file"] == same
    # Bob's account erased: his files go, and the content no live file uses.
    upload(bob, content(4000, seed=4), to="alice")
    assert len(contents(running_server)) == 2
    data = PersonalData(server)
    on_loop(server, lambda done: data.erase("bob", "chief", done))
    assert contents(running_server) == []
    assert alice.error(MessageType.FILE_GET, file=same["id"])["code"] == "no_such_file"


@pytest.mark.server_settings(files_in_database=True)
def test_content_in_the_database_as_a_cluster_keeps_it(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    server = running_server.server
    alice, bob = logged_in("alice"), logged_in("bob")
    data = content(2 * 1024 * 1024 + 5, seed=21)
    offered = offer(alice, data)
    send_chunks(alice, offered["transfer"], data, 0, 16 * FILE_CHUNK_SIZE)
    while alice.next_event(MessageType.FILE_ACK)["received"] < 16 * FILE_CHUNK_SIZE:
        pass
    resumed = offer(alice, data)  # taken over by a new offer: goes on where it was
    assert resumed["received"] == 16 * FILE_CHUNK_SIZE
    send_chunks(alice, resumed["transfer"], data, resumed["received"], len(data))
    file = alice.ok(MessageType.FILE_SEND, transfer=resumed["transfer"])["message"]["file"]
    assert download(bob, file["id"])[0] == data
    assert contents(running_server) == []  # nothing in the directory
    assert on_loop(server, lambda done: server.files.delete_file(file["id"], done)) is not None
    assert not server.files.storage.has(file["sha256"])


def test_retention_removes_old_files_and_their_content(
    server_factory: Callable[..., RunningServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = server_factory()
    alice = WireClient(first.address)
    alice.hello()
    alice.register("alice")
    alice.login("alice")
    recent = upload(alice, content(2000, seed=1))["file"]
    alice.close()
    first.server.stop(timeout=15)
    old_data = content(3000, seed=2)
    old_sha = sha256(old_data)
    store = open_store(first.database_url)
    try:
        sender = store.load_snapshot(0).users[0].id
        old = now_ms() - 40 * retention.DAY_MS
        store.save_file_message(
            FileRecord(0, old_sha, len(old_data), "vieux.bin", "application/octet-stream",
                       sender, 1, None, old),
            StoredMessage(1000, 1, sender, None, "vieux.bin", old),
        )  # fmt: skip
    finally:
        store.close()
    storage = DirectoryContent(Path(first.server.config.files_dir or ""))
    storage.content_path(old_sha).parent.mkdir(parents=True, exist_ok=True)
    storage.content_path(old_sha).write_bytes(old_data)
    assert len(contents(first)) == 2
    monkeypatch.setattr(retention, "FIRST_PURGE_DELAY", 0.0)
    second = server_factory(message_retention_days=30)
    deadline = time.monotonic() + 10
    while storage.has(old_sha):
        assert time.monotonic() < deadline, "the old file's content was not removed"
        time.sleep(0.05)
    assert storage.has(recent["sha256"])
    reader = WireClient(second.address)
    reader.hello()
    reader.login("alice")
    history = reader.ok(MessageType.HISTORY, room="Général")["messages"]
    assert [m["file"]["id"] for m in history] == [recent["id"]]
    assert reader.error(MessageType.FILE_GET, file=recent["id"] + 1)["code"] == "no_such_file"
    reader.close()


def test_an_uploader_whose_chunks_wait_is_not_read_and_the_others_are(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    server = running_server.server
    alice, bob = logged_in("alice"), logged_in("bob")
    data = content(8 * FILE_CHUNK_SIZE, seed=8)
    offered = offer(alice, data)
    disk_free = threading.Event()

    def stall(done: Done[None]) -> None:
        server.file_worker.submit(disk_free.wait, lambda _: None)
        done(None)

    on_loop(server, stall)
    # The file worker is stuck (a slow disk): past 4 chunks, alice is not read.
    send_chunks(alice, offered["transfer"], data, 0, len(data))
    request_id = alice.next_id()
    alice.send(MessageType.SAY, {"id": request_id, "room": "Général", "text": "après"})
    assert bob.ok(MessageType.SAY, room="Général", text="bob is read")["message"]["id"] >= 1
    with pytest.raises(TimeoutError):
        alice.reply_to(request_id, timeout=0.3)
    disk_free.set()
    assert alice.reply_to(request_id).type == MessageType.OK
    assert alice.ok(MessageType.FILE_SEND, transfer=offered["transfer"])["message"]["file"]


def test_transfers_end_with_the_session_that_started_them(
    connect: Callable[[], WireClient],
) -> None:
    client = connect()
    client.hello()
    client.register("bob")
    client.register("alice")
    client.login("alice")
    data = content(1000)
    offered = offer(client, data)
    client.ok(MessageType.LOGOUT)
    client.login("bob")
    client.send_raw(encode_chunk(MessageType.FILE_CHUNK, offered["transfer"], 0, data))
    assert [e["code"] for e in error_frames(client, 1)] == ["no_such_transfer"]
    assert client.error(MessageType.FILE_SEND, transfer=offered["transfer"])["code"] == (
        "no_such_transfer"
    )
    assert client.error(MessageType.FILE_CANCEL, transfer=offered["transfer"])["code"] == (
        "no_such_transfer"
    )


def test_a_chunk_the_disk_refuses_ends_the_upload_and_acknowledges_nothing_after_it(
    running_server: RunningServer, logged_in: LoggedIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = running_server.server
    alice = logged_in("alice")
    data = content(12 * FILE_CHUNK_SIZE, seed=12)
    offered = offer(alice, data)
    storage = server.files.storage
    write = storage.write_partial

    def full_disk_at_the_third_chunk(
        user_id: int, sha256: str, offset: int, chunk: bytes, sync: bool
    ) -> None:
        if offset == 2 * FILE_CHUNK_SIZE:
            raise OSError(28, "No space left on device")
        write(user_id, sha256, offset, chunk, sync)

    monkeypatch.setattr(storage, "write_partial", full_disk_at_the_third_chunk)
    send_chunks(alice, offered["transfer"], data, 0, len(data))
    errors = error_frames(alice, 1)
    assert errors[0]["code"] == "internal" and "offer the file again" in errors[0]["message"]
    sent = alice.error(MessageType.FILE_SEND, transfer=offered["transfer"])
    assert sent["code"] == "no_such_transfer"
    acknowledged = [f.body["received"] for f in alice.events if f.type == MessageType.FILE_ACK]
    assert all(received <= 2 * FILE_CHUNK_SIZE for received in acknowledged)  # none past the hole
    monkeypatch.undo()
    again = offer(alice, data)
    assert again["received"] == 0  # what it held was dropped: the file starts again
    send_chunks(alice, again["transfer"], data, 0, len(data))
    message = alice.ok(MessageType.FILE_SEND, transfer=again["transfer"])["message"]
    fetched, _ = download(alice, message["file"]["id"])
    assert fetched == data
