"""What a file name may be, on the wire: a plain name, never a path (PROTOCOL.md section 7).

The server refuses a FILE_OFFER whose name breaks these rules (``invalid_field``,
field ``name``), and both clients check a name the same way before offering
it (``safe_file_name`` turns any local file's name into an acceptable one).
A client saving a download applies ``safe_file_name`` again: a name it gets
from the server is never trusted as a path.
"""

from __future__ import annotations

import unicodedata

from guigui.common.protocol import MAX_FILE_NAME_BYTES

_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{n}" for n in range(1, 10)}
    | {f"lpt{n}" for n in range(1, 10)}
)
_FORBIDDEN = frozenset('/\\:*?"<>|')
"""Path separators, and what Windows refuses in a name."""


def file_name_problem(name: str) -> str | None:
    """Why ``name`` is not an acceptable file name, or None.

    A name is 1 to 255 bytes of UTF-8; holds no path separator (``/``, ``\\``)
    nor any of ``: * ? " < > |``; no control character (Unicode category
    ``Cc``), bidi control or other format character (``Cf``); does not begin
    or end with a space or a period, is not ``.`` or ``..``, and is not a name
    Windows reserves (``CON``, ``NUL``, ``COM1``..., with any extension).
    """
    if not name:
        return "the name is empty"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_FILE_NAME_BYTES:
        return f"the name is longer than {MAX_FILE_NAME_BYTES} bytes"
    for character in name:
        if character in _FORBIDDEN:
            return f"the name holds {character!r} (a name is not a path)"
        category = unicodedata.category(character)
        if category in ("Cc", "Cf", "Cs") or character in _BIDI_CONTROLS:
            return f"the name holds the control character U+{ord(character):04X}"
    if name[0] in " ." or name[-1] in " .":
        return "the name begins or ends with a space or a period"
    if name.split(".")[0].lower() in _WINDOWS_RESERVED:
        return f"{name!r} is a name Windows reserves"
    return None


def safe_file_name(name: str, fallback: str = "file") -> str:
    """``name`` made acceptable: its last path component, forbidden characters as ``_``.

    What ``file_name_problem`` would refuse is replaced or cut, so the result
    always passes it (``fallback`` when nothing of ``name`` is left).
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(
        "_"
        if character in _FORBIDDEN
        or character in _BIDI_CONTROLS
        or unicodedata.category(character) in ("Cc", "Cf", "Cs")
        else character
        for character in base
    ).strip(" .")
    if not kept:
        kept = fallback
    if kept.split(".")[0].lower() in _WINDOWS_RESERVED:
        kept = "_" + kept
    while len(kept.encode("utf-8")) > MAX_FILE_NAME_BYTES:
        stem, dot, extension = kept.rpartition(".")
        if dot and stem and len(extension) < 16:
            kept = stem[:-1].rstrip(" .") + "." + extension
        else:
            kept = kept[:-1]
        kept = kept.strip(" .") or fallback
    return kept
