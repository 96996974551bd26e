"""How a file in a conversation is described to the user: its size in words, picture or not.

No Tk: the message view shows what these functions say, and tests check them
without a display. Sizes use the units of the user's language: ``Ko``, ``Mo``
in French, ``KB``, ``MB`` in English (1 KB = 1024 bytes, as file managers show).
"""

from __future__ import annotations

from guigui.common.file_types import IMAGE_TYPES
from guigui.common.i18n import _
from guigui.common.objects import FileInfo

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


def _one_decimal(value: float, unit_whole: str, unit_decimal: str) -> str:
    tenths = round(value * 10)
    whole, tenth = divmod(tenths, 10)
    if whole >= 10 or tenth == 0:
        return unit_whole.format(whole=round(value))
    return unit_decimal.format(whole=whole, tenth=tenth)


def human_size(size: int) -> str:
    """A size for people: "312 bytes", "48 KB", "2.4 MB" ("48 Ko", "2,4 Mo" in French)."""
    if size < KIB:
        return _("{count} bytes").format(count=size)
    if size < MIB:
        return _one_decimal(size / KIB, _("{whole} KB"), _("{whole}.{tenth} KB"))
    if size < GIB:
        return _one_decimal(size / MIB, _("{whole} MB"), _("{whole}.{tenth} MB"))
    return _one_decimal(size / GIB, _("{whole} GB"), _("{whole}.{tenth} GB"))


def is_picture(file: FileInfo) -> bool:
    """Whether the client shows this file as a thumbnail (the server found a picture type
    in its content); anything else is a card with a download button, never decoded."""
    return file.type in IMAGE_TYPES


def progress_in_words(done: int, total: int) -> str:
    """ "1.2 MB of 4 MB" for a progress bar's label."""
    return _("{done} of {total}").format(done=human_size(done), total=human_size(total))
