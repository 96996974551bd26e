"""The files an admin lists and deletes, and how the panel and the console word them.

``AdminAPI.files`` turns the store's ``FileRecord`` rows (ids) into
``ListedFile`` (the names an admin reads: the owner's login, the room or the
other person of a direct conversation). This module holds no server state:
it says a size, a conversation and a whole line the same way in both views,
in the admin's language.
"""

from __future__ import annotations

from dataclasses import dataclass

from guigui.common.i18n import _
from guigui.server.admin import moments
from guigui.server.admin.search import one_line

DEFAULT_FILE_LIMIT = 200
"""Files one listing shows when the admin gives no limit (newest first)."""
MAX_FILE_LIMIT = 1000
"""Most files one listing shows."""


@dataclass(frozen=True)
class ListedFile:
    """A live file as the admin reads it."""

    id: int
    owner: str
    """The login of the user who sent it."""
    name: str
    size: int
    """Bytes."""
    type: str
    """The media type the server found in the content."""
    room: str | None
    """The room it was sent in, or None for a direct conversation."""
    to: str | None
    """The other person of a direct conversation (None in a room)."""
    created_at: int
    """Unix time in milliseconds."""


def size_words(size: int) -> str:
    """``512 B``, ``47.1 KiB``, ``25 MiB`` (``47,1 Kio`` in French): binary units, as the limits."""
    if size < 1024:
        return _("{count} B").format(count=size)
    templates = (_("{amount} KiB"), _("{amount} MiB"), _("{amount} GiB"), _("{amount} TiB"))
    amount, unit = size / 1024, 0
    while amount >= 1024 and unit < len(templates) - 1:
        amount, unit = amount / 1024, unit + 1
    shown = f"{amount:.0f}" if amount >= 100 or amount.is_integer() else f"{amount:.1f}"
    # The decimal separator is translated: "," in French.
    return templates[unit].format(amount=shown.replace(".", _(".")))


def conversation(file: ListedFile) -> str:
    """Where a file was sent, in words: the room, or ``to bob`` for a direct conversation."""
    if file.room is not None:
        return file.room
    return _("to {login}").format(login=file.to)


def storage_words(files: int, size: int) -> str:
    """The storage used, in words: ``12 file(s), 3.4 MiB``."""
    return _("{count} file(s), {size}").format(count=files, size=size_words(size))


def describe_file(file: ListedFile) -> str:
    """One line for the console: id, time, owner, conversation, size, type, name (escaped)."""
    return (
        f"#{file.id} {moments.moment(file.created_at)} {file.owner} {conversation(file)}"
        f" {size_words(file.size)} {file.type}: {one_line(file.name)}"
    )


__all__ = [
    "DEFAULT_FILE_LIMIT",
    "MAX_FILE_LIMIT",
    "ListedFile",
    "conversation",
    "describe_file",
    "size_words",
    "storage_words",
]
