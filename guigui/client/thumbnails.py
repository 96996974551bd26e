"""Thumbnails of pictures sent in conversations, decoded with Pillow (no Tk here).

Only a file the server typed as a picture (``file_types.IMAGE_TYPES``) and whose
own first bytes say the same is ever decoded, and Pillow is limited to the
formats of that list: a file that is not a picture is never handed to a decoder.
A picture larger than ``MAX_PIXELS`` is refused rather than decoded (a small
file can unpack into gigabytes: a "decompression bomb").
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from guigui.common.file_types import HEAD_SIZE, IMAGE_TYPES, detect_type

THUMBNAIL_SIZE = (320, 220)
"""The largest a thumbnail is drawn in the conversation, in pixels."""
MAX_PIXELS = 50_000_000
"""Pictures with more pixels than this are not decoded (a 50-megapixel photo passes)."""
_PILLOW_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/bmp": "BMP",
}


class NotAPicture(Exception):
    """The file cannot be shown as a thumbnail (not a picture, too large, or damaged)."""


def make_thumbnail(path: Path, declared_type: str) -> Image.Image:
    """The picture at ``path`` shrunk to fit ``THUMBNAIL_SIZE``, as an RGBA image.

    Raises ``NotAPicture`` when the type is not a picture type, the content is
    not that type, the picture is too large, or Pillow cannot decode it.
    """
    if declared_type not in IMAGE_TYPES:
        raise NotAPicture(f"{declared_type} is not a picture type")
    try:
        with path.open("rb") as source:
            head = source.read(HEAD_SIZE)
            if detect_type(head) != declared_type:
                raise NotAPicture("the content is not the picture its type says")
            source.seek(0)
            with Image.open(source, formats=[_PILLOW_FORMATS[declared_type]]) as picture:
                width, height = picture.size
                if width * height > MAX_PIXELS:
                    raise NotAPicture(f"{width}×{height} pixels is too large to show")
                picture.draft("RGB", THUMBNAIL_SIZE)  # JPEG: decode at a smaller scale, faster
                thumbnail = picture.convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise NotAPicture(str(error)) from error
    thumbnail.thumbnail(THUMBNAIL_SIZE)
    return thumbnail
