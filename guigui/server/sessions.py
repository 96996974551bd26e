"""Which connections are logged in as whom, and which receive which room's messages.

The core knows users and rooms; this registry maps them to live connections so
that a fan-out touches only the sessions that are online, not every member.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from guigui.server.connection import Connection


class SessionRegistry:
    """Logged-in connections by user, and room subscribers by room."""

    def __init__(self) -> None:
        self._by_user: defaultdict[int, set[Connection]] = defaultdict(set)
        self._by_room: defaultdict[int, set[Connection]] = defaultdict(set)
        self._rooms_of: dict[Connection, set[int]] = {}

    def open(self, connection: Connection, user_id: int, room_ids: Iterable[int]) -> None:
        """A session started: the connection receives the user's rooms from now on."""
        self._by_user[user_id].add(connection)
        rooms = set(room_ids)
        self._rooms_of[connection] = rooms
        for room_id in rooms:
            self._by_room[room_id].add(connection)

    def close(self, connection: Connection, user_id: int) -> None:
        """A session ended: forget the connection everywhere."""
        sessions = self._by_user.get(user_id)
        if sessions is not None:
            sessions.discard(connection)
            if not sessions:
                del self._by_user[user_id]
        for room_id in self._rooms_of.pop(connection, ()):
            self._by_room[room_id].discard(connection)

    def subscribe(self, user_id: int, room_id: int) -> None:
        """Every session of the user now receives the room (a new membership)."""
        for connection in self._by_user.get(user_id, ()):
            self._rooms_of[connection].add(room_id)
            self._by_room[room_id].add(connection)

    def unsubscribe(self, user_id: int, room_id: int) -> None:
        """No session of the user receives the room any more (it left)."""
        for connection in self._by_user.get(user_id, ()):
            self._rooms_of[connection].discard(room_id)
            self._by_room[room_id].discard(connection)

    def of_user(self, user_id: int) -> set[Connection]:
        """The user's open sessions (an empty set when offline)."""
        return self._by_user.get(user_id, set())

    def in_room(self, room_id: int) -> set[Connection]:
        """The sessions receiving the room's messages."""
        return self._by_room.get(room_id, set())

    def all(self) -> Iterable[Connection]:
        """Every logged-in connection."""
        return self._rooms_of.keys()

    def __len__(self) -> int:
        return len(self._rooms_of)
