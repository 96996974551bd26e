"""A file's media type, found in its content, and whether its name agrees.

The server never trusts the type a client declares nor the name's extension:
it reads the first bytes of the content (``detect_type``) and refuses a file
whose declared type or extension says something else
(``type_mismatch``), so that a program named ``photo.png`` is not shown as
a picture. The client uses the same function to declare the type it offers.

Only the formats people send at work are recognised by their signature;
anything else is ``application/octet-stream``, or ``text/plain`` when it is
UTF-8 text without NUL bytes.
"""

from __future__ import annotations

from pathlib import PurePosixPath

OCTET_STREAM = "application/octet-stream"
TEXT = "text/plain"
HEAD_SIZE = 4096
"""Bytes of the content that ``detect_type`` needs (the start of the file)."""

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),  # after b"RIFF" and a size
    (b"BM", 0, "image/bmp"),
    (b"%PDF-", 0, "application/pdf"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", 0, "application/x-7z-compressed"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "application/x-ole-storage"),  # old Office files
    (b"MZ", 0, "application/x-msdownload"),
    (b"\x7fELF", 0, "application/x-executable"),
)

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
"""Types a client may show as a picture (a thumbnail in the conversation)."""

_EXTENSIONS: dict[str, frozenset[str]] = {
    "image/png": frozenset({".png"}),
    "image/jpeg": frozenset({".jpg", ".jpeg", ".jpe", ".jfif"}),
    "image/gif": frozenset({".gif"}),
    "image/webp": frozenset({".webp"}),
    "image/bmp": frozenset({".bmp"}),
    "application/pdf": frozenset({".pdf"}),
}
"""For the types that have them, the extensions a name may have (any other type: any)."""

_TYPE_OF_EXTENSION = {
    extension: media_type
    for media_type, extensions in _EXTENSIONS.items()
    for extension in extensions
}


def detect_type(head: bytes) -> str:
    """The media type of a file whose content begins with ``head`` (up to ``HEAD_SIZE`` bytes)."""
    for signature, offset, media_type in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            if media_type == "image/webp" and not head.startswith(b"RIFF"):
                continue
            return media_type
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as error:
            if error.start < len(head) - 3:  # not just a character cut at the end of head
                return OCTET_STREAM
        return TEXT
    return OCTET_STREAM


def type_mismatch(name: str, declared: str, detected: str) -> str | None:
    """Why a file named ``name``, declared ``declared``, is not what its content is, or None.

    The declared type must be the detected one, except that a client that
    cannot tell may declare ``application/octet-stream`` for anything but an
    image. A name whose extension belongs to a known type (``.png``, ``.pdf``)
    must hold that type.
    """
    if declared != detected and not (declared == OCTET_STREAM and detected not in IMAGE_TYPES):
        return f"declared {declared}, but the content is {detected}"
    extension = PurePosixPath(name).suffix.lower()
    claimed = _TYPE_OF_EXTENSION.get(extension)
    if claimed is not None and claimed != detected:
        return f"the name ends in {extension}, but the content is {detected}"
    return None
