"""Moderation: every rule of what an admin does to access requests and users.

Who a target names (a login or an IP address), whose live sessions a sanction
hits and what a preview of it says, deciding an access request, applying and
lifting kicks and bans: all of it is here, each change with its line in the
admin audit log. The admin views call it through ``AdminAPI``
(``guigui/server/admin/api.py``), which logs the admin in, runs these methods
on the loop thread (``run_on_loop``, in ``guigui/server/handoff.py``) and
hands their results to the panel and the console.

Every method runs on the loop thread, persists its change with the store
worker, then applies it to live sessions: ACCESS_DECISION to the requester, or
SANCTIONED and a close to every session of a sanctioned login or IP. A command
that cannot be done (neither a login nor an IP, no such user, no such request)
fails with a ``ValueError`` or a ``LookupError`` whose message is in the
admin's language, as the views show it.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from guigui.common.errors import quote
from guigui.common.i18n import _
from guigui.common.messages import AccessDecision, Sanctioned, encode
from guigui.common.protocol import SanctionKind
from guigui.common.validation import login_problem
from guigui.server.clock import now_ms
from guigui.server.core.sanctions import matches
from guigui.server.handoff import Done, Outcome
from guigui.server.store import AccessRequestRecord, SanctionRecord, Store

if TYPE_CHECKING:
    from guigui.server.chat_server import ChatServer

log = logging.getLogger(__name__)

SEEN_FROM_SESSIONS = 1000
"""How many of the newest sessions of the connection log a preview reads for accounts
known on an IP (a bounded read, on the store worker)."""


def parse_target(text: str) -> tuple[str | None, str | None]:
    """``(login, None)`` or ``(None, ip)``: what a sanction command names.

    An IP address comes back in its standard form; ``ValueError`` when
    ``text`` is neither a login nor an IP address.
    """
    try:
        return None, str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if login_problem(text):
        raise ValueError(_("{text} is neither a login nor an IP address").format(text=quote(text)))
    return text, None


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


@dataclass(frozen=True)
class SanctionTarget:
    """Whom a sanction names: a login, an IP address, or a login with its live addresses."""

    login: str | None
    """The login as stored, None for an IP alone."""
    name: str
    """The login as stored, or the IP address."""
    ips: list[str]
    """The addresses sanctioned with it (the IP alone; empty: the login only)."""


@dataclass(frozen=True)
class SanctionPreview:
    """Whom a kick or ban would hit, computed before it is applied.

    A sanction on an IP closes every session on that address and refuses any
    login from it: the admin sees these names before choosing login + IP or
    login only.
    """

    target: str
    """The login as stored, or the IP address."""
    login: str | None
    """The login sanctioned, None for an IP alone."""
    ips: list[str]
    """The addresses the login + IP sanction covers (the login's live sessions', or the IP)."""
    others_online: list[str]
    """Other logins logged in now on those addresses: the IP sanction closes them too."""
    anonymous: int
    """Connections on those addresses not logged in (closed too)."""
    seen_from_ips: list[str]
    """Other accounts that connected from those addresses lately, not online now: they
    could not log in from there."""

    @property
    def hits_others(self) -> bool:
        """Whether the IP sanction reaches anyone but the login itself."""
        return bool(self.others_online or self.anonymous or self.seen_from_ips)


@dataclass(frozen=True)
class SanctionResult:
    """A kick or ban applied: its records, and whom it hit."""

    kind: SanctionKind
    target: str
    """The login as stored, or the IP address."""
    seconds: int | None
    """Its length; None: permanent (bans only)."""
    records: list[SanctionRecord]
    ips: list[str]
    """The addresses sanctioned with it (empty: login only)."""
    hit: list[str]
    """The logins whose live sessions it closed, the target first when it was online."""


class Moderation:
    """What an admin can do to requests and users (loop thread only)."""

    def __init__(self, server: ChatServer) -> None:
        self.server = server

    # ---- whom a sanction names and hits ----------------------------------------

    def target(self, text: str, *, with_ips: bool) -> SanctionTarget:
        """Whom a sanction on ``text`` names; a login brings its live addresses if ``with_ips``.

        ``LookupError`` when ``text`` is a login nobody has.
        """
        login, ip = parse_target(text)
        if login is None:
            assert ip is not None
            return SanctionTarget(None, ip, [ip])
        user = self.server.users.find(login)
        if user is None:
            raise LookupError(_("no user named {login}").format(login=quote(login)))
        live = sorted({c.ip for c in self.server.sessions.of_user(user.id)})
        return SanctionTarget(user.login, user.login, live if with_ips else [])

    def logins_hit(self, login: str | None, ips: list[str]) -> list[str]:
        """Logins of the live sessions a sanction on ``login`` and ``ips`` closes, login first."""
        names: list[str] = []
        for connection in self.server.sessions.all():
            user = connection.user
            if user is None or user.login in names:
                continue
            if user.login == login or connection.ip in ips:
                names.append(user.login)
        return sorted(names, key=lambda name: (name != login, name.casefold()))

    def preview(self, text: str, done: Done[SanctionPreview]) -> None:
        """Whom a login + IP sanction on ``text`` would hit, without applying anything.

        The live sessions say who is on those addresses now; the newest
        ``SEEN_FROM_SESSIONS`` sessions of the connection log (read on the store
        worker) name the accounts seen there lately.
        """
        server = self.server
        target = self.target(text, with_ips=True)
        login, ips = target.login, target.ips
        others = [who for who in self.logins_hit(login, ips) if who != login]
        anonymous = sum(1 for c in server.connections if c.user is None and c.ip in ips)
        online = {c.user.login.casefold() for c in server.sessions.all() if c.user}
        online.add((login or "").casefold())

        def seen(outcome: Outcome[list[tuple[str, str, int, int | None]]]) -> None:
            # A preview without the log's names is still worth showing.
            rows = [] if isinstance(outcome, BaseException) else outcome
            known = sorted(
                {who for who, ip, _start, _end in rows if ip in ips}
                - {who for who, *_rest in rows if who.casefold() in online},
                key=str.casefold,
            )
            done(SanctionPreview(target.name, login, ips, others, anonymous, known))

        if not ips:
            done(SanctionPreview(target.name, login, ips, others, anonymous, []))
            return
        server.store_worker.submit(lambda store: store.connection_log(SEEN_FROM_SESSIONS), seen)

    # ---- access requests ---------------------------------------------------------

    def decide_request(
        self, request_id: int, granted: bool, admin: str, done: Done[AccessRequestRecord]
    ) -> None:
        """Grant or refuse a pending access request; the user hears it live.

        ``LookupError`` when no such request is pending.
        """
        server = self.server
        try:
            request = server.rooms.require_pending(request_id)
        except LookupError:
            raise LookupError(_("no pending request #{number}").format(number=request_id)) from None
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
            settled = self.apply_decision(request_id, granted)
            server.announce.request_decided(request_id, user.id, room.id, granted)
            log.info("%s %sed %s's request for %s", admin, action, user.login, room.name)
            done(settled)

        server.store_worker.submit(persist, persisted)

    def apply_decision(self, request_id: int, granted: bool) -> AccessRequestRecord:
        """A stored decision, applied to this node: memberships, and the user told live.

        Called for a decision taken here, and for one taken on another node of a
        cluster (``guigui.server.cluster.node``).
        """
        server = self.server
        settled = server.rooms.settle(request_id, granted)
        room = server.rooms.get(settled.room_id)
        if granted:
            server.sessions.subscribe(settled.user_id, room.id)
        event = encode(AccessDecision(room.name, granted, request_id))
        server.send_to(server.sessions.of_user(settled.user_id), event)
        return settled

    # ---- sanctions ---------------------------------------------------------------

    def sanction_target(
        self,
        kind: SanctionKind,
        text: str,
        seconds: int | None,
        reason: str,
        admin: str,
        *,
        with_ips: bool,
        done: Done[SanctionResult],
    ) -> None:
        """Kick or ban what ``text`` names, and say whom it hit.

        An IP gets one sanction. A login gets one per address of its live
        sessions (``with_ips``: login + IP, so that the same person cannot log
        in again under another name from there), or one on the login alone.
        """
        target = self.target(text, with_ips=with_ips)
        hit = self.logins_hit(target.login, target.ips)
        addresses: list[str | None] = list(target.ips) if target.ips else [None]
        records: list[SanctionRecord] = []

        def next_one(outcome: Outcome[SanctionRecord] | None = None) -> None:
            if isinstance(outcome, BaseException):
                done(outcome)
                return
            if outcome is not None:
                records.append(outcome)
            if len(records) == len(addresses):
                done(SanctionResult(kind, target.name, seconds, records, target.ips, hit))
                return
            ip = addresses[len(records)]
            self.sanction(kind, target.login, ip, seconds, reason, admin, next_one)

        next_one()

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
            self.apply_sanction(outcome)
            server.announce.sanction_added(outcome)
            log.info(
                "%s: %s of %s %s (%s)", admin, kind, target, readable_until(until, now), reason
            )
            done(outcome)

        server.store_worker.submit(persist, persisted)

    def apply_sanction(self, sanction: SanctionRecord) -> None:
        """A stored sanction, in force on this node: every live connection it matches
        gets SANCTIONED and is closed (taken here, or on another node of a cluster)."""
        self.server.sanctions.add(sanction)
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
        _login, ip = parse_target(target)
        target = ip or target  # an IP in its standard form
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
                server.announce.sanction_lifted(sanction.id)
            done(lifted)

        server.store_worker.submit(persist, persisted)
