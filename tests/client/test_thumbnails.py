"""Thumbnails: pictures shrunk with Pillow; anything that is not the picture it claims, refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from guigui.client.thumbnails import THUMBNAIL_SIZE, NotAPicture, make_thumbnail


def picture(path: Path, size: tuple[int, int], kind: str = "PNG") -> Path:
    Image.new("RGB", size, (200, 40, 40)).save(path, kind)
    return path


def test_a_large_picture_is_shrunk_keeping_its_shape(tmp_path: Path) -> None:
    thumbnail = make_thumbnail(picture(tmp_path / "wide.png", (1600, 400)), "image/png")
    assert thumbnail.size == (THUMBNAIL_SIZE[0], 80)
    jpeg = make_thumbnail(picture(tmp_path / "photo.jpg", (800, 1200), "JPEG"), "image/jpeg")
    assert jpeg.height == THUMBNAIL_SIZE[1]


def test_a_small_picture_keeps_its_size(tmp_path: Path) -> None:
    assert make_thumbnail(picture(tmp_path / "icon.gif", (32, 16), "GIF"), "image/gif").size == (
        32,
        16,
    )


def test_what_is_not_that_picture_is_never_decoded(tmp_path: Path) -> None:
    png = picture(tmp_path / "a.png", (10, 10))
    with pytest.raises(NotAPicture):
        make_thumbnail(png, "image/jpeg")  # the content says PNG
    with pytest.raises(NotAPicture):
        make_thumbnail(png, "application/pdf")  # not a picture type at all
    program = tmp_path / "program.png"
    program.write_bytes(b"\x7fELF" + bytes(100))
    with pytest.raises(NotAPicture):
        make_thumbnail(program, "image/png")
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(png.read_bytes()[:40])
    with pytest.raises(NotAPicture):
        make_thumbnail(damaged, "image/png")
