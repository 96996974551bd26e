"""Messages the database refuses, sent at the same moment as honest ones, over real sockets.

Before the fix, one message that could not be stored failed its whole group
commit: the honest messages written in the same transaction were refused
with ``internal`` (90 of 120 in one run). Now the store worker saves a failed
group commit's messages one at a time: honest messages are stored and
acknowledged, and only the poisoned ones get an ERROR.

The server's validation stops what used to poison a commit (lone surrogates),
so the test store poisons rows itself, the way a bad row really fails: the
messages whose text holds ``MARKER`` reach the real database either with a
sender that does not exist (a foreign key violation: the driver's
IntegrityError on SQLite; on MariaDB, INSERT IGNORE skips the row and the
store refuses the batch) or with a lone surrogate in their text (the driver
cannot encode it).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from guigui.common.protocol import MessageType
from guigui.server.chat_server import ChatServer
from guigui.server.store import SavedBatch, Store, StoredMessage
from guigui.server.store.mysql_store import MySQLStore
from guigui.server.store.sqlite_store import SQLiteStore
from tests.conftest import make_test_config
from tests.support.wire import Address, WireClient

MARKER = "☠"
SENDERS = 4
MESSAGES_EACH = 12
NO_SUCH_USER = 999_999

Poison = Callable[[StoredMessage], StoredMessage]

POISONS: dict[str, Poison] = {
    "dangling-sender": lambda m: dataclasses.replace(m, sender_id=NO_SUCH_USER),
    "lone-surrogate": lambda m: dataclasses.replace(m, text=m.text.replace(MARKER, "\ud800")),
}


def poisoned(messages: Sequence[StoredMessage], poison: Poison) -> list[StoredMessage]:
    """The batch as the test store writes it: marked messages made unstorable."""
    return [poison(m) if MARKER in m.text else m for m in messages]


class PoisonedSQLiteStore(SQLiteStore):
    """The SQLite store, writing marked messages as rows the database refuses."""

    poison: Poison

    def save_messages(
        self, messages: Sequence[StoredMessage], *, number_ids: bool = False
    ) -> SavedBatch:
        """Save the batch, poisoned."""
        return super().save_messages(poisoned(messages, self.poison), number_ids=number_ids)


class PoisonedMySQLStore(MySQLStore):
    """The MySQL store, writing marked messages as rows the database refuses."""

    poison: Poison

    def save_messages(
        self, messages: Sequence[StoredMessage], *, number_ids: bool = False
    ) -> SavedBatch:
        """Save the batch, poisoned."""
        return super().save_messages(poisoned(messages, self.poison), number_ids=number_ids)


def open_poisoned_store(database_url: str, poison: Poison) -> Store:
    store: PoisonedSQLiteStore | PoisonedMySQLStore
    if database_url.startswith("sqlite:///"):
        store = PoisonedSQLiteStore(Path(database_url[len("sqlite:///") :]))
    else:
        store = PoisonedMySQLStore(database_url)
    store.poison = poison
    return store


@pytest.fixture(params=sorted(POISONS))
def poisoned_server(request: pytest.FixtureRequest, database_url: str) -> Iterator[ChatServer]:
    """A server on the test database whose store makes marked messages unstorable."""
    store = open_poisoned_store(database_url, POISONS[request.param])
    server = ChatServer(make_test_config(database_url), store=store)
    server.start()
    yield server
    server.stop(timeout=15)


def user(address: Address, login: str) -> WireClient:
    client = WireClient(address)
    client.hello()
    client.register(login)
    client.login(login)
    return client


def test_honest_messages_are_stored_when_others_of_their_group_commit_cannot_be(
    poisoned_server: ChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    address = Address(*poisoned_server.address)
    honest = [user(address, f"honest{n}") for n in range(SENDERS)]
    poisoners = [user(address, f"poisoner{n}") for n in range(SENDERS)]
    start = threading.Barrier(2 * SENDERS)
    replies: dict[str, list[dict[str, object]]] = {}

    def send(client: WireClient, login: str, text: str) -> None:
        ids = [client.next_id() for _ in range(MESSAGES_EACH)]
        frames = [
            {"id": request_id, "room": "Général", "text": f"{text} {login} #{n}"}
            for n, request_id in enumerate(ids)
        ]
        start.wait()
        for body in frames:  # back to back: they meet the others in the store's queue
            client.send(MessageType.SAY, body)
        replies[login] = [
            {"type": frame.type, **frame.body}
            for frame in (client.reply_to(request_id) for request_id in ids)
        ]

    threads = [
        threading.Thread(target=send, args=(client, f"honest{n}", "hello from"))
        for n, client in enumerate(honest)
    ] + [
        threading.Thread(target=send, args=(client, f"poisoner{n}", f"{MARKER} from"))
        for n, client in enumerate(poisoners)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    for n in range(SENDERS):
        assert all(r["type"] == MessageType.OK for r in replies[f"honest{n}"]), replies
        refused = replies[f"poisoner{n}"]
        assert all(r["type"] == MessageType.ERROR for r in refused), refused
        assert {r["code"] for r in refused} == {"internal"}
    # The poisoned senders' connections still work.
    for client in poisoners:
        assert client.ok(MessageType.SAY, room="Général", text="an honest one")["message"]
    history = honest[0].ok(MessageType.HISTORY, room="Général", limit=100)["messages"]
    texts = [m["text"] for m in history]
    assert len(texts) == SENDERS * MESSAGES_EACH + SENDERS
    assert sorted(t for t in texts if t.startswith("hello")) == sorted(
        f"hello from honest{n} #{k}" for n in range(SENDERS) for k in range(MESSAGES_EACH)
    )
    assert not any(MARKER in text for text in texts)

    log = [record.getMessage() for record in caplog.records]
    assert any("storing them one at a time" in line for line in log), "no group commit mixed"
    failures = [line for line in log if line.startswith("message #")]
    assert len(failures) == SENDERS * MESSAGES_EACH  # once per poisoned message
    assert not any(record.exc_info for record in caplog.records)
    assert not any("Traceback" in line or "from poisoner" in line for line in log)
    for client in honest + poisoners:
        client.close()
