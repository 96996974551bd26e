"""CONVERSATIONS and READ: read state kept by the server.

The store keeps, per user, how far each room and each direct conversation has
been read; unread counts and the list of direct conversations follow the user
from one computer to the next. A READ that moves a marker is told to the
user's other sessions as a READ_STATE event, but only to the sessions that
asked for read state since they logged in (a CONVERSATIONS or a READ): a
client written before this addition never receives an event it does not know.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guigui.common.messages import (
    Conversations,
    ConversationsOk,
    MarkRead,
    ReadOk,
    ReadStateEvent,
    encode,
)
from guigui.common.objects import ConversationState
from guigui.server.frame_budget import items_that_fit, room_left
from guigui.server.handlers.base import HandlerFamily
from guigui.server.handoff import Outcome
from guigui.server.store import MarkedRead, ReadStateRecord, Store

if TYPE_CHECKING:
    from guigui.server.connection import Connection


class ReadStateHandlers(HandlerFamily):
    """Listing conversations with their unread counts, and recording what was read."""

    def handlers(self) -> dict[type, Any]:
        """Request class to handler."""
        return {Conversations: self.conversations, MarkRead: self.read}

    def public_state(self, record: ReadStateRecord) -> ConversationState:
        """The protocol's ``ConversationState`` for a stored one."""
        server = self.server
        room = None if record.room_id is None else server.rooms.get(record.room_id).name
        other = None if record.other_id is None else server.users.get(record.other_id).login
        return ConversationState(
            room, other, record.last_id, record.last_ts, record.read, record.unread
        )

    def conversations(self, connection: Connection, request: Conversations) -> None:
        """The user's rooms (first page only), then direct conversations newest first."""
        user = self.require_login(connection)
        connection.wants_read_state = True
        server = self.server
        first_page = request.before is None
        room_ids = [
            room.id for room in server.rooms.rooms() if server.rooms.is_member(user.id, room.id)
        ]
        before, fetch = request.before, request.limit + 1

        def query(store: Store) -> list[ReadStateRecord]:
            rooms = store.room_read_states(user.id, room_ids) if first_page else []
            return rooms + store.direct_read_states(user.id, before, fetch)

        def found(outcome: Outcome[list[ReadStateRecord]]) -> None:
            if server.failed(connection, request.id, outcome):
                return
            assert isinstance(outcome, list)
            rooms = [self.public_state(r) for r in outcome if r.room_id is not None]
            directs = [self.public_state(r) for r in outcome if r.room_id is None]
            more = len(directs) > request.limit
            directs = directs[: request.limit]
            # Rooms are few and always sent whole; direct conversations as many
            # as fit, and the client asks for the rest with ``before``.
            budget = room_left(server.config.max_frame, ConversationsOk(request.id, rooms, True))
            fitting = items_that_fit(directs, budget)
            if fitting < len(directs):
                directs, more = directs[:fitting], True
            server.reply(connection, ConversationsOk(request.id, rooms + directs, more))

        server.store_worker.submit(query, found)

    def read(self, connection: Connection, request: MarkRead) -> None:
        """Move the user's marker forward; tell their other sessions that asked for read state."""
        user = self.require_login(connection)
        connection.wants_read_state = True
        server = self.server
        room_id = other_id = None
        if request.room is not None:
            room = server.rooms.require(request.room)
            server.rooms.require_member(user.id, room)
            room_id = room.id
        else:
            assert request.with_user is not None
            other_id = server.users.require(request.with_user).id
        up_to = request.up_to

        def mark(store: Store) -> MarkedRead:
            return store.mark_read(user.id, room_id, other_id, up_to)

        def marked(outcome: Outcome[MarkedRead]) -> None:
            if server.failed(connection, request.id, outcome):
                return
            assert isinstance(outcome, MarkedRead)
            state = self.public_state(outcome.state)
            server.reply(connection, ReadOk(request.id, state))
            if outcome.moved:
                others = (
                    session
                    for session in server.sessions.of_user(user.id)
                    if session is not connection and session.wants_read_state
                )
                server.send_to(others, encode(ReadStateEvent(state)))

        server.store_worker.submit(mark, marked)
