"""The store worker: the one thread that talks to the database.

The loop thread never waits. It hands a job to the worker and names a callback;
the worker runs the job and posts ``callback(outcome)`` back to the loop with
``EventLoop.call_soon_threadsafe`` (the wake-up socketpair). An outcome is the
job's result or the exception it raised (``guigui/server/handoff.py``), so the
loop sees failures as values. Password hashing, the other blocking work, has
its own pool in ``guigui/server/hashing.py``.

``StoreWorker``: ONE thread owns the store connection. Consecutive message
saves waiting in its queue are written in one transaction (group commit):
under load, one fsync serves many messages, and each sender's OK still waits
for the commit of its own message. The whole group commit comes back to the
loop in ONE call, ``messages_saved(batch)``, so that what is delivered from it
can be delivered together (``guigui/server/delivery.py``). A message that
cannot be stored fails alone: when a group commit fails, its messages are
saved again one at a time (see ``StoreWorker._save_isolating_failures``).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

from guigui.common.errors import ProtocolError
from guigui.common.protocol import ErrorCode
from guigui.server.handoff import Outcome
from guigui.server.loop import EventLoop
from guigui.server.store.base import (
    UNNUMBERED,
    SavedBatch,
    Store,
    StoredMessage,
    StoreUnavailable,
)
from guigui.server.thread_names import name_os_thread

log = logging.getLogger(__name__)

T = TypeVar("T")
S = TypeVar("S")

MAX_GROUP_COMMIT = 512
"""Most messages written in one transaction."""

MAX_LOGGED_ERROR = 200
"""Longest description of a store error in the log (characters)."""


@dataclass
class _Job(Generic[T]):
    run: Callable[[Store], T]
    callback: Callable[[Outcome[T]], None]


@dataclass
class _SaveMessage(Generic[S]):
    message: StoredMessage
    sender: S


@dataclass(frozen=True, slots=True)
class SavedMessage(Generic[S]):
    """A message the worker was asked to save, and what became of it."""

    sender: S
    """Whoever asked, as given to ``save_message`` (the worker never looks at it)."""
    asked: StoredMessage
    """The message as it was handed to the worker."""
    outcome: Outcome[StoredMessage]
    """The message as stored (the first one, for a repeated nonce), or why it was not."""
    first_time: bool
    """True when this save stored the message; False for a repeated (sender, nonce),
    whose first message ``outcome`` then is, and for a message not stored."""


_STOP = object()


class StoreWorker(Generic[S]):
    """The one thread that talks to the store, with group commit of messages.

    ``messages_saved`` runs on the loop thread with each group commit's
    messages, in the order they were handed to ``save_message``.

    ``number_ids`` (the nodes of a cluster): the messages come with the id
    ``UNNUMBERED`` and the store numbers each group commit from the database's
    counter (``Store.save_messages``); ``messages_saved`` gets them numbered.
    Without it, the ids given are stored as they are.
    """

    def __init__(
        self,
        loop: EventLoop,
        store: Store,
        messages_saved: Callable[[list[SavedMessage[S]]], None],
        *,
        number_ids: bool = False,
    ) -> None:
        self._loop = loop
        self._store = store
        self._messages_saved = messages_saved
        self.number_ids = number_ids
        """Whether the store numbers the messages (then they come with ``UNNUMBERED``)."""
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="store", daemon=True)
        self._pending = 0
        self._pending_lock = threading.Lock()

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def submit(self, run: Callable[[Store], T], callback: Callable[[Outcome[T]], None]) -> None:
        """Run ``run(store)`` on the worker; ``callback(outcome)`` then runs on the loop."""
        self._enqueue(_Job(run, callback))

    def save_message(self, message: StoredMessage, sender: S) -> None:
        """Store a message, grouped with others waiting; ``messages_saved`` gets it back."""
        self._enqueue(_SaveMessage(message, sender))

    @property
    def pending(self) -> int:
        """Jobs submitted whose callback has not run yet (callbacks run on the loop).

        Counted down on the loop thread as the callbacks run, so what the loop
        reads is exact: 0 means every result is handled (the clean stop waits for
        it), and flow control sees the backlog shrink in the very iteration that
        handles the results.
        """
        return self._pending

    def stop(self) -> None:
        """Finish every queued job, then end the thread (blocks until it has)."""
        self._queue.put(_STOP)
        self._thread.join()

    def _enqueue(self, job: _Job[Any] | _SaveMessage[S]) -> None:
        with self._pending_lock:
            self._pending += 1
        self._queue.put(job)

    def _done(self, count: int) -> None:
        with self._pending_lock:
            self._pending -= count

    def _run(self) -> None:
        """The worker thread: take jobs in order until ``_STOP``, grouping message saves.

        A message save takes with it every save already waiting right behind
        it (``_gather``), and they are written in one transaction: under load,
        one commit (one fsync) serves many senders. Any other job runs alone.

        ``carry`` is the item ``_gather`` took out of the queue that was not a
        save (a job, or ``_STOP``): a queue cannot be peeked, so the item that
        ended the batch is held here and handled next, before anything else is
        taken. Order is kept: a job submitted after a message sees it stored,
        and a stop comes after everything submitted before it.
        """
        name_os_thread()
        carry: Any = None
        while True:
            item = carry if carry is not None else self._queue.get()
            carry = None
            if item is _STOP:
                return
            if isinstance(item, _SaveMessage):
                batch: list[_SaveMessage[S]] = [item]
                carry = self._gather(batch)
                self._save_batch(batch)
            else:
                self._run_job(item)

    def _gather(self, batch: list[_SaveMessage[S]]) -> Any:
        """Add the saves already waiting to ``batch``; return the first other item seen."""
        while len(batch) < MAX_GROUP_COMMIT:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return None
            if not isinstance(item, _SaveMessage):
                return item
            batch.append(item)
        return None

    def _save_batch(self, batch: list[_SaveMessage[S]]) -> None:
        """Store a group commit, then hand it back to the loop in one ``messages_saved`` call."""
        saved = self._save_isolating_failures(batch)
        self._loop.call_soon_threadsafe(partial(self._hand_back_batch, saved))

    def _hand_back_batch(self, saved: list[SavedMessage[S]]) -> None:
        """On the loop thread: the group commit goes to ``messages_saved`` in one call."""
        self._done(len(saved))
        self._messages_saved(saved)

    def _save_isolating_failures(self, batch: list[_SaveMessage[S]]) -> list[SavedMessage[S]]:
        """Store ``batch`` in one transaction or, if that fails, each message in its own.

        One message the database refuses must not cost everyone their OK: when
        the group commit fails, every message is saved again alone, so each
        one that can be stored is stored (and acknowledged), and only those
        that cannot get an error. When the database is unavailable, saving
        one at a time would fail the same way, slowly: all fail at once.
        """
        try:
            return self._save(batch)
        except StoreUnavailable as error:
            log.error("could not store %d message(s): %s", len(batch), error)
            return [_failed(save, error) for save in batch]
        except Exception as error:
            if len(batch) == 1:
                return [_failed(batch[0], self._unstorable(batch[0].message, error))]
            log.warning(
                "a group commit of %d messages failed (%s): storing them one at a time",
                len(batch),
                _describe(error),
            )
        saved: list[SavedMessage[S]] = []
        for index, save in enumerate(batch):
            try:
                saved.extend(self._save([save]))
            except StoreUnavailable as error:
                left = batch[index:]
                log.error("could not store %d message(s): %s", len(left), error)
                saved.extend(_failed(unsaved, error) for unsaved in left)
                break
            except Exception as error:
                saved.append(_failed(save, self._unstorable(save.message, error)))
        return saved

    def _save(self, batch: list[_SaveMessage[S]]) -> list[SavedMessage[S]]:
        """Store ``batch`` in one transaction (numbered, if so asked); errors go up."""
        stored: SavedBatch = self._store.save_messages(
            [save.message for save in batch], number_ids=self.number_ids
        )
        return [
            SavedMessage(save.sender, save.message, message, first_time)
            for save, message, first_time in zip(
                batch, stored.messages, stored.first_time, strict=True
            )
        ]

    @staticmethod
    def _unstorable(message: StoredMessage, error: Exception) -> ProtocolError:
        """Log that ``message`` cannot be stored (by its id or sender: the text is the sender's)."""
        log.error("%s could not be stored: %s", _name(message), _describe(error))
        return ProtocolError(
            ErrorCode.INTERNAL, "the server could not store this message; nothing was stored"
        )

    def _run_job(self, job: _Job[Any]) -> None:
        outcome: Any
        try:
            outcome = job.run(self._store)
        except Exception as error:
            if not isinstance(error, (LookupError, ProtocolError)):  # not a refusal: a failure
                log.error("store job failed: %s", error)
            outcome = error
        self._loop.call_soon_threadsafe(partial(self._hand_back, job.callback, outcome))

    def _hand_back(self, callback: Callable[[Outcome[T]], None], outcome: Outcome[T]) -> None:
        """On the loop thread: a job's outcome goes to its callback."""
        self._done(1)
        callback(outcome)


def _failed(save: _SaveMessage[S], error: Exception) -> SavedMessage[S]:
    """A message that was not stored, and why."""
    return SavedMessage(save.sender, save.message, error, first_time=False)


def _name(message: StoredMessage) -> str:
    """A message for the log, never by its text: ``message #12``.

    A message the store was to number has no id yet: it is named by its
    sender, its place and its time (``message of user #3 to room #1 at 1733...``).
    """
    if message.id != UNNUMBERED:
        return f"message #{message.id}"
    if message.room_id is not None:
        place = f"room #{message.room_id}"
    else:
        place = f"user #{message.recipient_id}"
    return f"message of user #{message.sender_id} to {place} at {message.ts}"


def _describe(error: BaseException) -> str:
    """An error for the log: its class and ``repr``'d message, cut short.

    ``repr`` escapes what a log must not hold raw: a driver's message may quote
    the value it refused, lone surrogates included, which a UTF-8 log cannot
    even write.
    """
    described = f"{type(error).__name__}({str(error)!r})"
    if len(described) > MAX_LOGGED_ERROR:
        return described[: MAX_LOGGED_ERROR - 1] + "…"
    return described
