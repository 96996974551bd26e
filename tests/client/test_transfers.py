"""The transfers' state without sockets: chunks, acknowledgements, resumes, hashes, throttling."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from guigui.client.transfers import (
    Download,
    DownloadCorrupt,
    ProgressThrottle,
    Upload,
    UploadSource,
    describe_file,
    download_target,
    part_path,
)
from guigui.common.file_frames import FileChunk
from guigui.common.objects import FileInfo
from guigui.common.protocol import FILE_CHUNK_SIZE, MAX_FILE_NAME_BYTES, MessageType

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def source(size: int) -> UploadSource:
    return UploadSource(Path("/nowhere"), "a.bin", size, "application/octet-stream", "0" * 64)


def data_chunk(offset: int, data: bytes, transfer: int = 3) -> FileChunk:
    return FileChunk(MessageType.FILE_DATA, transfer, offset, data)


# ---- describe_file ------------------------------------------------------------------


def test_describe_file_hashes_and_types_the_content(tmp_path: Path) -> None:
    path = tmp_path / "plan.png"
    content = PNG + bytes(range(256)) * 5000  # over one read block
    path.write_bytes(content)
    described = describe_file(path)
    assert described.sha256 == hashlib.sha256(content).hexdigest()
    assert described.size == len(content)
    assert described.type == "image/png"
    assert described.name == "plan.png"


def test_describe_file_makes_the_name_acceptable(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    described = describe_file(path, name="a:b?.txt ")
    assert described.name == "a_b_.txt"
    assert described.type == "text/plain"


def test_describe_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    described = describe_file(path)
    assert described.size == 0
    assert described.sha256 == hashlib.sha256(b"").hexdigest()


# ---- Upload ------------------------------------------------------------------------


def test_an_upload_sends_from_what_the_server_holds_in_chunks() -> None:
    upload = Upload(source(3 * FILE_CHUNK_SIZE + 10), window=10**9)
    upload.offered(transfer=7, received=FILE_CHUNK_SIZE, max_chunk=60_000)
    assert upload.transfer == 7
    sent = []
    while (chunk := upload.next_chunk()) is not None:
        sent.append(chunk)
        upload.chunk_sent(chunk[1])
    assert sent == [
        (FILE_CHUNK_SIZE, FILE_CHUNK_SIZE),
        (2 * FILE_CHUNK_SIZE, FILE_CHUNK_SIZE),
        (3 * FILE_CHUNK_SIZE, 10),
    ]
    assert upload.all_sent


def test_chunks_are_no_larger_than_the_server_allows() -> None:
    upload = Upload(source(1000))
    upload.offered(transfer=1, received=0, max_chunk=300)
    assert upload.next_chunk() == (0, 300)


def test_the_window_fills_and_acknowledgements_open_it() -> None:
    upload = Upload(source(10 * FILE_CHUNK_SIZE), window=2 * FILE_CHUNK_SIZE)
    upload.offered(transfer=1, received=0, max_chunk=FILE_CHUNK_SIZE)
    full = []
    upload.chunk_sent(FILE_CHUNK_SIZE)
    full.append(upload.window_full)
    upload.chunk_sent(FILE_CHUNK_SIZE)
    full.append(upload.window_full)
    upload.acknowledge(FILE_CHUNK_SIZE)
    full.append(upload.window_full)
    assert full == [False, True, False]
    upload.acknowledge(10)  # an older acknowledgement changes nothing
    assert upload.acknowledged == FILE_CHUNK_SIZE


def test_an_acknowledgement_never_passes_what_was_sent() -> None:
    upload = Upload(source(100))
    upload.offered(transfer=1, received=0, max_chunk=FILE_CHUNK_SIZE)
    upload.chunk_sent(40)
    upload.acknowledge(100)
    assert upload.acknowledged == 40


def test_after_a_cut_the_next_offer_says_where_to_go_on() -> None:
    upload = Upload(source(5 * FILE_CHUNK_SIZE))
    upload.offered(transfer=1, received=0, max_chunk=FILE_CHUNK_SIZE)
    for _ in range(3):
        upload.chunk_sent(FILE_CHUNK_SIZE)
    upload.lost()
    assert upload.transfer is None
    upload.offered(transfer=9, received=2 * FILE_CHUNK_SIZE, max_chunk=FILE_CHUNK_SIZE)
    assert upload.next_chunk() == (2 * FILE_CHUNK_SIZE, FILE_CHUNK_SIZE)


def test_file_incomplete_rewinds_to_what_the_server_has() -> None:
    upload = Upload(source(3 * FILE_CHUNK_SIZE))
    upload.offered(transfer=1, received=0, max_chunk=FILE_CHUNK_SIZE)
    for _ in range(3):
        upload.chunk_sent(FILE_CHUNK_SIZE)
    all_sent_before = upload.all_sent
    upload.rewind(FILE_CHUNK_SIZE)
    assert (all_sent_before, upload.all_sent) == (True, False)
    assert upload.next_chunk() == (FILE_CHUNK_SIZE, FILE_CHUNK_SIZE)


def test_an_empty_file_has_no_chunk() -> None:
    upload = Upload(source(0))
    upload.offered(transfer=1, received=0, max_chunk=FILE_CHUNK_SIZE)
    assert upload.next_chunk() is None
    assert upload.all_sent


# ---- Download ----------------------------------------------------------------------


def info_of(content: bytes, name: str = "f.bin") -> FileInfo:
    return FileInfo(
        id=1,
        name=name,
        size=len(content),
        type="application/octet-stream",
        sha256=hashlib.sha256(content).hexdigest(),
    )


def test_a_download_in_order_is_intact() -> None:
    content = bytes(range(256)) * 300
    download = Download(info_of(content))
    written = b""
    for offset in range(0, len(content), 10_000):
        written += download.accept(data_chunk(offset, content[offset : offset + 10_000]))
    assert written == content
    assert download.finished
    assert download.intact


def test_a_resumed_download_hashes_what_it_held() -> None:
    content = b"x" * 5000 + b"y" * 5000
    download = Download(info_of(content))
    download.absorb_held(content[:3000])
    assert download.received == 3000
    download.accept(data_chunk(3000, content[3000:]))
    assert download.intact


def test_a_chunk_out_of_order_is_refused() -> None:
    download = Download(info_of(b"a" * 100))
    download.accept(data_chunk(0, b"a" * 10))
    with pytest.raises(DownloadCorrupt):
        download.accept(data_chunk(20, b"a" * 10))


def test_a_chunk_past_the_size_is_refused() -> None:
    download = Download(info_of(b"a" * 100))
    with pytest.raises(DownloadCorrupt):
        download.accept(data_chunk(0, b"a" * 101))


def test_other_content_is_not_intact() -> None:
    download = Download(info_of(b"a" * 100))
    download.accept(data_chunk(0, b"b" * 100))
    assert download.finished
    assert not download.intact


def test_an_empty_file_ends_with_one_empty_chunk() -> None:
    download = Download(info_of(b""))
    finished_before = download.finished
    download.accept(data_chunk(0, b""))
    assert (finished_before, download.finished) == (False, True)
    assert download.intact


# ---- ProgressThrottle --------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_reported_at_most_once_per_interval_but_always_at_the_end() -> None:
    clock = FakeClock()
    throttle = ProgressThrottle(0.1, clock)
    assert throttle.due(1, 100)  # the first
    clock.now += 0.05
    assert not throttle.due(2, 100)
    assert throttle.due(100, 100)  # the end, however soon
    clock.now += 0.25
    assert throttle.due(3, 100)


def test_a_thousand_chunks_in_one_second_give_about_ten_reports() -> None:
    clock = FakeClock()
    throttle = ProgressThrottle(0.1, clock)
    reports = 0
    for done in range(1, 1001):
        clock.now += 0.001
        reports += throttle.due(done, 1000)
    assert 10 <= reports <= 12


# ---- paths -------------------------------------------------------------------------


def test_the_part_file_sits_next_to_the_target() -> None:
    assert part_path(Path("/d/plan.png")) == Path("/d/plan.png.part")


def test_the_part_file_name_fits_a_file_system() -> None:
    long_name = "é" * 127 + ".txt"  # 258 bytes: over, once .part is added
    part = part_path(Path("/d") / long_name[:127])
    assert len(part.name.encode("utf-8")) <= MAX_FILE_NAME_BYTES
    assert part.name.endswith(".part")


def test_a_directory_gets_the_file_under_its_safe_name(tmp_path: Path) -> None:
    assert download_target(tmp_path, "../../etc/passwd") == tmp_path / "passwd"
    assert download_target(tmp_path / "mine.txt", "theirs.txt") == tmp_path / "mine.txt"
