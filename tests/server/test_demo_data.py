"""``run_server.py demo-data``: what it loads, on both stores, and a server serving it."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest

from guigui.common.protocol import MessageType
from guigui.common.validation import email_problem, login_problem, name_problem, password_problem
from guigui.server.clock import now_ms
from guigui.server.demo_data import (
    DEMO_PASSWORD,
    DemoDataRefused,
    demo_messages,
    load_demo_data,
    working_days_before,
)
from guigui.server.demo_data.content import (
    CONVERSATIONS,
    PENDING_REQUESTS,
    PEOPLE,
    ROOM_MEMBERS,
    SANCTION,
)
from guigui.server.store import Store, open_store
from tests.conftest import TEST_BCRYPT_COST, RunningServer
from tests.support.wire import WireClient

ROOT = Path(__file__).resolve().parents[2]
LOGINS = {person.login for person in PEOPLE}


def run_demo_data(database_url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """``run_server.py demo-data`` on that database, as a technician runs it."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run_server.py"), "demo-data", "--db", database_url,
         "--bcrypt-cost", str(TEST_BCRYPT_COST), *extra],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip


def expected_room_counts() -> Counter[str]:
    """Messages per room in the content."""
    return Counter(
        conversation.room
        for conversation in CONVERSATIONS
        if conversation.room is not None
        for _ in conversation.lines
    )


def expected_direct_counts() -> Counter[frozenset[str]]:
    """Direct messages per pair of users in the content."""
    return Counter(
        frozenset(conversation.between)
        for conversation in CONVERSATIONS
        if conversation.between is not None
        for _ in conversation.lines
    )


def opened(database_url: str) -> Store:
    """The store at that URL, migrated."""
    store = open_store(database_url)
    store.migrate()
    return store


# ---- the content ---------------------------------------------------------------


def test_the_content_is_a_plausible_company_that_holds_together() -> None:
    assert len(PEOPLE) == 20 and len(LOGINS) == 20
    assert len({person.department for person in PEOPLE}) >= 4
    for person in PEOPLE:
        assert login_problem(person.login) is None
        assert person.login == (person.first_name[0] + person.last_name).lower().translate(
            str.maketrans("éè", "ee")
        )
        assert name_problem(person.first_name) is None and name_problem(person.last_name) is None
        assert email_problem(person.email) is None
        assert person.email.endswith("@entreprise.example") and person.email.isascii()
    assert password_problem(DEMO_PASSWORD) is None
    assert set(ROOM_MEMBERS["Général"]) == LOGINS
    for conversation in CONVERSATIONS:
        for sender, text in conversation.lines:
            if conversation.room is not None:
                assert sender in ROOM_MEMBERS[conversation.room], (sender, conversation.room)
            else:
                assert conversation.between is not None and sender in conversation.between
            assert set(re.findall(r"@(\w+)", text)) <= LOGINS, text
    for login, room, _day, _time in PENDING_REQUESTS:
        assert login in LOGINS and login not in ROOM_MEMBERS[room]
    assert SANCTION.login in LOGINS and SANCTION.reason


def test_every_room_talks_on_each_of_the_three_days_with_mentions() -> None:
    days = {(conversation.room, conversation.day) for conversation in CONVERSATIONS}
    assert days >= {(room, day) for room in ROOM_MEMBERS for day in range(3)}
    assert sum(1 for c in CONVERSATIONS if c.between is not None) >= 6
    texts = [text for conversation in CONVERSATIONS for _, text in conversation.lines]
    assert sum(1 for text in texts if "@" in text) >= 8


def test_messages_are_seeded_and_fall_in_working_hours_of_the_last_working_days() -> None:
    sunday = date(2026, 11, 29)
    assert working_days_before(sunday) == [
        date(2026, 11, 25),
        date(2026, 11, 26),
        date(2026, 11, 27),
    ]
    assert working_days_before(date(2026, 11, 30)) == working_days_before(sunday)
    lines = demo_messages(sunday)
    assert lines == demo_messages(sunday)  # the same rows for every load of that day
    assert [line.ts for line in lines] == sorted(line.ts for line in lines)
    for line in lines:
        moment = datetime.fromtimestamp(line.ts / 1000)
        assert moment.date() in working_days_before(sunday)
        assert "08:00" <= moment.strftime("%H:%M") <= "18:30", line
    assert len({line.nonce for line in lines}) == len(lines)


# ---- loading, on both stores ---------------------------------------------------


def test_demo_data_fills_the_store_and_a_second_run_adds_nothing(database_url: str) -> None:
    first = run_demo_data(database_url)
    assert first.returncode == 0, first.stderr
    rooms_total = sum(expected_room_counts().values())
    direct_total = sum(expected_direct_counts().values())
    assert (
        f"created 20 users, 56 memberships, 3 pending requests, 1 sanction(s),"
        f" {rooms_total + direct_total} messages ({rooms_total} in rooms, {direct_total} direct)"
    ) in first.stdout
    assert DEMO_PASSWORD in first.stdout

    store = opened(database_url)
    try:
        snapshot = store.load_snapshot(now_ms())
        users = {user.login: user for user in snapshot.users}
        assert set(users) == LOGINS
        assert all(user.password_hash.startswith(b"$2b$04$") for user in users.values())
        rooms = {room.name: room.id for room in snapshot.rooms}
        names = {user.id: user.login for user in snapshot.users}
        memberships = {(names[user], room) for user, room in snapshot.memberships}
        assert memberships == {
            (login, rooms[room]) for room, members in ROOM_MEMBERS.items() for login in members
        }
        assert sorted((names[r.user_id], r.room_id) for r in snapshot.pending_requests) == sorted(
            (login, rooms[room]) for login, room, _, _ in PENDING_REQUESTS
        )
        [sanction] = snapshot.active_sanctions  # in force on the day of loading
        assert (sanction.kind, sanction.login) == ("kick", "afaure") and sanction.until
        assert sanction.reason == SANCTION.reason
        assert [line.action for line in store.list_audit(10)] == ["kick"]
        for room, count in expected_room_counts().items():
            history = store.room_history(rooms[room], None, 100)
            assert len(history) == count, room
            assert [m.ts for m in history] == sorted(m.ts for m in history)
        for pair, count in expected_direct_counts().items():
            first_login, second_login = sorted(pair)
            history = store.direct_history(users[first_login].id, users[second_login].id, None, 100)
            assert len(history) == count, pair
        last_id = snapshot.last_message_id
    finally:
        store.close()
    assert last_id == rooms_total + direct_total

    second = run_demo_data(database_url)
    assert second.returncode == 0, second.stderr
    assert "demo data already present" in second.stdout and "created 20" not in second.stdout
    store = opened(database_url)
    try:
        again = store.load_snapshot(now_ms())
        assert len(again.users) == 20 and len(again.memberships) == len(snapshot.memberships)
        assert len(again.pending_requests) == 3 and len(again.active_sanctions) == 1
        assert again.last_message_id == last_id
        assert len(store.list_audit(10)) == 1
    finally:
        store.close()


def test_a_store_with_real_users_is_refused_unless_forced(database_url: str) -> None:
    store = opened(database_url)
    try:
        store.create_user("alice", "Alice", "Martin", "alice@example.org", b"$2b$04$x", 1, 1)
    finally:
        store.close()
    refused = run_demo_data(database_url)
    assert refused.returncode == 1
    assert "1 user(s) not from the demo data (alice)" in refused.stderr
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    store = opened(database_url)
    try:
        assert [user.login for user in store.load_snapshot(0).users] == ["alice"]
    finally:
        store.close()

    forced = run_demo_data(database_url, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "created 20 users" in forced.stdout
    store = opened(database_url)
    try:
        assert len(store.load_snapshot(0).users) == 21
        # Forced or not, a second load still creates nothing.
        report = load_demo_data(store, TEST_BCRYPT_COST, now_ms(), date.today(), force=True)
        assert report.already_present
    finally:
        store.close()


def test_a_demo_login_taken_by_another_user_is_refused_even_forced(database_url: str) -> None:
    store = opened(database_url)
    try:
        store.create_user("CDupont", "Cédric", "Dupont", "cedric@example.org", b"$2b$04$x", 1, 1)
        with pytest.raises(DemoDataRefused, match="demo logins or emails"):
            load_demo_data(store, TEST_BCRYPT_COST, now_ms(), date.today(), force=True)
        assert len(store.load_snapshot(0).users) == 1
    finally:
        store.close()


# ---- a server on the demo store --------------------------------------------------


def test_a_server_on_the_demo_store_lets_demo_users_in_with_their_history(
    database_url: str, server_factory: Callable[..., RunningServer]
) -> None:
    store = opened(database_url)
    try:
        load_demo_data(store, TEST_BCRYPT_COST, now_ms(), date.today())
    finally:
        store.close()
    running = server_factory()
    lines = demo_messages(date.today())

    claire = WireClient(running.address)
    try:
        claire.hello()
        session = claire.login("cdupont", DEMO_PASSWORD)
        assert {room["name"] for room in session["rooms"] if room["member"]} == set(ROOM_MEMBERS)
        history = claire.ok(MessageType.HISTORY, room="Général", limit=100)["messages"]
        assert [m["text"] for m in history] == [
            line.text for line in lines if line.room == "Général"
        ]
        assert any("@imarchand" in m["text"] for m in history)
        private = claire.ok(MessageType.HISTORY, **{"with": "pmoreau"})["messages"]
        assert [(m["from"], m["text"]) for m in private] == [
            (line.sender, line.text)
            for line in lines
            if {line.sender, line.to} == {"cdupont", "pmoreau"}
        ]
    finally:
        claire.close()

    lea = WireClient(running.address)
    try:
        lea.hello()
        rooms = {room["name"]: room for room in lea.login("lmercier", DEMO_PASSWORD)["rooms"]}
        assert rooms["Informatique"]["pending"] and not rooms["Informatique"]["member"]
    finally:
        lea.close()

    antoine = WireClient(running.address)
    try:
        antoine.hello()
        refused = antoine.error(MessageType.LOGIN, login="afaure", password=DEMO_PASSWORD)
        assert refused["code"] == "kicked" and refused["reason"] == SANCTION.reason
    finally:
        antoine.close()
