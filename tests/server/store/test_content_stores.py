"""The two ``ContentStore``s (a directory; the database, for a cluster) keep the same contract.

Both implementations run the same tests: the database one on SQLite and on
MariaDB (the ``store`` fixture), the directory one in the test's directory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from guigui.common.errors import ProtocolError
from guigui.common.protocol import ErrorCode
from guigui.server.file_storage import ContentStore, DatabaseContent, DirectoryContent
from guigui.server.store import Store
from guigui.server.store.relational import RelationalStore

DATA = bytes(range(256)) * 300  # 76,800 bytes
SHA = hashlib.sha256(DATA).hexdigest()
ALICE, BOB = 1, 2


@pytest.fixture(params=["directory", "database"])
def content(request: pytest.FixtureRequest, tmp_path: Path, store: Store) -> Iterator[ContentStore]:
    """Each implementation (the database one on each database kind)."""
    if request.param == "directory":
        yield DirectoryContent(tmp_path / "files")
    else:
        assert isinstance(store, RelationalStore)
        yield DatabaseContent(store)


def write(content: ContentStore, user: int, start: int, end: int, step: int = 30_000) -> None:
    for offset in range(start, end, step):
        piece = DATA[offset : min(end, offset + step)]
        content.write_partial(user, SHA, offset, piece, sync=True)


def test_an_upload_resumes_is_checked_placed_once_and_read_back(content: ContentStore) -> None:
    assert content.partial_size(ALICE, SHA) == 0
    write(content, ALICE, 0, 60_000)
    assert content.partial_size(ALICE, SHA) == 60_000
    with pytest.raises(ProtocolError) as incomplete:
        content.check_partial(ALICE, SHA, len(DATA))
    assert incomplete.value.code == ErrorCode.FILE_INCOMPLETE
    assert incomplete.value.details["received"] == 60_000
    write(content, ALICE, 60_000, len(DATA))
    assert content.check_partial(ALICE, SHA, len(DATA)) == DATA[:4096]
    assert not content.has(SHA)
    content.place(ALICE, SHA)
    assert content.has(SHA) and content.partial_size(ALICE, SHA) == 0
    assert content.read(SHA, 0, 100) == DATA[:100]
    assert content.read(SHA, 29_990, 20) == DATA[29_990:30_010]  # across two chunks
    assert content.read(SHA, len(DATA) - 5, 100) == DATA[-5:]
    # Bob sends the same content: one copy stays.
    write(content, BOB, 0, len(DATA), step=65_000)
    content.check_partial(BOB, SHA, len(DATA))
    content.place(BOB, SHA)
    assert content.read(SHA, 0, len(DATA)) == DATA and content.partial_size(BOB, SHA) == 0
    content.remove(SHA)
    assert not content.has(SHA)


def test_a_wrong_content_is_dropped_and_a_new_start_replaces_the_old(
    content: ContentStore,
) -> None:
    content.write_partial(ALICE, SHA, 0, b"not this", sync=True)
    with pytest.raises(ProtocolError) as wrong:
        content.check_partial(ALICE, SHA, 8)
    assert wrong.value.code == ErrorCode.CHECKSUM_MISMATCH
    assert content.partial_size(ALICE, SHA) == 0
    content.write_partial(ALICE, SHA, 0, b"first try, longer", sync=True)
    write(content, ALICE, 0, len(DATA))
    assert content.partial_size(ALICE, SHA) == len(DATA)
    content.check_partial(ALICE, SHA, len(DATA))
    content.drop_partial(ALICE, SHA)
    assert content.partial_size(ALICE, SHA) == 0
