"""Sizes in words, in both languages; which files are shown as pictures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from guigui.client.file_display import human_size, is_picture, progress_in_words
from guigui.common.i18n import set_language
from guigui.common.objects import FileInfo


@pytest.fixture
def french() -> Iterator[None]:
    set_language("fr")
    yield
    set_language("en")


def test_sizes_in_english() -> None:
    assert human_size(0) == "0 bytes"
    assert human_size(1023) == "1023 bytes"
    assert human_size(1024) == "1 KB"
    assert human_size(1536) == "1.5 KB"
    assert human_size(48 * 1024 + 100) == "48 KB"
    assert human_size(int(2.4 * 1024 * 1024)) == "2.4 MB"
    assert human_size(25 * 1024 * 1024) == "25 MB"
    assert human_size(3 * 1024**3) == "3 GB"
    assert progress_in_words(512, 2048) == "512 bytes of 2 KB"


def test_sizes_in_french(french: None) -> None:
    assert human_size(12) == "12 octets"
    assert human_size(1536) == "1,5 Ko"
    assert human_size(int(2.4 * 1024 * 1024)) == "2,4 Mo"
    assert human_size(25 * 1024 * 1024) == "25 Mo"
    assert progress_in_words(1024, 2 * 1024 * 1024) == "1 Ko sur 2 Mo"


def test_only_picture_types_are_pictures() -> None:
    def info(media_type: str) -> FileInfo:
        return FileInfo(1, "x", 10, media_type, "0" * 64)

    assert is_picture(info("image/png"))
    assert is_picture(info("image/jpeg"))
    assert not is_picture(info("image/svg+xml"))  # a picture type the client never decodes
    assert not is_picture(info("application/pdf"))
