"""SAY, DIRECT and HISTORY.

A message is stored before anyone hears of it: the loop gives it its id and
time, the store worker commits it (grouped with others, see
``guigui.server.workers``), and ``guigui.server.delivery`` then answers the
sender and gives the others their MESSAGE event, encoded once for all of
them. A repeated nonce from the same sender is recognised by the store, which
hands back the message stored the first time: the sender gets that one, and
nobody is told twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from guigui.common.messages import Direct, History, HistoryOk, Say
from guigui.server.clock import now_ms
from guigui.server.config import ServerConfig
from guigui.server.connection import Connection
from guigui.server.core.accounts import UserDirectory
from guigui.server.core.rooms import RoomDirectory
from guigui.server.delivery import Delivery, Sender
from guigui.server.frame_budget import items_that_fit, room_left
from guigui.server.handlers.base import HandlerFamily, RequestHandler, check_text
from guigui.server.replies import rate_limited, reply, when_done
from guigui.server.store import UNNUMBERED, Store, StoredMessage
from guigui.server.workers import StoreWorker


class MessageIds:
    """Message ids, increasing in send order, following the last one stored."""

    def __init__(self, last: int = 0) -> None:
        self.last = last
        """The last id given (the store's highest at start)."""

    def next(self) -> int:
        """A new message id."""
        self.last += 1
        return self.last


def _nonce_key(nonce: str | int | None) -> str | None:
    """The nonce as the store keeps it (a string; an integer nonce in decimal)."""
    return None if nonce is None else str(nonce)


@dataclass(eq=False)
class MessagingHandlers(HandlerFamily):
    """Sending messages and reading history."""

    config: ServerConfig
    users: UserDirectory
    rooms: RoomDirectory
    message_ids: MessageIds
    store_worker: StoreWorker[Sender]
    delivery: Delivery

    def handlers(self) -> dict[type, RequestHandler]:
        """Request class to handler."""
        return {Say: self.say, Direct: self.direct, History: self.history}

    def _check_rate(self, connection: Connection) -> None:
        wait = connection.message_bucket.take(time.monotonic())
        if wait:
            raise rate_limited("too many messages", wait, connection)

    def _check_text(self, text: str) -> None:
        """Refuse a text ``validation.text_problem`` finds fault with, with the right code."""
        check_text(text, self.config.max_text)

    def _new_message(
        self,
        connection: Connection,
        text: str,
        nonce: str | int | None,
        *,
        room_id: int | None = None,
        recipient_id: int | None = None,
    ) -> StoredMessage:
        """The message as it will be stored: its id (send order), time, sender and IP.

        When the store numbers messages (the nodes of a cluster share the
        database's counter), the id is ``UNNUMBERED`` until the store has it.
        """
        user = self.require_login(connection)
        return StoredMessage(
            id=UNNUMBERED if self.store_worker.number_ids else self.message_ids.next(),
            room_id=room_id,
            sender_id=user.id,
            recipient_id=recipient_id,
            text=text,
            ts=now_ms(),
            nonce=_nonce_key(nonce),
            ip=connection.ip,
        )

    def say(self, connection: Connection, request: Say) -> None:
        """Check a room message, then hand it to the store worker; delivery answers.

        The checks (member, text, rate) raise before any work is queued, so a
        refusal is one ERROR and nothing stored. Nobody sees the message before
        the store has it: the sender's OK promises it is kept, and a reader
        never sees a message that a crash could still lose. The store worker
        hands the stored message, with the rest of its group commit, to
        ``Delivery.messages_saved``, which sends the OK and the MESSAGE events.
        """
        user = self.require_login(connection)
        room = self.rooms.require(request.room)
        self.rooms.require_member(user.id, room)
        self._check_text(request.text)
        self._check_rate(connection)
        message = self._new_message(connection, request.text, request.nonce, room_id=room.id)
        self.store_worker.save_message(message, Sender(connection, request.id))

    def direct(self, connection: Connection, request: Direct) -> None:
        """Check a direct message, then hand it to the store worker; delivery answers."""
        self.require_login(connection)
        recipient = self.users.require_reachable(request.to)
        self._check_text(request.text)
        self._check_rate(connection)
        message = self._new_message(
            connection, request.text, request.nonce, recipient_id=recipient.id
        )
        self.store_worker.save_message(message, Sender(connection, request.id))

    def history(self, connection: Connection, request: History) -> None:
        """The newest ``limit`` messages before ``before``, oldest first, with ``more``."""
        user = self.require_login(connection)
        before, fetch = request.before, request.limit + 1
        if request.room is not None:
            room = self.rooms.require(request.room)
            self.rooms.require_member(user.id, room)
            room_id = room.id

            def query(store: Store) -> list[StoredMessage]:
                return store.room_history(room_id, before, fetch)

        else:
            assert request.with_user is not None
            other = self.users.require(request.with_user)

            def query(store: Store) -> list[StoredMessage]:
                return store.direct_history(user.id, other.id, before, fetch)

        def found(messages: list[StoredMessage]) -> None:
            more = len(messages) > request.limit
            public = self.delivery.public_message
            page = [public(message) for message in messages[-request.limit :]]
            # As many of the newest as fit in one frame; the client asks for the rest.
            newest_first = page[::-1]
            budget = room_left(self.config.max_frame, HistoryOk(request.id, [], True))
            fitting = items_that_fit(newest_first, budget)
            if fitting < len(page):
                page, more = page[len(page) - fitting :], True
            reply(connection, HistoryOk(request.id, page, more))

        self.store_worker.submit(query, when_done(connection, request.id, found))
