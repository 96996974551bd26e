"""``run_server.py init-db``: create the database, its schema and the server's account.

For MySQL/MariaDB, run as an account that may create databases and users (root):

1. ``CREATE DATABASE IF NOT EXISTS sae_r309`` in utf8mb4;
2. apply the migrations not applied yet (recorded in ``schema_version``);
3. create (or update the password of) the account ``administrateur`` with
   only what the server needs on ``sae_r309``: reading and writing rows, and
   creating or altering tables and indexes so it can apply later migrations
   at start. No DROP, no GRANT, nothing outside ``sae_r309``.

Running it twice is safe. For SQLite it creates the file and applies migrations.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from guigui.server.store import open_store
from guigui.server.store.mysql_store import MySQLSettings, MySQLStore, quote_identifier

log = logging.getLogger(__name__)

APP_ACCOUNT = "administrateur"
APP_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, REFERENCES"


DEFAULT_APP_HOSTS = ("localhost", "127.0.0.1")
"""Where the server connects from: the unix socket (localhost) and TCP on loopback."""


def init_database(
    url: str, app_password: str | None, app_hosts: Sequence[str] = DEFAULT_APP_HOSTS
) -> str:
    """Create what ``url`` names and return a summary of what was done."""
    if url.startswith("mysql://"):
        if not app_password:
            raise ValueError(
                f"give the password of the {APP_ACCOUNT!r} account (no default exists)"
            )
        return _init_mysql(url, app_password, app_hosts)
    store = open_store(url)
    try:
        store.migrate()
    finally:
        store.close()
    return f"database ready: {url}"


def _init_mysql(url: str, app_password: str, app_hosts: Sequence[str]) -> str:
    settings = MySQLSettings.from_url(url)
    database = quote_identifier(settings.database)
    server = settings.connect(with_database=False)
    try:
        with server.cursor() as cursor:
            cursor.execute(
                f"CREATE DATABASE IF NOT EXISTS {database}"
                " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            )
    finally:
        server.close()
    store = MySQLStore(url)
    try:
        store.migrate()
        version = store.schema_version()
    finally:
        store.close()
    server = settings.connect(with_database=False)
    try:
        with server.cursor() as cursor:
            for host in app_hosts:
                # Account names and passwords are bound as string literals (%s), never formatted.
                account = (APP_ACCOUNT, host)
                cursor.execute(
                    "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (*account, app_password)
                )
                cursor.execute("ALTER USER %s@%s IDENTIFIED BY %s", (*account, app_password))
                cursor.execute(f"GRANT {APP_PRIVILEGES} ON {database}.* TO %s@%s", account)
        server.commit()
    finally:
        server.close()
    return (
        f"database {settings.database} ready (schema version {version});"
        f" account '{APP_ACCOUNT}'@{'/'.join(app_hosts)} may {APP_PRIVILEGES} on it"
    )
