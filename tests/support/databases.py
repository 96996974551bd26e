"""Databases for tests: a fresh SQLite file or a fresh MariaDB database per test.

MariaDB is the machine's server (``GUIGUI_TEST_MYSQL``, default
``mysql://root@127.0.0.1:3306``). Each test gets its own database, dropped
afterwards. Where MariaDB cannot be reached, MySQL tests are skipped, except
in CI (``CI=true``), where that is a failure: CI must run everything.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pymysql

from guigui.server.store import default_database_url
from tests.support.missing import missing

MYSQL_SERVER = os.environ.get("GUIGUI_TEST_MYSQL", "mysql://root@127.0.0.1:3306")
STORE_KINDS = ["sqlite", "mysql"]


def _connect() -> pymysql.connections.Connection:
    from guigui.server.store.mysql_store import MySQLSettings

    settings = MySQLSettings.from_url(f"{MYSQL_SERVER}/mysql")
    return settings.connect(with_database=False)


def require_mariadb() -> None:
    """Skip (or, in CI, fail) the test when MariaDB is not reachable."""
    try:
        _connect().close()
    except pymysql.err.MySQLError as error:
        missing(
            f"MariaDB is not reachable at {MYSQL_SERVER}: {error}",
            "CI must run the MySQL tests (.ci/run starts MariaDB)",
        )


@contextmanager
def fresh_mysql_database() -> Iterator[str]:
    """A new empty database on the test MariaDB; its URL; dropped afterwards."""
    require_mariadb()
    name = f"guigui_test_{uuid.uuid4().hex[:12]}"
    server = _connect()
    try:
        with server.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        yield f"{MYSQL_SERVER}/{name}"
    finally:
        with server.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        server.close()


@contextmanager
def fresh_database(kind: str, directory: Path) -> Iterator[str]:
    """The URL of a fresh database of that kind (``sqlite`` in ``directory``, or ``mysql``)."""
    if kind == "sqlite":
        yield default_database_url(directory)
    else:
        with fresh_mysql_database() as url:
            yield url
