"""Where the desktop client puts files: the user's Downloads folder and its picture cache.

Plain functions over paths (no Tk, no network): the GUI asks them where a
download goes, what to call it when the name is taken, and where the copy of
a picture it shows as a thumbnail is kept.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Collection
from pathlib import Path

from guigui.common.objects import FileInfo


def _xdg_download_dir(home: Path) -> Path | None:
    """``XDG_DOWNLOAD_DIR`` from ``user-dirs.dirs`` (the desktop's own setting), if set."""
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    try:
        lines = (config / "user-dirs.dirs").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        name, equals, value = line.strip().partition("=")
        if name != "XDG_DOWNLOAD_DIR" or not equals:
            continue
        words = shlex.split(value)  # the file's values are shell-quoted: "$HOME/Téléchargements"
        if not words:
            return None
        text = words[0].replace("$HOME", str(home))
        path = Path(text)
        return path if path.is_absolute() and path != home else None
    return None


def downloads_folder(home: Path | None = None) -> Path:
    """Where downloads go: the desktop's Downloads folder (``XDG_DOWNLOAD_DIR``), else
    ``~/Téléchargements`` when it exists (a French system without user-dirs), else
    ``~/Downloads``. Created when missing."""
    home = home or Path.home()
    folder = _xdg_download_dir(home)
    if folder is None:
        french = home / "Téléchargements"
        folder = french if french.is_dir() else home / "Downloads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/guigui``, else ``~/.cache/guigui``: copies of pictures shown."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "guigui"


def is_sha256(text: str) -> bool:
    """Whether ``text`` is a SHA-256 in hex (64 lowercase hex digits), as the server sends."""
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def cached_picture(file: FileInfo) -> Path:
    """Where the copy of a picture is kept, named by its SHA-256 (the same picture sent
    twice is fetched once; a name from the server never becomes a path).

    Raises ``ValueError`` when the SHA-256 the server gave is not one (``../x``
    from a hostile server would otherwise be a path out of the cache).
    """
    if not is_sha256(file.sha256):
        raise ValueError(f"not a SHA-256: {file.sha256!r}")
    return cache_dir() / "pictures" / file.sha256


def free_name(path: Path, taken: Collection[Path] = ()) -> Path:
    """``path`` if it is free, else ``name (2).ext``, ``name (3).ext``...: "keep both".

    A path is taken when something is there, or when it is in ``taken`` (the
    targets of downloads still running, which are not there yet).
    """

    def free(candidate: Path) -> bool:
        return not candidate.exists() and candidate not in taken

    if free(path):
        return path
    stem, suffix = path.stem, path.suffix
    number = 2
    while True:
        candidate = path.with_name(f"{stem} ({number}){suffix}")
        if free(candidate):
            return candidate
        number += 1
