"""Presence across several sessions, without sockets."""

from __future__ import annotations

from guigui.common.objects import Presence
from guigui.common.protocol import Status
from guigui.server.core.presence import PresenceBook


def test_first_session_announces_online_and_the_last_offline() -> None:
    book = PresenceBook()
    assert book.session_opened(1, "alice") == Presence("alice", Status.ONLINE)
    assert book.session_opened(1, "alice") is None
    assert book.session_closed(1) is None
    assert book.status_of(1) is Status.ONLINE
    assert book.session_closed(1) == Presence("alice", Status.OFFLINE)
    assert book.status_of(1) is Status.OFFLINE
    assert book.session_closed(1) is None


def test_status_changes_are_announced_once() -> None:
    book = PresenceBook()
    book.session_opened(1, "alice")
    assert book.set_status(1, Status.BUSY) == Presence("alice", Status.BUSY)
    assert book.set_status(1, Status.BUSY) is None
    assert book.set_status(2, Status.AWAY) is None  # not online


def test_online_is_sorted_by_login() -> None:
    book = PresenceBook()
    book.session_opened(2, "bob")
    book.session_opened(1, "Alice")
    book.set_status(2, Status.AWAY)
    assert book.online() == [Presence("Alice", Status.ONLINE), Presence("bob", Status.AWAY)]
    assert len(book) == 2
