"""Rooms, memberships and access requests, as plain Python.

The rules of PROTOCOL.md live here: everyone is a member of the ``open`` arrival
room and cannot leave it; ``on_request`` rooms are joined at once; ``approval``
rooms need an access request that an admin grants or refuses. The directory
only decides and records; the server persists each change before applying it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import Enum

from guigui.common.errors import ProtocolError, quote
from guigui.common.objects import Room
from guigui.common.protocol import ErrorCode, RoomAccess
from guigui.server.store.base import AccessRequestRecord, RoomRecord


class JoinOutcome(Enum):
    """What a JOIN leads to."""

    JOIN_NOW = "joined"
    """The room needs no approval: the user becomes a member."""
    REQUEST_ACCESS = "pending"
    """The room needs an admin's approval: an access request is filed."""


@dataclass
class RoomDirectory:
    """The rooms, who is a member of which, and the pending access requests."""

    _rooms: dict[str, RoomRecord] = field(default_factory=dict)
    _by_id: dict[int, RoomRecord] = field(default_factory=dict)
    _members: defaultdict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    _rooms_of: defaultdict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    _pending: dict[int, AccessRequestRecord] = field(default_factory=dict)
    _pending_by_pair: dict[tuple[int, int], int] = field(default_factory=dict)

    # ---- loading and lookups -------------------------------------------------

    def add_room(self, room: RoomRecord) -> None:
        """Add a room (rooms keep the order in which they are added)."""
        self._rooms[room.name] = room
        self._by_id[room.id] = room

    def rooms(self) -> list[RoomRecord]:
        """Every room, in display order."""
        return list(self._rooms.values())

    def get(self, room_id: int) -> RoomRecord:
        """The room with that id (it must exist)."""
        return self._by_id[room_id]

    def require(self, name: str) -> RoomRecord:
        """The room called ``name``, or ``ERROR no_such_room``."""
        room = self._rooms.get(name)
        if room is None:
            raise ProtocolError(ErrorCode.NO_SUCH_ROOM, f"no room named {quote(name)}")
        return room

    def arrival_room(self) -> RoomRecord:
        """The ``open`` room every user belongs to from registration (Général)."""
        for room in self._rooms.values():
            if room.access is RoomAccess.OPEN:
                return room
        raise LookupError("the store holds no open arrival room")

    # ---- memberships ---------------------------------------------------------

    def is_member(self, user_id: int, room_id: int) -> bool:
        """Whether the user is a member of the room."""
        return room_id in self._rooms_of[user_id]

    def require_member(self, user_id: int, room: RoomRecord) -> None:
        """Raise ``ERROR not_member`` unless the user is a member of the room."""
        if not self.is_member(user_id, room.id):
            raise ProtocolError(ErrorCode.NOT_MEMBER, f"you are not a member of {room.name}")

    def rooms_of(self, user_id: int) -> set[int]:
        """Ids of the rooms the user is a member of."""
        return self._rooms_of[user_id]

    def members(self, room_id: int) -> set[int]:
        """Ids of the room's members."""
        return self._members[room_id]

    def add_member(self, user_id: int, room_id: int) -> None:
        """Record a membership."""
        self._members[room_id].add(user_id)
        self._rooms_of[user_id].add(room_id)

    def remove_member(self, user_id: int, room_id: int) -> None:
        """Forget a membership."""
        self._members[room_id].discard(user_id)
        self._rooms_of[user_id].discard(room_id)

    # ---- joining and leaving -------------------------------------------------

    def check_join(self, user_id: int, room: RoomRecord) -> JoinOutcome:
        """Decide what a JOIN of ``room`` by the user leads to.

        Raises ``already_member`` or ``already_pending``.
        """
        if self.is_member(user_id, room.id):
            raise ProtocolError(ErrorCode.ALREADY_MEMBER, f"you are already in {room.name}")
        if (user_id, room.id) in self._pending_by_pair:
            raise ProtocolError(
                ErrorCode.ALREADY_PENDING, f"your request to join {room.name} is pending"
            )
        if room.access is RoomAccess.APPROVAL:
            return JoinOutcome.REQUEST_ACCESS
        return JoinOutcome.JOIN_NOW

    def check_leave(self, user_id: int, room: RoomRecord) -> None:
        """Raise ``cannot_leave`` for the arrival room, ``not_member`` if not in it."""
        if room.access is RoomAccess.OPEN:
            raise ProtocolError(ErrorCode.CANNOT_LEAVE, f"everyone stays in {room.name}")
        self.require_member(user_id, room)

    # ---- access requests -----------------------------------------------------

    def add_pending(self, request: AccessRequestRecord) -> None:
        """Record a pending access request."""
        self._pending[request.id] = request
        self._pending_by_pair[(request.user_id, request.room_id)] = request.id

    def has_pending(self, request_id: int) -> bool:
        """Whether a request with that id is pending."""
        return request_id in self._pending

    def is_pending(self, user_id: int, room_id: int) -> bool:
        """Whether the user has a pending request for the room."""
        return (user_id, room_id) in self._pending_by_pair

    def pending_requests(self) -> list[AccessRequestRecord]:
        """The pending access requests, oldest first."""
        return sorted(self._pending.values(), key=lambda request: request.id)

    def require_pending(self, request_id: int) -> AccessRequestRecord:
        """The pending request with that id, or ``LookupError``."""
        request = self._pending.get(request_id)
        if request is None:
            raise LookupError(f"no pending access request #{request_id}")
        return request

    def settle(self, request_id: int, granted: bool) -> AccessRequestRecord:
        """Close a pending request; when granted, the user becomes a member."""
        request = self._pending.pop(request_id)
        del self._pending_by_pair[(request.user_id, request.room_id)]
        if granted:
            self.add_member(request.user_id, request.room_id)
        return request

    def forget_user(self, user_id: int) -> None:
        """Drop every membership and pending request of a user (an erased account)."""
        for room_id in self._rooms_of.pop(user_id, set()):
            self._members[room_id].discard(user_id)
        for request in [r for r in self._pending.values() if r.user_id == user_id]:
            del self._pending[request.id]
            del self._pending_by_pair[(request.user_id, request.room_id)]

    # ---- protocol views ------------------------------------------------------

    def view_for(self, user_id: int, room: RoomRecord) -> Room:
        """The ``Room`` object as the user sees it (member, pending)."""
        return Room(
            name=room.name,
            access=room.access,
            member=self.is_member(user_id, room.id),
            pending=self.is_pending(user_id, room.id),
        )

    def views_for(self, user_id: int) -> list[Room]:
        """Every room as the user sees it, in display order."""
        return [self.view_for(user_id, room) for room in self._rooms.values()]
