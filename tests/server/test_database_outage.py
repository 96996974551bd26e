"""MariaDB stops while clients send, then comes back: nothing acknowledged is lost.

The test runs its own MariaDB (``PrivateMariaDB``) so that it can kill and
restart it without touching the machine's server.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from guigui.common.protocol import MessageType
from guigui.server.chat_server import ChatServer
from guigui.server.store import open_store
from guigui.server.store.migrations import load_migrations
from tests.conftest import make_test_config
from tests.support.private_mariadb import PrivateMariaDB
from tests.support.wire import Address, WireClient

SENDERS = 3
TABLES = {
    "users", "rooms", "memberships", "access_requests", "messages", "sanctions", "tokens",
    "connection_log", "admins", "admin_audit", "schema_version",
}  # fmt: skip


@pytest.fixture
def mariadb(tmp_path: Path) -> Iterator[PrivateMariaDB]:
    """A MariaDB server of this test's own."""
    database = PrivateMariaDB(tmp_path / "mariadb")
    database.start()
    database.execute("CREATE DATABASE sae_r309 CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    yield database
    database.stop()


class Sender(threading.Thread):
    """A client that keeps saying numbered messages, recording every reply."""

    def __init__(self, address: Address, login: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.client = WireClient(address)
        self.client.hello()
        self.client.register(login)
        self.client.login(login)
        self.login = login
        self.stop_sending = stop
        self.acknowledged: dict[str, int] = {}  # text -> message id
        self.unavailable = 0
        self.other_errors: list[dict[str, object]] = []
        self.failure: BaseException | None = None

    def run(self) -> None:
        number = 0
        try:
            while not self.stop_sending.is_set():
                number += 1
                text = f"{self.login} #{number}"
                reply = self.client.request(
                    MessageType.SAY, room="Général", text=text, nonce=f"{self.login}-{number}"
                )  # a hang would raise TimeoutError here: the server must always answer
                if reply.type == MessageType.OK:
                    self.acknowledged[text] = reply.body["message"]["id"]
                elif reply.body["code"] == "unavailable":
                    assert reply.body["retry_after_ms"] > 0
                    self.unavailable += 1
                    time.sleep(0.05)
                else:
                    self.other_errors.append(reply.body)
                time.sleep(0.005)
        except BaseException as error:
            self.failure = error


def history_texts(address: Address) -> dict[str, int]:
    reader = WireClient(address)
    reader.hello()
    reader.register("reader")
    reader.login("reader")
    found: dict[str, int] = {}
    before = None
    while True:
        fields = {"room": "Général", "limit": 100} | ({"before": before} if before else {})
        page = reader.ok(MessageType.HISTORY, **fields)
        found.update({m["text"]: m["id"] for m in page["messages"]})
        if not page["more"]:
            reader.close()
            return found
        before = page["messages"][0]["id"]


def test_every_acknowledged_message_survives_a_database_outage(
    mariadb: PrivateMariaDB, tmp_path: Path
) -> None:
    server = ChatServer(make_test_config(mariadb.url("sae_r309")))
    server.start()
    address = Address(*server.address)
    stop = threading.Event()
    senders = [Sender(address, f"sender{n}", stop) for n in range(SENDERS)]
    watcher = WireClient(address)
    watcher.hello()
    try:
        for sender in senders:
            sender.start()
        time.sleep(1.0)
        mariadb.stop(crash=True)
        outage_started = time.monotonic()
        while time.monotonic() - outage_started < 3.0:
            # The server keeps answering what needs no database.
            watcher.send(MessageType.PING, {"nonce": "still there?"})
            assert watcher.receive(timeout=5).body == {"nonce": "still there?"}
            time.sleep(0.2)
        assert all(sender.unavailable > 0 for sender in senders), "no unavailable during the outage"
        acknowledged_before_restart = sum(len(s.acknowledged) for s in senders)
        mariadb.start()
        deadline = time.monotonic() + 20
        while sum(len(s.acknowledged) for s in senders) < acknowledged_before_restart + 30:
            assert time.monotonic() < deadline, "the server did not resume storing messages"
            time.sleep(0.1)
    finally:
        stop.set()
        for sender in senders:
            sender.join(15)
    for sender in senders:
        assert sender.failure is None, sender.failure
        assert sender.other_errors == []
    stored = history_texts(address)
    for sender in senders:
        for text, message_id in sender.acknowledged.items():
            assert stored.get(text) == message_id, f"acknowledged {text!r} is not in history"
    server.stop(timeout=15)
    for sender in senders:
        sender.client.close()
    watcher.close()


def test_init_db_on_an_empty_mariadb_is_safe_to_run_twice(tmp_path: Path) -> None:
    mariadb = PrivateMariaDB(tmp_path / "mariadb")
    mariadb.start()
    try:
        root = Path(__file__).resolve().parents[2]
        command = [sys.executable, str(root / "run_server.py"), "init-db",
                   "--db", mariadb.url("sae_r309"), "--app-password-stdin"]  # fmt: skip
        for _ in range(2):
            done = subprocess.run(
                command, input="app password 42\n", capture_output=True, text=True, cwd=root
            )
            assert done.returncode == 0, done.stderr
        tables = {row[0] for row in mariadb.execute("SHOW TABLES FROM sae_r309")}
        assert tables >= TABLES
        assert mariadb.execute("SELECT COUNT(*) FROM sae_r309.rooms") == [(5,)]
        versions = mariadb.execute("SELECT version FROM sae_r309.schema_version ORDER BY version")
        assert versions == [(m.version,) for m in load_migrations("mysql")]
        grants = " ".join(
            str(row[0]) for row in mariadb.execute("SHOW GRANTS FOR 'administrateur'@'127.0.0.1'")
        )
        assert "ON `sae_r309`.*" in grants and "DROP" not in grants and "GRANT OPTION" not in grants
        app_url = mariadb.url("sae_r309").replace("root@", "administrateur:app%20password%2042@")
        store = open_store(app_url)
        assert store.load_snapshot(0).rooms[0].name == "Général"
        store.close()
        no_password = subprocess.run(command, input="\n", capture_output=True, text=True, cwd=root)
        assert no_password.returncode == 1
    finally:
        mariadb.stop()
