"""The store worker's group commit: one message that cannot be stored fails alone."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest

from guigui.common.errors import ProtocolError
from guigui.common.protocol import ErrorCode
from guigui.server.loop import EventLoop
from guigui.server.store import (
    UNNUMBERED,
    SavedBatch,
    Store,
    StoredMessage,
    StoreError,
    StoreUnavailable,
    open_store,
)
from guigui.server.workers import SavedMessage, StoreWorker

POISON = "☠"


@dataclass
class FlakyStore:
    """Stores messages in a list; refuses any batch holding a poisoned text.

    ``unavailable_after``: the number of ``save_messages`` calls that work before
    the database "goes away" (StoreUnavailable), or None for never.
    """

    refusal: Exception = field(default_factory=lambda: StoreError("row refused"))
    unavailable_after: int | None = None
    stored: list[StoredMessage] = field(default_factory=list)
    calls: list[list[int]] = field(default_factory=list)

    def save_messages(
        self, messages: Sequence[StoredMessage], *, number_ids: bool = False
    ) -> SavedBatch:
        assert not number_ids
        self.calls.append([m.id for m in messages])
        if self.unavailable_after is not None and len(self.calls) > self.unavailable_after:
            raise StoreUnavailable("the database is unreachable")
        if any(POISON in m.text for m in messages):
            raise self.refusal
        self.stored.extend(messages)
        return SavedBatch(list(messages), [True] * len(messages))


@pytest.fixture
def loop() -> Iterator[EventLoop]:
    """An event loop running in its own thread, as in the server."""
    loop = EventLoop()
    thread = threading.Thread(target=loop.run, name="event-loop", daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def save_messages_in_one_batch(
    loop: EventLoop, store: Store, messages: list[StoredMessage], *, number_ids: bool = False
) -> list[SavedMessage[int]]:
    """Queue the saves before the worker starts (so one group commit), then run it.

    Each message's sender is its place in ``messages``; what comes back is in that order.
    """
    saved_by_sender: dict[int, SavedMessage[int]] = {}
    all_in = threading.Event()

    def messages_saved(saved: list[SavedMessage[int]]) -> None:
        for item in saved:
            saved_by_sender[item.sender] = item
        if len(saved_by_sender) == len(messages):
            all_in.set()

    worker = StoreWorker(loop, store, messages_saved, number_ids=number_ids)
    for place, message in enumerate(messages):
        worker.save_message(message, place)
    worker.start()
    assert all_in.wait(5)
    worker.stop()
    return [saved_by_sender[place] for place in range(len(messages))]


def save_in_one_batch(loop: EventLoop, store: FlakyStore, texts: list[str]) -> list[object]:
    """One message per text, ids from 1, in one group commit; the outcomes, in order."""
    messages = [
        StoredMessage(message_id, 1, 1, None, text, 0, None, "10.0.0.1")
        for message_id, text in enumerate(texts, start=1)
    ]
    saved = save_messages_in_one_batch(loop, store, messages)  # type: ignore[arg-type]
    assert [item.first_time for item in saved] == [
        isinstance(item.outcome, StoredMessage) for item in saved
    ]
    return [item.outcome for item in saved]


@pytest.mark.parametrize(
    "refusal",
    [
        StoreError("row refused"),
        ValueError("bad row"),
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, ""),
    ],
    ids=["store-error", "other-error", "encoding-error"],
)
def test_a_poisoned_message_fails_alone_and_the_others_are_stored(
    loop: EventLoop, caplog: pytest.LogCaptureFixture, refusal: Exception
) -> None:
    store = FlakyStore(refusal)
    texts = ["one", f"secret {POISON} text", "three", f"{POISON}", "five"]
    outcomes = save_in_one_batch(loop, store, texts)

    assert store.calls[0] == [1, 2, 3, 4, 5]  # one group commit first
    assert [m.id for m in store.stored] == [1, 3, 5]
    assert [o.id for o in outcomes if isinstance(o, StoredMessage)] == [1, 3, 5]
    for poisoned in (outcomes[1], outcomes[3]):
        assert isinstance(poisoned, ProtocolError) and poisoned.code is ErrorCode.INTERNAL
    failures = [r.getMessage() for r in caplog.records if "could not be stored" in r.getMessage()]
    assert len(failures) == 2  # once per message, by id
    assert failures[0].startswith("message #2 ") and failures[1].startswith("message #4 ")
    assert not any("secret" in r.getMessage() or r.exc_info for r in caplog.records)


def test_an_unavailable_database_fails_the_batch_at_once(
    loop: EventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    store = FlakyStore(unavailable_after=0)
    outcomes = save_in_one_batch(loop, store, ["one", "two", f"{POISON}"])
    assert store.calls == [[1, 2, 3]]  # not retried one by one
    assert all(isinstance(o, StoreUnavailable) for o in outcomes)
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


def test_a_database_lost_while_saving_one_by_one_fails_the_rest_at_once(
    loop: EventLoop,
) -> None:
    store = FlakyStore(unavailable_after=2)  # the batch, message 1 alone, then gone
    outcomes = save_in_one_batch(loop, store, [f"{POISON}", "two", "three", "four"])
    assert store.calls == [[1, 2, 3, 4], [1], [2]]
    assert isinstance(outcomes[0], ProtocolError)
    assert all(isinstance(o, StoreUnavailable) for o in outcomes[1:])


def test_a_numbering_worker_reports_each_message_and_repeat_of_its_batch(
    loop: EventLoop, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Real store, both databases: the worker hands back numbered messages and first_time."""
    store = open_store(database_url)
    try:
        store.migrate()
        alice = store.create_user("alice", "A", "L", "a@example.org", b"h", 1, 1).id

        def say(text: str, nonce: str | None = None) -> StoredMessage:
            return StoredMessage(UNNUMBERED, 1, alice, None, text, 5, nonce, "10.0.0.1")

        first = save_messages_in_one_batch(
            loop, store, [say("one", "n1"), say("again", "n1"), say("two")], number_ids=True
        )
        assert [item.first_time for item in first] == [True, False, True]
        outcomes = [item.outcome for item in first]
        assert all(isinstance(outcome, StoredMessage) for outcome in outcomes)
        one, repeat, two = (o for o in outcomes if isinstance(o, StoredMessage))
        assert one.id == 1 and one.text == "one" and repeat == one and two.text == "two"
        assert two.id > one.id  # the repeat's id is a gap: never a message
        assert [item.asked.id for item in first] == [UNNUMBERED] * 3

        later = save_messages_in_one_batch(
            loop, store, [say("one more time", "n1"), say("three")], number_ids=True
        )
        assert [item.first_time for item in later] == [False, True]
        assert later[0].outcome == one
        three = later[1].outcome
        assert isinstance(three, StoredMessage) and three.id == two.id + 2  # after a gap
        history = store.room_history(1, None, 10)
        assert [(m.id, m.text) for m in history] == [
            (1, "one"),
            (two.id, "two"),
            (three.id, "three"),
        ]

        # A message that cannot be stored is named in the log by sender, place and time.
        unstorable = StoredMessage(UNNUMBERED, 1, 999_999, None, "secret", 7, None, None)
        failed = save_messages_in_one_batch(loop, store, [unstorable], number_ids=True)
        assert failed[0].first_time is False
        assert not isinstance(failed[0].outcome, StoredMessage)
        logged = [r.getMessage() for r in caplog.records if "could not be stored" in r.getMessage()]
        assert logged and logged[0].startswith("message of user #999999 to room #1 at 7 ")
        assert not any("secret" in r.getMessage() for r in caplog.records)
    finally:
        store.close()
