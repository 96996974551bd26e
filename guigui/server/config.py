"""The server's settings, with their defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from guigui.common.protocol import (
    DEFAULT_FILE_QUOTA,
    DEFAULT_HEARTBEAT,
    DEFAULT_MAX_FILE,
    DEFAULT_MAX_FRAME,
    DEFAULT_MAX_TEXT,
    DEFAULT_PORT,
)

MESSAGE_OVERHEAD = 1024
"""Bytes a message's frame needs beside its text (ids, logins, room name, JSON keys)."""
WORST_BYTES_PER_CHARACTER = 6
"""A control character is written ``\u0000`` in JSON: six bytes for one character."""

DEFAULT_BCRYPT_COST = 12
"""bcrypt cost factor: about 0.3 s per hash on a current CPU. Tests lower it, never the default."""


@dataclass(frozen=True)
class ServerConfig:
    """Everything a ``ChatServer`` can be told; the defaults suit a company LAN."""

    database_url: str
    """``sqlite:///path/to/guigui.db`` (the embedded default) or a MySQL URL."""
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    """0 picks any free port (the actual one is logged and in ``ChatServer.address``)."""
    bcrypt_cost: int = DEFAULT_BCRYPT_COST
    max_frame: int = DEFAULT_MAX_FRAME
    max_text: int = DEFAULT_MAX_TEXT
    heartbeat: float = DEFAULT_HEARTBEAT
    """Seconds of silence before the server sends PING; 3 times that closes the connection."""
    output_cap: int = 1024 * 1024
    """Unsent bytes a connection may keep after a write attempt before it is closed as too slow."""
    write_coalescing: float = 0.001
    """Seconds a connection written to less than that long ago waits for more output, so a
    steady stream leaves in fewer ``send()`` calls; an idle one is written at once (0: off)."""
    store_high_water: int = 2048
    """Jobs waiting for the store worker past which the loop stops reading the senders."""
    store_low_water: int = 512
    """... and below which it reads them again (flow control, see ``ChatServer.done_reading``)."""
    backlog: int = 1024
    stop_timeout: float = 10.0
    """Seconds a clean stop waits for pending work (stores, flushes) before closing anyway."""

    # ---- protections (see docs/SECURITY.md) -----------------------------------
    hello_timeout: float = 10.0
    """A connection that has not completed HELLO (and TLS) within this is closed (slowloris)."""
    max_connections_per_ip: int = 64
    """Open connections allowed from one IP address (0: no limit)."""
    login_free_failures: int = 5
    """Failed logins allowed per account before it is locked for a while (per IP: 4 times more)."""
    login_first_lock: float = 2.0
    """Seconds of the first lock; each further failure doubles it."""
    login_max_lock: float = 300.0
    registrations_per_ip_per_hour: int = 20
    """Accounts one IP may create per hour (0: no limit)."""
    message_rate: float = 10.0
    """Messages (SAY, DIRECT) per second per connection, on average (0: no limit)."""
    message_burst: int = 30
    """Messages a connection may send at once before the rate applies."""
    max_file: int = DEFAULT_MAX_FILE
    """Largest file a user may send, in bytes (announced by HELLO; ``--max-file-mb``)."""
    file_quota: int = DEFAULT_FILE_QUOTA
    """Bytes of live files one user may have in all (``--file-quota-mb``); the uploads
    in progress count too (at the size offered), and those left unfinished (at the
    bytes held)."""
    max_uploads: int = 8
    """Uploads one user may have in progress at once on one server (``--max-uploads``)."""
    partial_max_age: float = 24 * 3600.0
    """Seconds an unfinished upload may stay untouched before it is removed."""
    files_dir: str | None = None
    """Where the content of files lives; None: ``files/`` beside an SQLite database,
    else ``<default data dir>/files`` (run_server.py passes ``<data dir>/files``)."""
    files_in_database: bool = False
    """Keep the content of files in the database (always, in a cluster: every node serves
    every file) rather than in ``files_dir``."""
    message_retention_days: int | None = None
    """Messages older than this many days are deleted (checked hourly); None keeps them all."""
    tls_cert: str | None = None
    """PEM certificate (chain): with ``tls_key``, clients must speak TLS."""
    tls_key: str | None = None
    cluster_url: str | None = None
    """``redis://HOST:PORT/DB``: this server is one node of a cluster (``--cluster``)."""
    node_name: str = ""
    """This node's name in the cluster (``--node-name``; default ``host:port``)."""
    cluster_channel: str = ""
    """The Redis pub/sub channel the nodes of one cluster share (default: named after the
    database they share, ``guigui:sae_r309``, so two clusters on one Redis never mix)."""

    def __post_init__(self) -> None:
        """Refuse settings that cannot work (a message must fit in one frame)."""
        if self.max_uploads < 1:
            raise ValueError("max_uploads must be at least 1")
        if self.partial_max_age <= 0:
            raise ValueError("partial_max_age must be positive")
        if self.message_retention_days is not None and self.message_retention_days < 1:
            raise ValueError("message_retention_days must be at least 1 (or None: keep all)")
        needed = self.max_text * WORST_BYTES_PER_CHARACTER + MESSAGE_OVERHEAD
        if needed > self.max_frame:
            raise ValueError(
                f"max_frame {self.max_frame} is too small for messages of max_text "
                f"{self.max_text} characters: it must be at least {needed} bytes"
            )


def default_data_dir() -> Path:
    """Where the embedded database lives unless told otherwise: ``./data``."""
    return Path("data")


def files_directory(config: ServerConfig) -> Path:
    """The directory of the content of files: ``files_dir``, or ``files/`` by the database."""
    if config.files_dir is not None:
        return Path(config.files_dir)
    prefix = "sqlite:///"
    if config.database_url.startswith(prefix):
        path = unquote(config.database_url[len(prefix) :].split("?", 1)[0])
        if path and path != ":memory:":
            return Path(path).parent / "files"
    return default_data_dir() / "files"
