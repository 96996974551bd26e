"""Presence: who is online, with which status, across their sessions and the cluster's nodes.

A user may be logged in from several clients at once, on this node and, in a
cluster, on others. They are ``online`` from their first session anywhere,
keep the status they last set (on any node) while any session is open, and
become ``offline`` when the last one closes, or when the node holding their
last sessions is gone. Each method returns the ``Presence`` to announce to this
node's sessions, or None when nothing visible changed.

Sessions on this node are counted here; other nodes report their own counts
(``remote_sessions``, from their events), so the book never double-counts.
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
    """Sessions on this node."""
    elsewhere: dict[str, int] = field(default_factory=dict)
    """Sessions on other nodes, by node name (only counts above zero are kept)."""

    @property
    def visible(self) -> bool:
        return self.sessions > 0 or bool(self.elsewhere)


@dataclass
class PresenceBook:
    """Statuses and session counts of the users who are online, by user id."""

    _online: dict[int, _Online] = field(default_factory=dict)

    def session_opened(self, user_id: int, login: str) -> Presence | None:
        """A session of the user started here; returns the presence to announce, if new."""
        entry = self._online.get(user_id)
        if entry is not None:
            entry.sessions += 1
            return None
        self._online[user_id] = _Online(login, Status.ONLINE, 1)
        return Presence(login, Status.ONLINE)

    def session_closed(self, user_id: int) -> Presence | None:
        """A session of the user ended here; returns ``offline`` when it was the last anywhere."""
        entry = self._online.get(user_id)
        if entry is None or entry.sessions == 0:
            return None
        entry.sessions -= 1
        return self._forget_if_gone(user_id, entry)

    def set_status(self, user_id: int, status: Status) -> Presence | None:
        """The user chose a status; returns the presence to announce if it changed."""
        entry = self._online.get(user_id)
        if entry is None or entry.status is status:
            return None
        entry.status = status
        return Presence(entry.login, status)

    def remote_sessions(
        self, node: str, user_id: int, login: str, sessions: int, status: Status
    ) -> Presence | None:
        """Another node says how many sessions the user has there, and the user's status.

        The status is the user's, whatever the node: the last one reported wins.
        """
        entry = self._online.get(user_id)
        if entry is None:
            if sessions <= 0:
                return None
            self._online[user_id] = _Online(login, status, 0, {node: sessions})
            return Presence(login, status)
        if sessions > 0:
            entry.elsewhere[node] = sessions
        else:
            entry.elsewhere.pop(node, None)
            if not entry.visible:
                return self._forget_if_gone(user_id, entry)
        if entry.status is not status:
            entry.status = status
            return Presence(entry.login, status)
        return None

    def node_gone(self, node: str) -> list[Presence]:
        """Another node stopped or died: its sessions are gone; returns who went offline."""
        gone = []
        for user_id, entry in list(self._online.items()):
            if entry.elsewhere.pop(node, None) is not None:
                change = self._forget_if_gone(user_id, entry)
                if change is not None:
                    gone.append(change)
        return gone

    def local_sessions(self, user_id: int) -> int:
        """The user's sessions on this node."""
        entry = self._online.get(user_id)
        return 0 if entry is None else entry.sessions

    def local(self) -> list[tuple[int, str, Status, int]]:
        """(user id, login, status, sessions) of every user with sessions on this node."""
        return [
            (user_id, entry.login, entry.status, entry.sessions)
            for user_id, entry in self._online.items()
            if entry.sessions > 0
        ]

    def elsewhere(self) -> list[tuple[str, str]]:
        """(login, node) of every user with sessions on another node, one pair per node."""
        return [(entry.login, node) for entry in self._online.values() for node in entry.elsewhere]

    def status_of(self, user_id: int) -> Status:
        """The user's status (``offline`` when no session is open anywhere)."""
        entry = self._online.get(user_id)
        return Status.OFFLINE if entry is None else entry.status

    def online(self) -> list[Presence]:
        """Everyone online, on any node, by login."""
        return sorted(
            (Presence(entry.login, entry.status) for entry in self._online.values()),
            key=lambda presence: presence.login.casefold(),
        )

    def _forget_if_gone(self, user_id: int, entry: _Online) -> Presence | None:
        if entry.visible:
            return None
        del self._online[user_id]
        return Presence(entry.login, Status.OFFLINE)

    def __len__(self) -> int:
        return len(self._online)
