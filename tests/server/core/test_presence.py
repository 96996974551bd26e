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


def test_a_user_online_on_two_nodes_goes_offline_with_the_last_session_anywhere() -> None:
    book = PresenceBook()
    assert book.remote_sessions("b", 1, "alice", 1, Status.ONLINE) == Presence(
        "alice", Status.ONLINE
    )
    assert book.session_opened(1, "alice") is None  # already online, on node b
    assert book.elsewhere() == [("alice", "b")]
    assert book.session_closed(1) is None  # still on node b
    assert book.remote_sessions("b", 1, "alice", 0, Status.ONLINE) == Presence(
        "alice", Status.OFFLINE
    )
    assert book.online() == []


def test_the_last_status_set_on_any_node_is_the_users() -> None:
    book = PresenceBook()
    book.session_opened(1, "alice")
    assert book.remote_sessions("b", 1, "alice", 1, Status.AWAY) == Presence("alice", Status.AWAY)
    assert book.status_of(1) is Status.AWAY
    assert book.remote_sessions("b", 1, "alice", 2, Status.AWAY) is None  # nothing visible


def test_a_node_gone_takes_its_users_offline_but_not_those_still_here() -> None:
    book = PresenceBook()
    book.remote_sessions("b", 1, "alice", 1, Status.ONLINE)
    book.remote_sessions("b", 2, "bob", 1, Status.BUSY)
    book.session_opened(2, "bob")
    assert book.node_gone("b") == [Presence("alice", Status.OFFLINE)]
    assert book.online() == [Presence("bob", Status.BUSY)]
    assert book.local() == [(2, "bob", Status.BUSY, 1)] and book.elsewhere() == []
