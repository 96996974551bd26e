"""Presence: who is online, with which status, across their sessions.

A user may be logged in from several clients at once. They are ``online`` from
their first session, keep the status they set while any session is open, and
become ``offline`` when the last one closes. Each method returns the
``Presence`` to announce, or None when nothing visible changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from guigui.common.objects import Presence
from guigui.common.protocol import Status


@dataclass
class _Online:
    login: str
    status: Status
    sessions: int


@dataclass
class PresenceBook:
    """Statuses and session counts of the users who are online, by user id."""

    _online: dict[int, _Online] = field(default_factory=dict)

    def session_opened(self, user_id: int, login: str) -> Presence | None:
        """A session of the user started; returns the presence to announce, if new."""
        entry = self._online.get(user_id)
        if entry is not None:
            entry.sessions += 1
            return None
        self._online[user_id] = _Online(login, Status.ONLINE, 1)
        return Presence(login, Status.ONLINE)

    def session_closed(self, user_id: int) -> Presence | None:
        """A session of the user ended; returns ``offline`` when it was the last one."""
        entry = self._online.get(user_id)
        if entry is None:
            return None
        entry.sessions -= 1
        if entry.sessions > 0:
            return None
        del self._online[user_id]
        return Presence(entry.login, Status.OFFLINE)

    def set_status(self, user_id: int, status: Status) -> Presence | None:
        """The user chose a status; returns the presence to announce if it changed."""
        entry = self._online.get(user_id)
        if entry is None or entry.status is status:
            return None
        entry.status = status
        return Presence(entry.login, status)

    def status_of(self, user_id: int) -> Status:
        """The user's status (``offline`` when no session is open)."""
        entry = self._online.get(user_id)
        return Status.OFFLINE if entry is None else entry.status

    def online(self) -> list[Presence]:
        """Everyone online, by login."""
        return sorted(
            (Presence(entry.login, entry.status) for entry in self._online.values()),
            key=lambda presence: presence.login.casefold(),
        )

    def __len__(self) -> int:
        return len(self._online)
