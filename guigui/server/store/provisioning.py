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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit

import pymysql

from guigui.server.store import open_store
from guigui.server.store.base import StoreError
from guigui.server.store.mysql_store import MySQLSettings, MySQLStore, quote_identifier

log = logging.getLogger(__name__)

APP_ACCOUNT = "administrateur"
APP_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, REFERENCES"


DEFAULT_APP_HOSTS = ("localhost", "127.0.0.1")
"""Where the server connects from: the unix socket (localhost) and TCP on loopback."""


def needs_app_password(url: str) -> bool:
    """Whether ``init_database`` creates the server's own account, and so needs its password.

    It does on a database server (MySQL/MariaDB), not for an SQLite file.
    """
    return urlsplit(url).scheme == "mysql"


def init_database(
    url: str, app_password: str | None, app_hosts: Sequence[str] = DEFAULT_APP_HOSTS
) -> str:
    """Create what ``url`` names and return a summary of what was done.

    A failure of the database server comes out as ``StoreError``.
    """
    if needs_app_password(url):
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


@contextmanager
def _server_errors(settings: MySQLSettings) -> Iterator[None]:
    """PyMySQL's errors as ``StoreError``: callers of the store know no driver."""
    try:
        yield
    except pymysql.err.MySQLError as error:
        place = settings.unix_socket or f"{settings.host}:{settings.port}"
        raise StoreError(f"MySQL at {settings.user}@{place}: {error}") from error


def _init_mysql(url: str, app_password: str, app_hosts: Sequence[str]) -> str:
    settings = MySQLSettings.from_url(url)
    with _server_errors(settings):
        return _provision_mysql(url, settings, app_password, app_hosts)


def _provision_mysql(
    url: str, settings: MySQLSettings, app_password: str, app_hosts: Sequence[str]
) -> str:
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
