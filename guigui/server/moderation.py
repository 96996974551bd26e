"""Moderation: deciding access requests and applying or lifting sanctions.

This is the API the admin panel and the admin console call (through
``run_on_loop``, in ``guigui/server/handoff.py``): every method runs on the
loop thread, persists its change with the store worker (with a line in the
admin audit log), then applies it to live sessions: ACCESS_DECISION to the
requester, or SANCTIONED and a close to every session of a sanctioned login
or IP.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from guigui.common.messages import AccessDecision, Sanctioned, encode
from guigui.common.protocol import SanctionKind
from guigui.server.clock import now_ms
from guigui.server.core.sanctions import matches
from guigui.server.handoff import Done, Outcome
from guigui.server.store import AccessRequestRecord, SanctionRecord, Store

if TYPE_CHECKING:
    from guigui.server.chat_server import ChatServer

log = logging.getLogger(__name__)


def readable_until(until: int | None, now: int) -> str:
    """``until 2026-11-28 13:41:05 (in 5 min)`` or ``permanently``, for the server's log.

    The log is read by people (and shown in the panel's Log tab): a moment is a
    local date and time with how far away it is, never milliseconds since 1970.
    """
    if until is None:
        return "permanently"
    seconds = max(0, round((until - now) / 1000))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "",
             f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]  # fmt: skip
    words = " ".join([part for part in parts if part][:2]) or "0 s"  # the two largest units
    moment = datetime.fromtimestamp(until / 1000).strftime("%Y-%m-%d %H:%M:%S")
    return f"until {moment} (in {words})"


class Moderation:
    """What an admin can do to requests and users (loop thread only)."""

    def __init__(self, server: ChatServer) -> None:
        self.server = server

    def decide_request(
        self, request_id: int, granted: bool, admin: str, done: Done[AccessRequestRecord]
    ) -> None:
        """Grant or refuse a pending access request; the user hears it live.

        ``LookupError`` (through ``done``) when no such request is pending.
        """
        server = self.server
        request = server.rooms.require_pending(request_id)
        now = now_ms()
        room = server.rooms.get(request.room_id)
        user = server.users.get(request.user_id)
        action = "accept" if granted else "refuse"

        def persist(store: Store) -> None:
            store.decide_access_request(request_id, granted, admin, now)
            store.add_audit(
                admin, action, user.login, f"request #{request_id} for {room.name}", now
            )

        def persisted(outcome: Outcome[None]) -> None:
            if isinstance(outcome, BaseException):
                done(outcome)
                return
            settled = server.rooms.settle(request_id, granted)
            if granted:
                server.sessions.subscribe(user.id, room.id)
            event = encode(AccessDecision(room.name, granted, request_id))
            server.send_to(server.sessions.of_user(user.id), event)
            log.info("%s %sed %s's request for %s", admin, action, user.login, room.name)
            done(settled)

        server.store_worker.submit(persist, persisted)

    def sanction(
        self,
        kind: SanctionKind,
        login: str | None,
        ip: str | None,
        duration_seconds: int | None,
        reason: str,
        admin: str,
        done: Done[SanctionRecord],
    ) -> None:
        """Kick (for a duration) or ban (timed or permanent, ``duration_seconds`` None).

        The sanction is stored, then every live session it matches gets
        SANCTIONED and is closed.
        """
        if login is None and ip is None:
            raise ValueError("a sanction needs a login, an IP, or both")
        if kind is SanctionKind.KICK and duration_seconds is None:
            raise ValueError("a kick needs a duration")
        server = self.server
        now = now_ms()
        until = None if duration_seconds is None else now + duration_seconds * 1000
        target = " ".join(part for part in (login, ip) if part)

        def persist(store: Store) -> SanctionRecord:
            record = store.add_sanction(kind, login, ip, until, reason, now, admin)
            store.add_audit(admin, str(kind), target, reason, now)
            return record

        def persisted(outcome: Outcome[SanctionRecord]) -> None:
            if isinstance(outcome, BaseException):
                done(outcome)
                return
            server.sanctions.add(outcome)
            self._enforce(outcome)
            log.info(
                "%s: %s of %s %s (%s)", admin, kind, target, readable_until(until, now), reason
            )
            done(outcome)

        server.store_worker.submit(persist, persisted)

    def _enforce(self, sanction: SanctionRecord) -> None:
        """SANCTIONED then close, for every live connection the sanction matches."""
        event = encode(Sanctioned(sanction.kind, sanction.until, sanction.reason))
        for connection in list(self.server.connections):
            login = connection.user.login if connection.user is not None else None
            if matches(sanction, login, connection.ip):
                connection.send(event)
                connection.close_after_flush(f"{sanction.kind} #{sanction.id}")

    def lift(
        self,
        target: str,
        kind: SanctionKind | None,
        admin: str,
        done: Done[list[SanctionRecord]],
    ) -> None:
        """Lift the sanctions in force on a login or an IP (only kicks, only bans, or both)."""
        server = self.server
        now = now_ms()
        lifted = server.sanctions.targeting(target, kind, now)

        def persist(store: Store) -> None:
            for sanction in lifted:
                store.lift_sanction(sanction.id, now, admin)
            store.add_audit(admin, f"lift {kind or 'all'}", target, f"{len(lifted)} lifted", now)

        def persisted(outcome: Outcome[None]) -> None:
            if isinstance(outcome, BaseException):
                done(outcome)
                return
            for sanction in lifted:
                server.sanctions.remove(sanction.id)
            done(lifted)

        server.store_worker.submit(persist, persisted)
