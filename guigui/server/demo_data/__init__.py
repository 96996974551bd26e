"""Demo data: a small French company loaded into a store (``run_server.py demo-data``).

Twenty users in seven departments, their rooms, three access requests left
pending, three working days of conversations in every room and in private, and
one kick. The content is in ``content``; this module turns it into rows through
the ``Store`` interface only, so it loads the same on SQLite and on MariaDB.

What it promises:

- **Deterministic**: the same rows on every load of the same day (the gaps
  between lines come from a seeded generator; the days are the three working
  days before the load).
- **Idempotent**: a demo user that exists is not created again, and neither are
  its memberships, requests or sanction; every demo message carries a fixed
  nonce, so the store's ``(sender, nonce)`` key recognises one already stored.
  A second load reports "demo data already present".
- **Only into a test store**: every demo user has the same published password.
  A store holding any other user is refused (``DemoDataRefused``) unless the
  caller forces it, and a demo login or email taken by another user is refused
  even then.

The server keeps its users and rooms in memory from its start: load the demo
data with the server stopped (a running server would not see the new users and
would give message ids already used).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from guigui.common.protocol import SanctionKind
from guigui.common.validation import email_key, login_key
from guigui.server.demo_data.content import (
    ADMIN_LOGIN,
    CONVERSATIONS,
    DEMO_PASSWORD,
    PENDING_REQUESTS,
    PEOPLE,
    ROOM_MEMBERS,
    SANCTION,
    SEED,
    Person,
)
from guigui.server.hashing import hash_password
from guigui.server.store.base import Store, StoredMessage, UserRecord

__all__ = [
    "DEMO_PASSWORD",
    "DemoDataRefused",
    "DemoReport",
    "content",
    "demo_messages",
    "load_demo_data",
    "working_days_before",
]

ARRIVAL_ROOM = "Général"
NONCE_PREFIX = "demo-"
"""Demo messages carry the nonce ``demo-NNNN`` (their place in the content), unique per sender."""
SECONDS_BETWEEN_LINES = (20, 180)
"""Bounds of the seeded gap between two lines of a conversation."""
DAYS = 3


class DemoDataRefused(Exception):
    """The store is not one to load demo data into; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class DemoReport:
    """What one load did: how many rows of each kind it created."""

    users: int
    memberships: int
    pending_requests: int
    room_messages: int
    direct_messages: int
    sanctions: int

    @property
    def already_present(self) -> bool:
        """Whether the load found everything in place and created nothing."""
        return not (self.users or self.memberships or self.pending_requests or self.messages)

    @property
    def messages(self) -> int:
        """Room and direct messages created."""
        return self.room_messages + self.direct_messages

    def summary(self) -> str:
        """One line for the technician: what was created, or that nothing was needed."""
        if self.already_present:
            return f"demo data already present ({len(PEOPLE)} demo users): nothing created"
        return (
            f"created {self.users} users, {self.memberships} memberships,"
            f" {self.pending_requests} pending requests, {self.sanctions} sanction(s),"
            f" {self.messages} messages ({self.room_messages} in rooms,"
            f" {self.direct_messages} direct)"
        )


def working_days_before(day: date, count: int = DAYS) -> list[date]:
    """The ``count`` working days (Monday to Friday) before ``day``, oldest first."""
    days: list[date] = []
    current = day
    while len(days) < count:
        current -= timedelta(days=1)
        if current.weekday() < 5:
            days.append(current)
    return days[::-1]


def _local_ms(day: date, clock: str, seconds: int = 0) -> int:
    """Milliseconds since the epoch of ``HH:MM`` (plus seconds) on ``day``, in local time."""
    hours, minutes = (int(part) for part in clock.split(":"))
    moment = datetime.combine(day, time(hours, minutes)).astimezone()
    return int((moment.timestamp() + seconds) * 1000)


@dataclass(frozen=True, slots=True)
class DemoMessage:
    """One line of the content, placed in time: ``room`` or ``to`` is set."""

    nonce: str
    sender: str
    room: str | None
    to: str | None
    text: str
    ts: int


def demo_messages(today: date) -> list[DemoMessage]:
    """Every demo line with its time, in time order (the order ids are given in)."""
    days = working_days_before(today)
    gaps = random.Random(SEED)
    lines: list[DemoMessage] = []
    for conversation in CONVERSATIONS:
        offset = gaps.randint(0, 59)
        for sender, text in conversation.lines:
            to = None
            if conversation.between is not None:
                first, second = conversation.between
                to = second if sender == first else first
            ts = _local_ms(days[conversation.day], conversation.start, offset)
            nonce = f"{NONCE_PREFIX}{len(lines) + 1:04d}"
            lines.append(DemoMessage(nonce, sender, conversation.room, to, text, ts))
            offset += gaps.randint(*SECONDS_BETWEEN_LINES)
    return sorted(lines, key=lambda line: (line.ts, line.nonce))


def _is_demo_user(user: UserRecord, person: Person | None) -> bool:
    return person is not None and email_key(user.email) == email_key(person.email)


def _check_store(users: Sequence[UserRecord], force: bool) -> None:
    """Refuse a store with users of its own (``force`` allows it), or a clash of names."""
    people = {login_key(person.login): person for person in PEOPLE}
    emails = {email_key(person.email) for person in PEOPLE}
    others = [user for user in users if not _is_demo_user(user, people.get(login_key(user.login)))]
    clashes = [
        user.login
        for user in others
        if login_key(user.login) in people or email_key(user.email) in emails
    ]
    if clashes:
        raise DemoDataRefused(
            f"users not from the demo data hold demo logins or emails ({', '.join(clashes)}):"
            " the demo data cannot be loaded into this store"
        )
    if others and not force:
        named = ", ".join(user.login for user in others[:5]) + (", …" if len(others) > 5 else "")
        raise DemoDataRefused(
            f"the store holds {len(others)} user(s) not from the demo data ({named}); demo users"
            " all share a published password, so load them only into a test store"
            " (or pass --force to add them anyway)"
        )


def load_demo_data(
    store: Store, bcrypt_cost: int, now: int, today: date, *, force: bool = False
) -> DemoReport:
    """Load what is missing of the demo data into a migrated store; returns what was created.

    ``now`` stamps the sanction's audit line; ``today`` places the conversations
    on the three working days before it. Raises ``DemoDataRefused`` (nothing
    written) when the store holds other users and ``force`` is false, or when
    another user holds a demo login or email.
    """
    snapshot = store.load_snapshot(now)
    _check_store(snapshot.users, force)
    rooms = {room.name: room.id for room in snapshot.rooms}
    existing = {login_key(user.login): user.id for user in snapshot.users}
    days = working_days_before(today)
    created_at = _local_ms(days[0], "08:00") - 30 * 86_400_000

    ids: dict[str, int] = {}
    created: set[str] = set()
    for place, person in enumerate(PEOPLE):
        known = existing.get(login_key(person.login))
        if known is not None:
            ids[person.login] = known
            continue
        record = store.create_user(
            person.login,
            person.first_name,
            person.last_name,
            person.email,
            hash_password(DEMO_PASSWORD, bcrypt_cost),
            created_at + place * 60_000,
            rooms[ARRIVAL_ROOM],
        )
        ids[person.login] = record.id
        created.add(person.login)

    memberships = 0
    for room, members in ROOM_MEMBERS.items():
        for login in members:
            if login in created and room != ARRIVAL_ROOM:
                store.add_membership(ids[login], rooms[room])
                memberships += 1
    memberships += len(created)  # the arrival room's, made with each user

    requests = 0
    for login, room, day, clock in PENDING_REQUESTS:
        if login in created:
            store.create_access_request(ids[login], rooms[room], _local_ms(days[day], clock))
            requests += 1

    sanctions = 0
    if SANCTION.login in created:
        given = _local_ms(days[SANCTION.day], SANCTION.start)
        kind = SanctionKind(SANCTION.kind)
        until = given + SANCTION.hours * 3_600_000
        store.add_sanction(kind, SANCTION.login, None, until, SANCTION.reason, given, ADMIN_LOGIN)
        store.add_audit(ADMIN_LOGIN, str(kind), SANCTION.login, SANCTION.reason, given)
        sanctions = 1

    room_messages, direct_messages = _save_messages(store, ids, rooms, today)
    return DemoReport(
        len(created), memberships, requests, room_messages, direct_messages, sanctions
    )


def _save_messages(
    store: Store, ids: dict[str, int], rooms: dict[str, int], today: date
) -> tuple[int, int]:
    """Store every demo message in one transaction; returns (room, direct) counts of new ones.

    Ids follow the highest stored one, in time order. A message already stored
    under its (sender, nonce) is not stored again, nor counted.
    """
    last_id = store.load_snapshot(0).last_message_id
    batch = [
        StoredMessage(
            id=last_id + place,
            room_id=None if line.room is None else rooms[line.room],
            sender_id=ids[line.sender],
            recipient_id=None if line.to is None else ids[line.to],
            text=line.text,
            ts=line.ts,
            nonce=line.nonce,
        )
        for place, line in enumerate(demo_messages(today), start=1)
    ]
    saved = store.save_messages(batch)
    new = [
        message for message, first in zip(saved.messages, saved.first_time, strict=True) if first
    ]
    in_rooms = sum(1 for message in new if message.room_id is not None)
    return in_rooms, len(new) - in_rooms
