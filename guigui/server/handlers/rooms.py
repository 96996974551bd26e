"""ROOMS, JOIN and LEAVE.

The core decides (``RoomDirectory.check_join``/``check_leave``); the store
records; only then does the loop change memory and subscriptions and answer,
so what a client was told always matches what is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guigui.common.errors import ProtocolError
from guigui.common.messages import Join, JoinOk, Leave, ListRooms, Ok, RoomsOk
from guigui.common.protocol import ErrorCode
from guigui.server.clock import now_ms
from guigui.server.core.rooms import JoinOutcome
from guigui.server.handlers.base import HandlerFamily
from guigui.server.handoff import Outcome
from guigui.server.store import AccessRequestRecord, RoomRecord, Store

if TYPE_CHECKING:
    from guigui.server.chat_server import ChatServer
    from guigui.server.connection import Connection


class RoomHandlers(HandlerFamily):
    """Listing, joining and leaving rooms."""

    def __init__(self, server: ChatServer) -> None:
        super().__init__(server)
        self._in_flight: set[tuple[int, int]] = set()
        """(user, room) pairs with a JOIN or LEAVE being stored: a second one must wait."""

    def handlers(self) -> dict[type, Any]:
        """Request class to handler."""
        return {ListRooms: self.list_rooms, Join: self.join, Leave: self.leave}

    def list_rooms(self, connection: Connection, request: ListRooms) -> None:
        """Every room, as this user sees it."""
        user = self.require_login(connection)
        rooms = self.server.rooms.views_for(user.id)
        self.server.reply(connection, RoomsOk(request.id, rooms))

    def _claim(self, user_id: int, room: RoomRecord) -> None:
        if (user_id, room.id) in self._in_flight:
            raise ProtocolError(
                ErrorCode.ALREADY_PENDING, f"a change to your membership of {room.name} is underway"
            )
        self._in_flight.add((user_id, room.id))

    def join(self, connection: Connection, request: Join) -> None:
        """Join an open or on-request room at once; file a request for an approval room."""
        user = self.require_login(connection)
        server = self.server
        room = server.rooms.require(request.room)
        outcome = server.rooms.check_join(user.id, room)
        self._claim(user.id, room)
        now = now_ms()

        if outcome is JoinOutcome.REQUEST_ACCESS:

            def file_request(store: Store) -> int:
                return store.create_access_request(user.id, room.id, now)

            def filed(result: Outcome[int]) -> None:
                self._in_flight.discard((user.id, room.id))
                if server.failed(connection, request.id, result):
                    return
                assert isinstance(result, int)
                server.rooms.add_pending(
                    AccessRequestRecord(result, user.id, room.id, "pending", now)
                )
                server.reply(connection, JoinOk(request.id, "pending", request_id=result))

            server.store_worker.submit(file_request, filed)
            return

        def joined(result: Outcome[None]) -> None:
            self._in_flight.discard((user.id, room.id))
            if server.failed(connection, request.id, result):
                return
            server.rooms.add_member(user.id, room.id)
            server.sessions.subscribe(user.id, room.id)
            view = server.rooms.view_for(user.id, room)
            server.reply(connection, JoinOk(request.id, "joined", room=view))

        server.store_worker.submit(lambda store: store.add_membership(user.id, room.id), joined)

    def leave(self, connection: Connection, request: Leave) -> None:
        """Leave a room (never the arrival room)."""
        user = self.require_login(connection)
        server = self.server
        room = server.rooms.require(request.room)
        server.rooms.check_leave(user.id, room)
        self._claim(user.id, room)

        def left(result: Outcome[None]) -> None:
            self._in_flight.discard((user.id, room.id))
            if server.failed(connection, request.id, result):
                return
            server.rooms.remove_member(user.id, room.id)
            server.sessions.unsubscribe(user.id, room.id)
            server.reply(connection, Ok(request.id))

        server.store_worker.submit(lambda store: store.remove_membership(user.id, room.id), left)
