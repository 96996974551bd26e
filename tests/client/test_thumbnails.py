"""Thumbnails: pictures shrunk with Pillow; anything that is not the picture it claims, refused."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from guigui.client.thumbnails import MAX_PIXELS, THUMBNAIL_SIZE, NotAPicture, make_thumbnail


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


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG of a few bytes that claims ``width`` × ``height`` pixels: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )
    return path


@pytest.mark.parametrize(
    ("width", "height"),
    [(8000, 8000), (30000, 30000)],  # over MAX_PIXELS; over Pillow's own guard, too
)
def test_a_decompression_bomb_is_never_decoded(tmp_path: Path, width: int, height: int) -> None:
    """Refused from its header: the pixels are never unpacked (Pillow's guard stays on)."""
    assert width * height > MAX_PIXELS
    assert Image.MAX_IMAGE_PIXELS is not None  # nothing in the client turns Pillow's guard off
    bomb = png_header_only(tmp_path / "bomb.png", width, height)
    with pytest.raises(NotAPicture, match=r"too large|decompression bomb"):
        make_thumbnail(bomb, "image/png")
