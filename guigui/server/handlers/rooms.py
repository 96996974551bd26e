"""ROOMS, JOIN and LEAVE.

The core decides (``RoomDirectory.check_join``/``check_leave``); the store
records; only then does the loop change memory and subscriptions and answer,
so what a client was told always matches what is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from guigui.common.errors import ProtocolError
from guigui.common.messages import Join, JoinOk, Leave, ListRooms, Ok, RoomsOk
from guigui.common.protocol import ErrorCode
from guigui.server.announcements import Announcements
from guigui.server.clock import now_ms
from guigui.server.connection import Connection
from guigui.server.core.rooms import JoinOutcome, RoomDirectory
from guigui.server.handlers.base import HandlerFamily, RequestHandler
from guigui.server.replies import reply, when_done
from guigui.server.sessions import SessionRegistry
from guigui.server.store import AccessRequestRecord, RoomRecord, Store
from guigui.server.workers import StoreWorker


@dataclass(eq=False)
class RoomHandlers(HandlerFamily):
    """Listing, joining and leaving rooms."""

    rooms: RoomDirectory
    sessions: SessionRegistry
    store_worker: StoreWorker[Any]
    announce: Announcements
    _in_flight: set[tuple[int, int]] = field(default_factory=set, init=False)
    """(user, room) pairs with a JOIN or LEAVE being stored: a second one must wait."""

    def handlers(self) -> dict[type, RequestHandler]:
        """Request class to handler."""
        return {ListRooms: self.list_rooms, Join: self.join, Leave: self.leave}

    def list_rooms(self, connection: Connection, request: ListRooms) -> None:
        """Every room, as this user sees it."""
        user = self.require_login(connection)
        reply(connection, RoomsOk(request.id, self.rooms.views_for(user.id)))

    def _claim(self, user_id: int, room: RoomRecord) -> None:
        if (user_id, room.id) in self._in_flight:
            raise ProtocolError(
                ErrorCode.ALREADY_PENDING, f"a change to your membership of {room.name} is underway"
            )
        self._in_flight.add((user_id, room.id))

    def join(self, connection: Connection, request: Join) -> None:
        """Join an open or on-request room at once; file a request for an approval room."""
        user = self.require_login(connection)
        room = self.rooms.require(request.room)
        outcome = self.rooms.check_join(user.id, room)
        self._claim(user.id, room)
        claimed = (user.id, room.id)
        now = now_ms()

        if outcome is JoinOutcome.REQUEST_ACCESS:

            def file_request(store: Store) -> int:
                return store.create_access_request(user.id, room.id, now)

            def filed(request_id: int) -> None:
                record = AccessRequestRecord(request_id, user.id, room.id, "pending", now)
                self.rooms.add_pending(record)
                self.announce.request_filed(record)
                reply(connection, JoinOk(request.id, "pending", request_id=request_id))

            self.store_worker.submit(
                file_request,
                when_done(connection, request.id, filed, finally_=lambda: self._release(claimed)),
            )
            return

        def joined(_: None) -> None:
            self.rooms.add_member(user.id, room.id)
            self.sessions.subscribe(user.id, room.id)
            self.announce.membership_changed(user.id, room.id, True)
            view = self.rooms.view_for(user.id, room)
            reply(connection, JoinOk(request.id, "joined", room=view))

        self.store_worker.submit(
            lambda store: store.add_membership(user.id, room.id),
            when_done(connection, request.id, joined, finally_=lambda: self._release(claimed)),
        )

    def leave(self, connection: Connection, request: Leave) -> None:
        """Leave a room (never the arrival room)."""
        user = self.require_login(connection)
        room = self.rooms.require(request.room)
        self.rooms.check_leave(user.id, room)
        self._claim(user.id, room)
        claimed = (user.id, room.id)

        def left(_: None) -> None:
            self.rooms.remove_member(user.id, room.id)
            self.sessions.unsubscribe(user.id, room.id)
            self.announce.membership_changed(user.id, room.id, False)
            reply(connection, Ok(request.id))

        self.store_worker.submit(
            lambda store: store.remove_membership(user.id, room.id),
            when_done(connection, request.id, left, finally_=lambda: self._release(claimed)),
        )

    def _release(self, claimed: tuple[int, int]) -> None:
        """The JOIN or LEAVE is stored (or failed): the next one may go."""
        self._in_flight.discard(claimed)
