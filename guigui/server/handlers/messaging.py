"""SAY, DIRECT and HISTORY.

A message is stored before anyone hears of it: the loop gives it its id and
time, the store worker commits it (grouped with others, see
``guigui.server.workers``), and only then does the sender get its OK and the
others their MESSAGE event, encoded once for all of them. A repeated nonce
from the same sender is recognised by the store, which hands back the message
stored the first time: the sender gets that one, and nobody is told twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from guigui.common.errors import ProtocolError
from guigui.common.messages import (
    Direct,
    History,
    HistoryOk,
    MessageEvent,
    MessageOk,
    Say,
    encode,
)
from guigui.common.protocol import ErrorCode
from guigui.common.validation import text_problem
from guigui.server.clock import now_ms
from guigui.server.frame_budget import items_that_fit, room_left
from guigui.server.handlers.base import HandlerFamily
from guigui.server.handoff import Outcome
from guigui.server.store import Store, StoredMessage

if TYPE_CHECKING:
    from guigui.server.connection import Connection


def _nonce_key(nonce: str | int | None) -> str | None:
    """The nonce as the store keeps it (a string; an integer nonce in decimal)."""
    return None if nonce is None else str(nonce)


class MessagingHandlers(HandlerFamily):
    """Sending messages and reading history."""

    def handlers(self) -> dict[type, Any]:
        """Request class to handler."""
        return {Say: self.say, Direct: self.direct, History: self.history}

    def _check_rate(self, connection: Connection) -> None:
        wait = connection.message_bucket.take(time.monotonic())
        if wait:
            raise self.server.rate_limited("too many messages", wait, connection)

    def _check_text(self, text: str) -> None:
        """Refuse a text ``validation.text_problem`` finds fault with, with the right code."""
        max_text = self.server.config.max_text
        problem = text_problem(text, max_text)
        if problem is None:
            return
        if len(text) > max_text:
            raise ProtocolError(ErrorCode.TEXT_TOO_LONG, problem, max_text=max_text)
        raise ProtocolError(ErrorCode.INVALID_FIELD, problem, field="text", reason=problem)

    def say(self, connection: Connection, request: Say) -> None:
        """Store a room message, then answer and fan it out to the room's sessions.

        The checks (member, text, rate) raise before any work is queued, so a
        refusal is one ERROR and nothing stored. Nobody sees the message before
        the store has it: the sender's OK promises it is kept, and a reader
        never sees a message that a crash could still lose. The delivery is
        not sent at once but handed to the room's fan-out, which gathers the
        messages of one group commit so each reader gets them in one write.
        """
        user = self.require_login(connection)
        room = self.server.rooms.require(request.room)
        self.server.rooms.require_member(user.id, room)
        self._check_text(request.text)
        self._check_rate(connection)
        message = StoredMessage(
            id=self.server.next_message_id(),
            room_id=room.id,
            sender_id=user.id,
            recipient_id=None,
            text=request.text,
            ts=now_ms(),
            nonce=_nonce_key(request.nonce),
            ip=connection.ip,
        )
        server = self.server

        def deliver(event: bytes, reply: bytes) -> None:
            # Gathered with the other messages of this group commit for the room:
            # each session then gets them all in one chunk (see room_fanout).
            audience = server.sessions.in_room(room.id)
            server.room_fanout.add(room.id, audience, connection, event, reply)
            connection.request_answered()  # the reply goes out with the room's run

        self._store_and_deliver(connection, request.id, message, deliver)

    def direct(self, connection: Connection, request: Direct) -> None:
        """Store a direct message, then deliver it to both users' other sessions."""
        user = self.require_login(connection)
        recipient = self.server.users.require_reachable(request.to)
        self._check_text(request.text)
        self._check_rate(connection)
        message = StoredMessage(
            id=self.server.next_message_id(),
            room_id=None,
            sender_id=user.id,
            recipient_id=recipient.id,
            text=request.text,
            ts=now_ms(),
            nonce=_nonce_key(request.nonce),
            ip=connection.ip,
        )
        server = self.server

        def deliver(event: bytes, reply: bytes) -> None:
            connection.send(reply)
            connection.request_answered()
            audience = server.sessions.of_user(recipient.id) | server.sessions.of_user(user.id)
            server.send_to((c for c in audience if c is not connection), event)

        self._store_and_deliver(connection, request.id, message, deliver)

    def _store_and_deliver(
        self,
        connection: Connection,
        request_id: int,
        message: StoredMessage,
        deliver: Callable[[bytes, bytes], None],
    ) -> None:
        """Store, then ``deliver(event, reply)``: the MESSAGE for the others, the OK for the sender.

        A repeated nonce gets its reply only: the message was delivered the first time.
        """
        server = self.server

        def stored(outcome: Outcome[StoredMessage]) -> None:
            if server.failed(connection, request_id, outcome):
                return
            assert isinstance(outcome, StoredMessage)
            public = server.public_message(outcome)
            if outcome.id != message.id:  # a repeated nonce: delivered the first time
                server.reply(connection, MessageOk(request_id, public))
                return
            server.messages_stored += 1
            # Both frames fit in max_frame: the server checks at start that a
            # message of max_text characters does (ServerConfig).
            deliver(encode(MessageEvent(public)), encode(MessageOk(request_id, public)))

        server.store_worker.save_message(message, stored)

    def history(self, connection: Connection, request: History) -> None:
        """The newest ``limit`` messages before ``before``, oldest first, with ``more``."""
        user = self.require_login(connection)
        server = self.server
        before, fetch = request.before, request.limit + 1
        if request.room is not None:
            room = server.rooms.require(request.room)
            server.rooms.require_member(user.id, room)
            room_id = room.id

            def query(store: Store) -> list[StoredMessage]:
                return store.room_history(room_id, before, fetch)

        else:
            assert request.with_user is not None
            other = server.users.require(request.with_user)

            def query(store: Store) -> list[StoredMessage]:
                return store.direct_history(user.id, other.id, before, fetch)

        def found(outcome: Outcome[list[StoredMessage]]) -> None:
            if server.failed(connection, request.id, outcome):
                return
            assert isinstance(outcome, list)
            more = len(outcome) > request.limit
            page = [server.public_message(message) for message in outcome[-request.limit :]]
            # As many of the newest as fit in one frame; the client asks for the rest.
            newest_first = page[::-1]
            budget = room_left(server.config.max_frame, HistoryOk(request.id, [], True))
            fitting = items_that_fit(newest_first, budget)
            if fitting < len(page):
                page, more = page[len(page) - fitting :], True
            server.reply(connection, HistoryOk(request.id, page, more))

        server.store_worker.submit(query, found)
