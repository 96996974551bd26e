"""CONVERSATIONS and READ: read state kept by the server.

The store keeps, per user, how far each room and each direct conversation has
been read; unread counts and the list of direct conversations follow the user
from one computer to the next. A READ that moves a marker is told to the
user's other sessions as a READ_STATE event, but only to the sessions that
asked for read state since they logged in (a CONVERSATIONS or a READ): a
client written before this addition never receives an event it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guigui.common.messages import (
    Conversations,
    ConversationsOk,
    MarkRead,
    ReadOk,
    ReadStateEvent,
    encode,
)
from guigui.common.objects import ConversationState
from guigui.server.announcements import Announcements
from guigui.server.config import ServerConfig
from guigui.server.connection import Connection
from guigui.server.core.accounts import UserDirectory
from guigui.server.core.rooms import RoomDirectory
from guigui.server.delivery import Delivery
from guigui.server.frame_budget import items_that_fit, room_left
from guigui.server.handlers.base import HandlerFamily, RequestHandler
from guigui.server.replies import reply, when_done
from guigui.server.sessions import SessionRegistry
from guigui.server.store import MarkedRead, ReadStateRecord, Store
from guigui.server.workers import StoreWorker


@dataclass(eq=False)
class ReadStateHandlers(HandlerFamily):
    """Listing conversations with their unread counts, and recording what was read."""

    config: ServerConfig
    users: UserDirectory
    rooms: RoomDirectory
    sessions: SessionRegistry
    store_worker: StoreWorker[Any]
    announce: Announcements

    def handlers(self) -> dict[type, RequestHandler]:
        """Request class to handler."""
        return {Conversations: self.conversations, MarkRead: self.read}

    def public_state(self, record: ReadStateRecord) -> ConversationState:
        """The protocol's ``ConversationState`` for a stored one."""
        room = None if record.room_id is None else self.rooms.get(record.room_id).name
        other = None if record.other_id is None else self.users.get(record.other_id).login
        return ConversationState(
            room, other, record.last_id, record.last_ts, record.read, record.unread
        )

    def conversations(self, connection: Connection, request: Conversations) -> None:
        """The user's rooms (first page only), then direct conversations newest first."""
        user = self.require_login(connection)
        connection.wants_read_state = True
        first_page = request.before is None
        room_ids = [
            room.id for room in self.rooms.rooms() if self.rooms.is_member(user.id, room.id)
        ]
        before, fetch = request.before, request.limit + 1

        def query(store: Store) -> list[ReadStateRecord]:
            rooms = store.room_read_states(user.id, room_ids) if first_page else []
            return rooms + store.direct_read_states(user.id, before, fetch)

        def found(records: list[ReadStateRecord]) -> None:
            rooms = [self.public_state(r) for r in records if r.room_id is not None]
            directs = [self.public_state(r) for r in records if r.room_id is None]
            more = len(directs) > request.limit
            directs = directs[: request.limit]
            # Rooms are few and always sent whole; direct conversations as many
            # as fit, and the client asks for the rest with ``before``.
            budget = room_left(self.config.max_frame, ConversationsOk(request.id, rooms, True))
            fitting = items_that_fit(directs, budget)
            if fitting < len(directs):
                directs, more = directs[:fitting], True
            reply(connection, ConversationsOk(request.id, rooms + directs, more))

        self.store_worker.submit(query, when_done(connection, request.id, found))

    def read(self, connection: Connection, request: MarkRead) -> None:
        """Move the user's marker forward; tell their other sessions that asked for read state."""
        user = self.require_login(connection)
        connection.wants_read_state = True
        room_id = other_id = None
        if request.room is not None:
            room = self.rooms.require(request.room)
            self.rooms.require_member(user.id, room)
            room_id = room.id
        else:
            assert request.with_user is not None
            other_id = self.users.require(request.with_user).id
        up_to = request.up_to

        def mark(store: Store) -> MarkedRead:
            return store.mark_read(user.id, room_id, other_id, up_to)

        def marked(result: MarkedRead) -> None:
            state = self.public_state(result.state)
            reply(connection, ReadOk(request.id, state))
            if result.moved:
                others = (
                    session
                    for session in self.sessions.of_user(user.id)
                    if session is not connection and session.wants_read_state
                )
                Delivery.send_to(others, encode(ReadStateEvent(state)))
                self.announce.read_moved(user.id, state)

        self.store_worker.submit(mark, when_done(connection, request.id, marked))
