"""Faults: the server killed with SIGKILL mid-traffic, a full disk, a read-only database.

(MariaDB stopping under load is tests/server/test_database_outage.py; a client
vanishing mid-frame is tests/server/test_handshake_and_framing.py.)
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from guigui.common.protocol import MessageType
from guigui.server.handoff import Done, run_on_loop
from guigui.server.store import Store
from guigui.server.store.sqlite_store import SQLiteStore
from tests.conftest import RunningServer
from tests.support.wire import Address, ServerClosed, WireClient

ROOT = Path(__file__).resolve().parents[2]


def start(data_dir: Path, database_url: str) -> tuple[subprocess.Popen[str], Address]:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run_server.py"), "--headless", "--port", "0",
         "--bcrypt-cost", "4", "--message-rate", "0", "--data-dir", str(data_dir),
         "--db", database_url],
        stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:
        found = re.search(r"listening on ([\d.]+):(\d+)", line)
        if found:
            threading.Thread(
                target=lambda: [None for _ in process.stderr or []], daemon=True
            ).start()
            return process, Address(found.group(1), int(found.group(2)))
    raise AssertionError("the server did not start")


class Sender(threading.Thread):
    """Says numbered messages with nonces until the server goes away."""

    def __init__(self, address: Address, login: str) -> None:
        super().__init__(daemon=True)
        self.login = login
        self.client = WireClient(address)
        self.client.hello()
        self.client.register(login)
        self.client.login(login)
        self.acknowledged: dict[str, int] = {}  # nonce -> message id
        self.sent: list[str] = []

    def run(self) -> None:
        number = 0
        try:
            while True:
                number += 1
                nonce = f"{self.login}-{number}"
                self.sent.append(nonce)
                reply = self.client.request(
                    MessageType.SAY, room="Général", text=nonce, nonce=nonce
                )
                if reply.type == MessageType.OK:
                    self.acknowledged[nonce] = reply.body["message"]["id"]
        except (ServerClosed, OSError, TimeoutError):
            return


def test_sigkill_loses_no_acknowledged_message_and_acknowledges_none_twice(
    tmp_path: Path, database_url: str
) -> None:
    process, address = start(tmp_path, database_url)
    senders = [Sender(address, f"sender{n}") for n in range(3)]
    for sender in senders:
        sender.start()
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    for sender in senders:
        sender.join(15)
        sender.client.close()
    assert all(sender.acknowledged for sender in senders)
    process, address = start(tmp_path, database_url)
    try:
        for sender in senders:
            client = WireClient(address)
            client.hello()
            client.login(sender.login)
            for nonce in sender.sent:  # a client resends everything it is unsure of
                reply = client.ok(MessageType.SAY, room="Général", text=nonce, nonce=nonce)
                if nonce in sender.acknowledged:
                    assert reply["message"]["id"] == sender.acknowledged[nonce], (
                        "acknowledged twice"
                    )
            client.close()
        reader = WireClient(address)
        reader.hello()
        reader.login("sender0")
        texts: list[str] = []
        before = None
        while True:
            fields = {"room": "Général", "limit": 100} | ({"before": before} if before else {})
            page = reader.ok(MessageType.HISTORY, **fields)
            texts = [m["text"] for m in page["messages"]] + texts
            if not page["more"]:
                break
            before = page["messages"][0]["id"]
        reader.close()
        for sender in senders:
            for nonce in sender.acknowledged:
                assert texts.count(nonce) == 1
    finally:
        process.terminate()
        process.wait(10)


def on_store(running: RunningServer, action: Callable[[Store], object]) -> None:
    """Run ``action(store)`` on the server's store worker and wait for it."""
    server = running.server

    def submit(done: Done[object]) -> None:
        server.store_worker.submit(action, done)

    run_on_loop(server, submit).result(10)


def sqlite_handle(store: Store) -> sqlite3.Connection:
    assert isinstance(store, SQLiteStore)
    return store._db


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("fault", "repair"),
    [
        # SQLITE_FULL, exactly what a full disk gives: no page may be added.
        ("PRAGMA max_page_count = {pages}", "PRAGMA max_page_count = 1073741823"),
        # A database that refuses writes, as a read-only file does.
        ("PRAGMA query_only = ON", "PRAGMA query_only = OFF"),
    ],
    ids=["disk-full", "read-only"],
)
def test_a_full_disk_or_a_read_only_database_gives_clear_errors_and_no_corruption(
    running_server: RunningServer,
    logged_in: Callable[[str], WireClient],
    fault: str,
    repair: str,
) -> None:
    alice = logged_in("alice")
    kept = alice.ok(MessageType.SAY, room="Général", text="before the fault")["message"]

    def break_it(store: Store) -> None:
        db = sqlite_handle(store)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(fault.format(pages=pages))

    on_store(running_server, break_it)
    for n in range(40):  # enough to need new pages
        refused = alice.request(MessageType.SAY, room="Général", text=f"{n} " + "x" * 3000)
        if refused.type == MessageType.ERROR:
            break
    else:
        raise AssertionError("the fault never showed")
    assert refused.body["code"] == "unavailable" and refused.body["retry_after_ms"] > 0
    assert alice.ok(MessageType.ROOMS)  # the server keeps serving
    assert alice.ok(MessageType.HISTORY, room="Général")["messages"][0] == kept
    on_store(running_server, lambda store: sqlite_handle(store).execute(repair))
    assert alice.ok(MessageType.SAY, room="Général", text="after the repair")
    on_store(
        running_server,
        lambda store: assert_ok(
            sqlite_handle(store).execute("PRAGMA integrity_check").fetchone()[0]
        ),
    )


def assert_ok(result: str) -> None:
    assert result == "ok"
