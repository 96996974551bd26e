"""Personal data on a live server: retention, export and erasure of an account (GDPR).

Over real sockets on both stores; the admin side through ``PersonalData`` on
the loop thread, as the admin API calls it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from guigui.common.protocol import ErrorCode, MessageType
from guigui.server import retention
from guigui.server.clock import now_ms
from guigui.server.handoff import Done, run_on_loop
from guigui.server.personal_data import PersonalData
from guigui.server.retention import RETENTION_AUDITOR
from guigui.server.store import AccessRequestRecord, StoredMessage, open_store
from tests.conftest import RunningServer
from tests.support.wire import TIMEOUT, WireClient

LoggedIn = Callable[[str], WireClient]
ServerFactory = Callable[..., RunningServer]


def personal(running: RunningServer, call: Callable[[PersonalData, Done[Any]], None]) -> Any:
    """Run one call on the server's loop and wait for its outcome."""
    data = PersonalData(running.server)
    return run_on_loop(running.server, lambda done: call(data, done)).result(timeout=10)


def history(client: WireClient) -> list[str]:
    return [m["text"] for m in client.ok(MessageType.HISTORY, room="Général")["messages"]]


def test_retention_deletes_old_messages_and_audits_it(
    server_factory: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = server_factory()
    alice = WireClient(first.address)
    alice.hello()
    alice.register("alice")
    alice.login("alice")
    alice.ok(MessageType.SAY, room="Général", text="today")
    alice.close()
    first.server.stop(timeout=15)
    store = open_store(first.database_url)
    try:
        sender = store.load_snapshot(0).users[0].id
        old = now_ms() - 40 * retention.DAY_MS
        store.save_messages(
            [StoredMessage(1000 + i, 1, sender, None, f"old {i}", old + i) for i in range(3)]
        )
    finally:
        store.close()
    monkeypatch.setattr(retention, "FIRST_PURGE_DELAY", 0.0)
    second = server_factory(message_retention_days=30)
    reader = WireClient(second.address)
    reader.hello()
    reader.login("alice")
    deadline = time.monotonic() + TIMEOUT
    while history(reader) != ["today"]:
        assert time.monotonic() < deadline, history(reader)
        time.sleep(0.05)
    store = open_store(second.database_url)
    try:
        audit = store.list_audit(5)
    finally:
        store.close()
    assert (audit[0].admin_login, audit[0].target) == (RETENTION_AUDITOR, "3 messages")


def test_retention_is_off_unless_set(server_factory: ServerFactory) -> None:
    assert server_factory().server.config.message_retention_days is None
    with pytest.raises(ValueError):
        server_factory(message_retention_days=0)


def test_an_admin_exports_what_is_kept_about_a_user(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    alice.ok(MessageType.SAY, room="Général", text="bonjour")
    bob.ok(MessageType.DIRECT, to="alice", text="salut alice")
    bob.ok(MessageType.SAY, room="Général", text="not alice's")
    export = personal(running_server, lambda p, done: p.export("ALICE", "chief", done))
    text = json.dumps(export)
    assert export["user"]["login"] == "alice" and "password" not in text
    assert [m["text"] for m in export["messages_sent"]] == ["bonjour"]
    assert export["messages_sent"][0]["ip"] == "127.0.0.1"
    assert [(m["from"], m["text"]) for m in export["direct_messages_received"]] == [
        ("bob", "salut alice")
    ]
    assert "not alice's" not in text
    assert export["connections"] and export["rooms"][0]["room"] == "Général"
    with pytest.raises(LookupError):
        personal(running_server, lambda p, done: p.export("nobody", "chief", done))


def test_erasing_an_account_closes_it_keeps_its_messages_and_frees_its_login(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    alice.ok(MessageType.SAY, room="Général", text="je pars")
    alice.ok(MessageType.JOIN, room="Informatique")  # a pending request, forgotten
    placeholder = personal(running_server, lambda p, done: p.erase("alice", "chief", done))
    assert placeholder.startswith("deleted#")
    alice.expect_closed()
    messages = bob.ok(MessageType.HISTORY, room="Général")["messages"]
    assert [(m["from"], m["text"]) for m in messages] == [(placeholder, "je pars")]
    again = WireClient(running_server.address)
    again.hello()
    refused = again.request(MessageType.LOGIN, login="alice", password="correct horse")
    assert refused.body["code"] == ErrorCode.BAD_CREDENTIALS
    assert bob.error(MessageType.DIRECT, to=placeholder, text="?")["code"] == "no_such_user"
    old_conversation = bob.ok(MessageType.HISTORY, **{"with": placeholder})["messages"]
    assert old_conversation == []  # readable, though empty here
    again.register("alice")  # the login and the email are free again
    fresh = again.login("alice")
    assert fresh["user"]["login"] == "alice"

    def pending(done: Done[list[AccessRequestRecord]]) -> None:
        done(running_server.server.rooms.pending_requests())

    assert run_on_loop(running_server.server, pending).result(10) == []
    with pytest.raises(LookupError):
        personal(running_server, lambda p, done: p.erase(placeholder, "chief", done))
