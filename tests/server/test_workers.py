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
from guigui.server.store import StoredMessage, StoreError, StoreUnavailable
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

    def save_messages(self, messages: Sequence[StoredMessage]) -> list[StoredMessage]:
        self.calls.append([m.id for m in messages])
        if self.unavailable_after is not None and len(self.calls) > self.unavailable_after:
            raise StoreUnavailable("the database is unreachable")
        if any(POISON in m.text for m in messages):
            raise self.refusal
        self.stored.extend(messages)
        return list(messages)


@pytest.fixture
def loop() -> Iterator[EventLoop]:
    """An event loop running in its own thread, as in the server."""
    loop = EventLoop()
    thread = threading.Thread(target=loop.run, name="event-loop", daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def save_in_one_batch(loop: EventLoop, store: FlakyStore, texts: list[str]) -> list[object]:
    """Queue one save per text before the worker starts (so one group commit), then run it."""
    outcomes: dict[int, object] = {}
    all_in = threading.Event()

    def messages_saved(saved: list[SavedMessage[int]]) -> None:
        for item in saved:
            outcomes[item.sender] = item.outcome
        if len(outcomes) == len(texts):
            all_in.set()

    worker = StoreWorker(loop, store, messages_saved)  # type: ignore[arg-type]
    for message_id, text in enumerate(texts, start=1):
        message = StoredMessage(message_id, 1, 1, None, text, 0, None, "10.0.0.1")
        worker.save_message(message, message_id)
    worker.start()
    assert all_in.wait(5)
    worker.stop()
    return [outcomes[n] for n in range(1, len(texts) + 1)]


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
