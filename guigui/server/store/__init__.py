"""Persistent storage of the chat: the ``Store`` interface and its implementations.

``open_store(url)`` picks the implementation from the URL's scheme; nothing
outside this package needs to know which database a URL names
(``missing_database`` and ``provisioning.needs_app_password`` answer the
questions whose answer depends on it).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from guigui.server.store.base import (
    UNNUMBERED,
    AccessRequestRecord,
    AdminRecord,
    AuditRecord,
    DuplicateKey,
    FileRecord,
    FileUsage,
    MarkedRead,
    ReadStateRecord,
    RoomRecord,
    SanctionRecord,
    SavedBatch,
    Snapshot,
    Store,
    StoredMessage,
    StoreError,
    StoreUnavailable,
    UserRecord,
)

__all__ = [
    "UNNUMBERED",
    "AccessRequestRecord",
    "AdminRecord",
    "AuditRecord",
    "DuplicateKey",
    "FileRecord",
    "FileUsage",
    "MarkedRead",
    "ReadStateRecord",
    "RoomRecord",
    "SanctionRecord",
    "SavedBatch",
    "Snapshot",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoredMessage",
    "UserRecord",
    # With the submodules, so that the API reference (make docs) documents them too.
    "backup",
    "base",
    "default_database_url",
    "migrations",
    "missing_database",
    "mysql_store",
    "open_store",
    "provisioning",
    "relational",
    "sqlite_store",
]


def default_database_url(data_dir: Path) -> str:
    """The embedded database in ``data_dir``: ``sqlite:///<data_dir>/guigui.db``."""
    return f"sqlite:///{data_dir / 'guigui.db'}"


def _sqlite_path(url: str) -> Path:
    """The file of an ``sqlite:///`` URL; ``ValueError`` when it names none."""
    path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
    if not path:
        raise ValueError(f"not an SQLite URL: {url!r} (use sqlite:///path/to/file.db)")
    return Path(path)


def missing_database(url: str) -> Path | None:
    """The SQLite file a URL names when it does not exist (else None), checked without opening.

    Opening it would create an empty database, which a reader (a backup) must
    not do. A database server is only known to be missing by connecting: None.
    """
    if urlsplit(url).scheme != "sqlite":
        return None
    path = _sqlite_path(url)
    return None if path.exists() else path


def shared_by_several_servers(url: str) -> bool:
    """Whether several servers (the nodes of a cluster) can use this database at once.

    A database server (MySQL/MariaDB) can; an SQLite file belongs to one process.
    """
    return urlsplit(url).scheme == "mysql"


def open_store(url: str) -> Store:
    """Open the store a URL names.

    - ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``
    - ``mysql://USER:PASSWORD@HOST:PORT/sae_r309`` (see the MySQL issue)
    """
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = _sqlite_path(url)
        from guigui.server.store.sqlite_store import SQLiteStore

        return SQLiteStore(path)
    if parts.scheme == "mysql":
        from guigui.server.store.mysql_store import MySQLStore

        return MySQLStore(url)
    raise ValueError(f"unknown database URL scheme in {url!r}: use sqlite:/// or mysql://")
