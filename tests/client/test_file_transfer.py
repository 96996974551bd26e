"""Uploads and downloads of ChatConnection against a scripted server (real sockets).

The script plays the server of PROTOCOL.md section 7 exactly where a test needs
it to: acknowledging late, cutting the connection after some chunks, sending
a wrong content. The real server's side is in test_files_end_to_end.py.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from guigui.client.connection import ChatConnection, ConnectionLost
from guigui.client.transfers import (
    DownloadCorrupt,
    TransferCancelledError,
    Upload,
    describe_file,
    part_path,
)
from guigui.common.file_frames import decode_chunk, encode_chunk
from guigui.common.protocol import FILE_CHUNK_SIZE, MessageType
from tests.support.fake_server import FakePeer, Script

Serve = Callable[[Script], tuple[str, int]]


def message_body(text: str, file: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 42, "room": "Général", "from": "alice", "to": None, "text": text, "ts": 1,
    }  # fmt: skip
    if file is not None:
        body["file"] = file
    return body


def make_file(tmp_path: Path, chunks: float, name: str = "data.bin") -> Path:
    path = tmp_path / name
    size = int(chunks * FILE_CHUNK_SIZE)
    path.write_bytes(bytes((n * 7 + n // 251) % 256 for n in range(size)))
    return path


def file_info(content: bytes, name: str = "data.bin") -> dict[str, Any]:
    return {
        "id": 5,
        "name": name,
        "size": len(content),
        "type": "application/octet-stream",
        "sha256": hashlib.sha256(content).hexdigest(),
    }


def receive_upload(
    peer: FakePeer, received: int, ack_every: int, stop_after: int | None = None
) -> tuple[dict[str, Any], bytes, list[str]]:
    """Answer a FILE_OFFER with ``received``, take its chunks; the offer, the data, the frames.

    Acknowledges every ``ack_every`` chunks; with ``stop_after`` returns after
    that many chunks, without waiting for FILE_SEND.
    """
    offer = peer.receive()
    assert offer.type == MessageType.FILE_OFFER
    peer.send(MessageType.OK, {"id": offer.body["id"], "transfer": 9, "received": received,
                               "max_chunk": 65536 - 13})  # fmt: skip
    data = b""
    seen: list[str] = []
    chunks = 0
    while True:
        frame = peer.receive()
        if frame.type == MessageType.FILE_CHUNK:
            chunk = decode_chunk(frame)
            assert (chunk.transfer, chunk.offset) == (9, received + len(data))
            data += chunk.data
            seen.append("chunk")
            chunks += 1
            if chunks % ack_every == 0:
                peer.send(MessageType.FILE_ACK, {"transfer": 9, "received": received + len(data)})
            if stop_after is not None and chunks == stop_after:
                return offer.body, data, seen
        elif frame.type == MessageType.FILE_SEND:
            seen.append("send")
            assert frame.body["transfer"] == 9
            info = file_info(b"")  # the content is checked by the test
            peer.send(MessageType.OK, {"id": frame.body["id"],
                                       "message": message_body(frame.body.get("text") or "x",
                                                               info)})  # fmt: skip
            return offer.body, data, seen
        else:
            seen.append(frame.body.get("text", hex(frame.type)))
            peer.send(MessageType.OK, {"id": frame.body["id"],
                                       "message": message_body(frame.body["text"])})  # fmt: skip


def test_an_upload_offers_the_file_then_sends_every_chunk_and_file_send(
    fake_server: Serve, tmp_path: Path
) -> None:
    path = make_file(tmp_path, 5.5, "plan.bin")
    got: dict[str, Any] = {}

    def script(peer: FakePeer) -> None:
        peer.answer_hello()
        got["offer"], got["data"], got["seen"] = receive_upload(peer, 0, ack_every=2)
        peer.receive()

    connection = ChatConnection.connect(*fake_server(script))
    reports: list[tuple[int, int]] = []
    message = connection.upload_file(
        Upload(describe_file(path)), room="Général", text="the plan", nonce="n1",
        progress=lambda done, total: reports.append((done, total)),
    )  # fmt: skip
    connection.close()
    content = path.read_bytes()
    assert got["data"] == content
    offer = got["offer"]
    assert (offer["room"], offer["name"], offer["size"]) == ("Général", "plan.bin", len(content))
    assert offer["sha256"] == hashlib.sha256(content).hexdigest()
    assert got["seen"] == ["chunk"] * 6 + ["send"]
    assert message.text == "the plan" and message.file is not None
    assert reports[-1] == (len(content), len(content))


def test_an_upload_goes_on_from_what_the_server_already_holds(
    fake_server: Serve, tmp_path: Path
) -> None:
    """The connection is cut after 6 chunks (4 acknowledged); the next offer gets received=4."""
    path = make_file(tmp_path, 10)
    content = path.read_bytes()
    first: dict[str, Any] = {}
    second: dict[str, Any] = {}

    def cut(peer: FakePeer) -> None:
        peer.answer_hello()
        first["offer"], first["data"], _ = receive_upload(peer, 0, ack_every=4, stop_after=6)
        # returning closes the socket: the upload is cut

    def resume(peer: FakePeer) -> None:
        peer.answer_hello()
        held = 4 * FILE_CHUNK_SIZE
        second["offer"], second["data"], second["seen"] = receive_upload(peer, held, ack_every=1)
        peer.receive()

    state = Upload(describe_file(path))
    connection = ChatConnection.connect(*fake_server(cut))
    with pytest.raises(ConnectionLost):
        connection.upload_file(state, to="bob", nonce="n2")
    connection.close()
    assert state.transfer is None
    connection = ChatConnection.connect(*fake_server(resume))
    connection.upload_file(state, to="bob", nonce="n2")
    connection.close()
    assert second["offer"]["sha256"] == first["offer"]["sha256"]
    assert first["data"][: 4 * FILE_CHUNK_SIZE] + second["data"] == content
    assert second["seen"] == ["chunk"] * 6 + ["send"]


def test_a_message_sent_during_an_upload_goes_between_its_chunks(
    fake_server: Serve, tmp_path: Path
) -> None:
    """100 chunks; the SAY is sent after the 3rd: it arrives within a window of chunks."""
    path = make_file(tmp_path, 100)
    third_chunk = threading.Event()
    got: dict[str, Any] = {}

    def script(peer: FakePeer) -> None:
        peer.answer_hello()
        offer = peer.receive()
        peer.send(MessageType.OK, {"id": offer.body["id"], "transfer": 9, "received": 0,
                                   "max_chunk": 65536 - 13})  # fmt: skip
        seen: list[str] = []
        said = False
        while True:
            frame = peer.receive()
            if frame.type == MessageType.FILE_CHUNK:
                seen.append("chunk")
                if seen.count("chunk") == 3:
                    third_chunk.set()
                if said:  # acknowledge only once the message came: the window holds chunks back
                    received = decode_chunk(frame).end
                    peer.send(MessageType.FILE_ACK, {"transfer": 9, "received": received})
            elif frame.type == MessageType.SAY:
                seen.append("say")
                said = True
                peer.send(MessageType.OK, {"id": frame.body["id"],
                                           "message": message_body("hello")})  # fmt: skip
            elif frame.type == MessageType.FILE_SEND:
                body = message_body("f", file_info(b""))
                peer.send(MessageType.OK, {"id": frame.body["id"], "message": body})
                got["seen"] = seen
                peer.receive()
                return

    connection = ChatConnection.connect(*fake_server(script))
    uploading = threading.Thread(
        target=connection.upload_file, args=(Upload(describe_file(path)),), kwargs={"room": "R"}
    )
    uploading.start()
    assert third_chunk.wait(10)
    connection.say("Général", "hello")
    uploading.join(30)
    connection.close()
    seen = got["seen"]
    assert seen.count("chunk") == 100
    # At most a window (16 chunks) beyond the third, and a few more sent when no FILE_ACK came.
    assert seen.index("say") <= 3 + 16 + 4


def test_a_download_is_checked_and_renamed_from_its_part_file(
    fake_server: Serve, tmp_path: Path
) -> None:
    content = bytes(range(256)) * 700  # 179,200 bytes: 6 chunks
    info = file_info(content, "photo.jpg")

    def script(peer: FakePeer) -> None:
        peer.answer_hello()
        get = peer.receive()
        assert get.type == MessageType.FILE_GET and get.body == {"id": get.body["id"], "file": 5}
        peer.send(MessageType.OK, {"id": get.body["id"], "file": info, "transfer": 3})
        for offset in range(0, len(content), FILE_CHUNK_SIZE):
            piece = content[offset : offset + FILE_CHUNK_SIZE]
            peer.sock.sendall(encode_chunk(MessageType.FILE_DATA, 3, offset, piece))
        peer.receive()

    connection = ChatConnection.connect(*fake_server(script))
    reports: list[tuple[int, int]] = []
    path = connection.download_file(
        5, tmp_path, progress=lambda done, total: reports.append((done, total))
    )
    connection.close()
    assert path == tmp_path / "photo.jpg"
    assert path.read_bytes() == content
    assert not part_path(path).exists()
    assert reports[-1] == (len(content), len(content))


def test_a_cut_download_goes_on_from_its_part_file(fake_server: Serve, tmp_path: Path) -> None:
    content = bytes(range(256)) * 1000
    info = file_info(content, "big.bin")
    asked: list[dict[str, Any]] = []

    def serve(cut_after: int | None) -> Script:
        def script(peer: FakePeer) -> None:
            peer.answer_hello()
            transfer = 0
            while True:  # until the client closes
                request = peer.receive()
                if request.type == MessageType.FILE_CANCEL:
                    peer.send(MessageType.OK, {"id": request.body["id"]})
                    continue
                asked.append(request.body)
                offset = request.body.get("offset", 0)
                transfer += 1
                peer.send(MessageType.OK, {"id": request.body["id"], "file": info,
                                           "transfer": transfer})  # fmt: skip
                sent = 0
                while offset < len(content):
                    if cut_after is not None and sent == cut_after:
                        return  # the connection is cut
                    piece = content[offset : offset + FILE_CHUNK_SIZE]
                    peer.sock.sendall(encode_chunk(MessageType.FILE_DATA, transfer, offset, piece))
                    offset += len(piece)
                    sent += 1

        return script

    connection = ChatConnection.connect(*fake_server(serve(cut_after=3)))
    with pytest.raises(ConnectionLost):
        connection.download_file(5, tmp_path)
    connection.close()
    part = part_path(tmp_path / "big.bin")
    assert part.stat().st_size == 3 * FILE_CHUNK_SIZE
    connection = ChatConnection.connect(*fake_server(serve(cut_after=None)))
    path = connection.download_file(5, tmp_path)
    connection.close()
    assert path.read_bytes() == content
    assert not part.exists()
    # Known by its id only, the second download first learns the name (and cancels that
    # FILE_GET), then asks from what the part holds.
    assert [body.get("offset", 0) for body in asked] == [0, 0, 3 * FILE_CHUNK_SIZE]


def test_a_damaged_download_is_refused_and_not_kept(fake_server: Serve, tmp_path: Path) -> None:
    content = b"the real content" * 100
    info = file_info(content, "notes.txt")

    def script(peer: FakePeer) -> None:
        peer.answer_hello()
        get = peer.receive()
        peer.send(MessageType.OK, {"id": get.body["id"], "file": info, "transfer": 4})
        wrong = b"X" + content[1:]
        peer.sock.sendall(encode_chunk(MessageType.FILE_DATA, 4, 0, wrong))
        peer.receive()

    connection = ChatConnection.connect(*fake_server(script))
    with pytest.raises(DownloadCorrupt):
        connection.download_file(5, tmp_path)
    connection.close()
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_kept_unless_overwrite(fake_server: Serve, tmp_path: Path) -> None:
    content = b"new"
    (tmp_path / "a.txt").write_bytes(b"old")
    cancelled: list[int] = []

    def script(peer: FakePeer) -> None:
        peer.answer_hello()
        get = peer.receive()
        peer.send(MessageType.OK, {"id": get.body["id"], "file": file_info(content, "a.txt"),
                                   "transfer": 4})  # fmt: skip
        peer.sock.sendall(encode_chunk(MessageType.FILE_DATA, 4, 0, content))
        cancel = peer.receive()
        assert cancel.type == MessageType.FILE_CANCEL
        cancelled.append(cancel.body["transfer"])
        peer.send(MessageType.OK, {"id": cancel.body["id"]})
        peer.receive()

    connection = ChatConnection.connect(*fake_server(script))
    with pytest.raises(FileExistsError):
        connection.download_file(5, tmp_path, overwrite=False)
    connection.close()
    assert (tmp_path / "a.txt").read_bytes() == b"old"
    assert cancelled == [4]


def test_a_cancelled_download_tells_the_server_and_leaves_nothing(
    fake_server: Serve, tmp_path: Path
) -> None:
    content = bytes(range(256)) * 1000
    info = file_info(content, "big.bin")
    cancel = threading.Event()
    got: list[int] = []

    def script(peer: FakePeer) -> None:
        peer.answer_hello()
        get = peer.receive()
        peer.send(MessageType.OK, {"id": get.body["id"], "file": info, "transfer": 4})
        peer.sock.sendall(encode_chunk(MessageType.FILE_DATA, 4, 0, content[:FILE_CHUNK_SIZE]))
        request = peer.receive()  # nothing more is sent until the client cancels
        assert request.type == MessageType.FILE_CANCEL
        got.append(request.body["transfer"])
        peer.send(MessageType.OK, {"id": request.body["id"]})
        peer.receive()

    def progress(done: int, total: int) -> None:
        if done > 0:
            cancel.set()

    connection = ChatConnection.connect(*fake_server(script))
    with pytest.raises(TransferCancelledError):
        connection.download_file(5, tmp_path, progress=progress, cancel=cancel)
    connection.close()
    assert got == [4]
    assert list(tmp_path.iterdir()) == []


def test_a_cancelled_upload_tells_the_server(fake_server: Serve, tmp_path: Path) -> None:
    path = make_file(tmp_path, 40)
    cancel = threading.Event()
    got: list[int] = []

    def script(peer: FakePeer) -> None:
        peer.answer_hello()
        receive_upload(peer, 0, ack_every=100, stop_after=2)
        cancel.set()  # the user cancels; no FILE_ACK comes: the client waits, and sees it
        while (frame := peer.receive()).type == MessageType.FILE_CHUNK:
            pass
        assert frame.type == MessageType.FILE_CANCEL
        got.append(frame.body["transfer"])
        peer.send(MessageType.OK, {"id": frame.body["id"]})
        peer.receive()

    connection = ChatConnection.connect(*fake_server(script))
    with pytest.raises(TransferCancelledError):
        connection.upload_file(Upload(describe_file(path)), room="R", cancel=cancel)
    connection.close()
    assert got == [9]
