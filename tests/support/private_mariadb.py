"""A MariaDB server of the test's own, in a temporary directory.

Tests that stop and restart the database, or need an empty server, start one
of these instead of touching the machine's MariaDB: ``mariadb-install-db``
creates a data directory, ``mariadbd`` serves it on a free loopback port.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pymysql

from tests.support.missing import missing
from tests.support.ports import free_port
from tests.support.private_server import PrivateServer

INSTALL_DB = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
SERVER = shutil.which("mariadbd") or "/usr/sbin/mariadbd"


class PrivateMariaDB(PrivateServer):
    """One throw-away MariaDB server: ``start``, ``stop``, ``start`` again (same data)."""

    name = "MariaDB"

    def __init__(self, directory: Path) -> None:
        if not (Path(INSTALL_DB).exists() and Path(SERVER).exists()):
            missing(
                "MariaDB binaries (mariadb-install-db, mariadbd) are not installed",
                ".ci/run installs mariadb-server",
            )
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        super().__init__(directory / "mariadbd.log")
        root = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run(
            [INSTALL_DB, "--no-defaults", f"--datadir={self.data}", "--skip-test-db",
             "--auth-root-authentication-method=normal", *root],
            check=True,
            capture_output=True,
        )  # fmt: skip

    def url(self, database: str) -> str:
        """A ``mysql://`` URL for ``database`` on this server, as root."""
        return f"mysql://root@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it accepts connections."""
        root = ["--user=root"] if os.geteuid() == 0 else []
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [SERVER, "--no-defaults", f"--datadir={self.data}", f"--port={self.port}",
                 "--bind-address=127.0.0.1", f"--socket={self.directory / 'mysqld.sock'}",
                 f"--pid-file={self.directory / 'mysqld.pid'}", "--innodb-buffer-pool-size=32M",
                 "--skip-log-bin", *root],
                stdout=log,
                stderr=log,
            )  # fmt: skip
        self.wait_until_ready(self._answers, timeout, pause=0.1)

    def _answers(self) -> bool:
        try:
            pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="").close()
        except pymysql.err.MySQLError:
            return False
        return True

    def execute(self, sql: str) -> list[tuple[object, ...]]:
        """Run one statement as root; return its rows."""
        connection = pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="")
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())
        finally:
            connection.close()
