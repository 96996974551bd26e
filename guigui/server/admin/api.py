"""The admin command API: one object per admin view (the panel, the console).

Every command is posted to the loop thread (``run_on_loop``: the loop's
wake-up socketpair) and its result comes back as a ``concurrent.futures.Future``,
which the console waits on and the panel polls from Tk's ``after``. The views
hold no chat logic: they call these methods and show what comes back. This API
holds little more: the rules of moderation (whom a target names and a sanction
hits, its preview, deciding requests, applying and lifting sanctions) are in
``guigui/server/moderation.py``; here they are called for the logged-in admin.

Nothing but ``status`` works before ``login``: every other command fails with
``AdminError("log in first")`` (an ``AdminError`` speaks the admin's language,
and so do the ``ValueError`` and ``LookupError`` of a refused moderation
command). Failed logins are throttled per admin login (a growing lock after
three failures) and logged; every command that changes something is written to
the audit log, and so is every search of messages (``messages``), since it
reads other people's messages. Before a kick or ban that includes the IP,
``preview`` says whom the IP sanction would hit.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from guigui.common.errors import quote
from guigui.common.i18n import _
from guigui.common.protocol import SanctionKind
from guigui.common.validation import login_key
from guigui.server.admin.file_list import (
    DEFAULT_FILE_LIMIT,
    MAX_FILE_LIMIT,
    ListedFile,
)
from guigui.server.admin.search import (
    DEFAULT_SEARCH_LIMIT,
    FoundMessage,
    MessageSearch,
)
from guigui.server.clock import now_ms
from guigui.server.cluster.node import ClusterFigures, ClusterNode
from guigui.server.handoff import Done, Outcome, run_on_loop
from guigui.server.moderation import Moderation, SanctionPreview, SanctionResult
from guigui.server.personal_data import PersonalData
from guigui.server.store import (
    AccessRequestRecord,
    AdminRecord,
    AuditRecord,
    FileRecord,
    FileUsage,
    RoomRecord,
    SanctionRecord,
    Store,
    StoredMessage,
)

if TYPE_CHECKING:
    from guigui.server.chat_server import ChatServer

log = logging.getLogger(__name__)

T = TypeVar("T")


class AdminError(Exception):
    """A command that cannot be done; the message is shown to the admin as it is."""


@dataclass(frozen=True)
class ServerStatus:
    """What the panel shows before and after login."""

    address: str
    uptime_seconds: float
    connections: int
    sessions: int
    messages_stored: int
    admin: str | None
    cluster: ClusterFigures | None = None
    """This node's link with the others, when it is one node of a cluster."""


@dataclass(frozen=True)
class ConnectedUser:
    """A logged-in session."""

    login: str
    ip: str
    connected_at: float
    """Unix time (seconds)."""
    node: str = ""
    """The other node of the cluster the session is on ("": this one; ip and time unknown)."""


@dataclass(frozen=True)
class RoomInfo:
    """A room with its members."""

    name: str
    access: str
    members: list[str]
    online: list[str]


@dataclass(frozen=True)
class PendingRequest:
    """An access request waiting for a decision."""

    id: int
    login: str
    room: str
    created_at: int


class AdminAPI:
    """One admin's view of the server. Thread-safe: every call runs on the loop."""

    def __init__(self, server: ChatServer) -> None:
        self.server = server
        self.moderation = Moderation(server)
        self.personal_data = PersonalData(server)
        self.admin: str | None = None
        self._throttle = server.admin_throttle

    # ---- plumbing ------------------------------------------------------------

    def _call(
        self, action: Callable[[Done[T]], None], *, needs_login: bool = True
    ) -> concurrent.futures.Future[T]:
        def guarded(done: Done[T]) -> None:
            if needs_login and self.admin is None:
                raise AdminError(_("log in first (login)"))
            action(done)

        return run_on_loop(self.server, guarded)

    def _now(self, compute: Callable[[], T]) -> concurrent.futures.Future[T]:
        return self._call(lambda done: done(compute()))

    def _audit(self, action: str, target: str, details: str = "") -> None:
        admin = self.admin or "?"
        now = now_ms()
        self.server.store_worker.submit(
            lambda store: store.add_audit(admin, action, target, details, now),
            lambda _outcome: None,
        )

    # ---- session -------------------------------------------------------------

    def status(self) -> concurrent.futures.Future[ServerStatus]:
        """Live figures (no login needed)."""
        server = self.server

        def compute(done: Done[ServerStatus]) -> None:
            host, port = server.address
            done(
                ServerStatus(
                    address=f"{host}:{port}",
                    uptime_seconds=time.time() - server.started_at,
                    connections=len(server.connections),
                    sessions=len(server.sessions),
                    messages_stored=server.messages_stored,
                    admin=self.admin,
                    cluster=(
                        server.announce.figures
                        if isinstance(server.announce, ClusterNode)
                        else None
                    ),
                )
            )

        return self._call(compute, needs_login=False)

    def login(self, login: str, password: str) -> concurrent.futures.Future[str]:
        """Log in as an admin (bcrypt on a worker); throttled after failures."""
        server = self.server

        def start(done: Done[str]) -> None:
            account = login_key(login)
            wait = self._throttle.wait(account, time.monotonic())
            if wait:
                raise AdminError(f"too many failed logins: try again in {wait:.0f} s")

            def found(outcome: Outcome[AdminRecord | None]) -> None:
                if isinstance(outcome, BaseException):
                    done(
                        AdminError(_("the database is unavailable: {error}").format(error=outcome))
                    )
                    return
                record = outcome

                def checked(result: Outcome[bool]) -> None:
                    if result is not True or record is None:
                        locked = self._throttle.failed(account, time.monotonic())
                        if locked:
                            log.warning(
                                "admin login %r locked for %d s after a failure", login, locked
                            )
                        log.warning("failed admin login for %r", login)
                        done(AdminError(_("wrong admin login or password")))
                        return
                    self._throttle.succeeded(account)
                    self.admin = record.login
                    log.info("admin %s logged in", record.login)
                    self._audit("login", record.login)
                    done(record.login)

                server.hasher.check(
                    password, None if record is None else record.password_hash, checked
                )

            server.store_worker.submit(lambda store: store.find_admin(login), found)

        return self._call(start, needs_login=False)

    def logout(self) -> concurrent.futures.Future[None]:
        """Log out."""

        def run(done: Done[None]) -> None:
            self._audit("logout", self.admin or "?")
            log.info("admin %s logged out", self.admin)
            self.admin = None
            done(None)

        return self._call(run)

    # ---- views ---------------------------------------------------------------

    def users(self) -> concurrent.futures.Future[list[ConnectedUser]]:
        """Logged-in sessions: login, IP, time connected; in a cluster, those on other nodes."""
        server = self.server

        def everywhere() -> list[ConnectedUser]:
            here = [
                ConnectedUser(c.user.login, c.ip, c.connected_at)
                for c in server.sessions.all()
                if c.user is not None
            ]
            elsewhere = [
                ConnectedUser(login, "", 0.0, node) for login, node in server.presence.elsewhere()
            ]
            return sorted(
                here + elsewhere, key=lambda u: (u.login.casefold(), u.node, u.connected_at)
            )

        return self._now(everywhere)

    def rooms(self) -> concurrent.futures.Future[list[RoomInfo]]:
        """Rooms and their members (and who of them is online)."""
        server = self.server

        def compute() -> list[RoomInfo]:
            result = []
            for room in server.rooms.rooms():
                members = sorted(
                    (server.users.get(uid).login for uid in server.rooms.members(room.id)),
                    key=str.casefold,
                )
                online = sorted(
                    {c.user.login for c in server.sessions.in_room(room.id) if c.user},
                    key=str.casefold,
                )
                result.append(RoomInfo(room.name, str(room.access), members, online))
            return result

        return self._now(compute)

    def requests(self) -> concurrent.futures.Future[list[PendingRequest]]:
        """Pending access requests, oldest first."""
        return self._now(lambda: [self._pending(r) for r in self.server.rooms.pending_requests()])

    def _pending(self, request: AccessRequestRecord) -> PendingRequest:
        """An access request with the names the admin reads (loop thread)."""
        return PendingRequest(
            request.id,
            self.server.users.get(request.user_id).login,
            self.server.rooms.get(request.room_id).name,
            request.created_at,
        )

    def sanctions(self) -> concurrent.futures.Future[list[SanctionRecord]]:
        """Sanctions in force."""
        return self._now(lambda: self.server.sanctions.active(now_ms()))

    def messages(
        self,
        *,
        login: str | None = None,
        ip: str | None = None,
        room: str | None = None,
        limit: int = DEFAULT_SEARCH_LIMIT,
    ) -> concurrent.futures.Future[list[FoundMessage]]:
        """Messages by ``login`` or from ``ip`` (one of the two), maybe in ``room``, newest first.

        Reading other people's messages is audited: each search writes a
        ``messages`` line (who was searched, the room, the limit), found or not.
        """
        try:
            search = MessageSearch.checked(login, ip, room, limit)
        except ValueError as error:
            raise AdminError(str(error)) from None
        server = self.server

        def run(done: Done[list[FoundMessage]]) -> None:
            sender_id = None
            if search.login is not None:
                user = server.users.find(search.login)
                if user is None:
                    raise AdminError(_("no user named {login}").format(login=quote(search.login)))
                sender_id = user.id
            room_id, audited = None, search
            if search.room is not None:
                room = self._room_named(search.room)
                room_id, audited = room.id, dataclasses.replace(search, room=room.name)
            self._audit("messages", audited.target, audited.details)
            limit = search.limit

            def query(store: Store) -> list[StoredMessage]:
                return store.find_messages(sender_id, search.ip, room_id, limit)

            def found(outcome: Outcome[list[StoredMessage]]) -> None:
                if isinstance(outcome, BaseException):
                    done(outcome)
                    return
                done([self._found(message) for message in outcome])

            server.store_worker.submit(query, found)

        return self._call(run)

    def _room_named(self, name: str) -> RoomRecord:
        """The room called ``name`` (case and accents as the admin types them: any case)."""
        for room in self.server.rooms.rooms():
            if room.name.casefold() == name.casefold():
                return room
        names = ", ".join(room.name for room in self.server.rooms.rooms())
        raise AdminError(
            _("no room named {room} (the rooms: {names})").format(room=quote(name), names=names)
        )

    def _found(self, message: StoredMessage) -> FoundMessage:
        """A stored message with the names the admin reads (loop thread)."""
        users, rooms = self.server.users, self.server.rooms
        return FoundMessage(
            id=message.id,
            ts=message.ts,
            room=None if message.room_id is None else rooms.get(message.room_id).name,
            to=None if message.recipient_id is None else users.get(message.recipient_id).login,
            login=users.get(message.sender_id).login,
            ip=message.ip,
            text=message.text,
        )

    def audit(self, limit: int = 50) -> concurrent.futures.Future[list[AuditRecord]]:
        """The newest audit lines."""

        def run(done: Done[list[AuditRecord]]) -> None:
            self.server.store_worker.submit(lambda store: store.list_audit(limit), done)

        return self._call(run)

    # ---- files -------------------------------------------------------------------

    def files(
        self, owner: str | None = None, limit: int = DEFAULT_FILE_LIMIT
    ) -> concurrent.futures.Future[list[ListedFile]]:
        """Live files, newest first: all of them, or those ``owner`` (a login) sent.

        Only what describes a file (name, size, type, where, when) is read,
        never its content: listing is not audited, deleting is.
        """
        if not 1 <= limit <= MAX_FILE_LIMIT:
            raise AdminError(
                _("the limit is a number from 1 to {most}").format(most=MAX_FILE_LIMIT)
            )
        server = self.server

        def run(done: Done[list[ListedFile]]) -> None:
            owner_id = None
            if owner is not None:
                user = server.users.find(owner)
                if user is None:
                    raise AdminError(_("no user named {login}").format(login=quote(owner)))
                owner_id = user.id

            def found(outcome: Outcome[list[FileRecord]]) -> None:
                if isinstance(outcome, BaseException):
                    done(outcome)
                    return
                done([self._listed(record) for record in outcome])

            server.store_worker.submit(lambda store: store.list_files(owner_id, limit), found)

        return self._call(run)

    def _listed(self, record: FileRecord) -> ListedFile:
        """A stored file with the names the admin reads (loop thread)."""
        users, rooms = self.server.users, self.server.rooms
        return ListedFile(
            id=record.id,
            owner=users.get(record.owner_id).login,
            name=record.name,
            size=record.size,
            type=record.type,
            room=None if record.room_id is None else rooms.get(record.room_id).name,
            to=None if record.recipient_id is None else users.get(record.recipient_id).login,
            created_at=record.created_at,
        )

    def delete_file(self, file_id: int) -> concurrent.futures.Future[ListedFile]:
        """Delete a file (audited); the future gets the file as it was listed.

        The server's file service marks it deleted, stops its downloads and
        removes its content once no live file uses it; nobody can download it
        from then on. ``AdminError`` for an unknown or already deleted file.
        """
        server = self.server
        unknown = _("no file #{number} (unknown, or already deleted)").format(number=file_id)

        def run(done: Done[ListedFile]) -> None:
            if not 0 < file_id < 2**63:  # no database numbers a file so: none such
                raise AdminError(unknown)

            def deleted(outcome: FileRecord | BaseException | None) -> None:
                if isinstance(outcome, BaseException):
                    done(outcome)
                    return
                if outcome is None:
                    done(AdminError(unknown))
                    return
                listed = self._listed(outcome)
                details = f"{listed.name} by {listed.owner}, {listed.size} bytes"
                self._audit("delete file", f"#{listed.id}", details)
                log.info("admin %s deleted file #%d (%s)", self.admin, listed.id, details)
                done(listed)

            server.files.delete_file(file_id, deleted)

        return self._call(run)

    def storage(self) -> concurrent.futures.Future[FileUsage]:
        """The storage files use: how many live files, and their bytes."""
        server = self.server

        def run(done: Done[FileUsage]) -> None:
            server.store_worker.submit(lambda store: store.file_usage(), done)

        return self._call(run)

    # ---- decisions and sanctions (guigui.server.moderation) ----------------------

    def decide(self, request_id: int, granted: bool) -> concurrent.futures.Future[PendingRequest]:
        """Accept or refuse a pending request; the user is told live."""

        def run(done: Done[PendingRequest]) -> None:
            def decided(outcome: Outcome[AccessRequestRecord]) -> None:
                done(outcome if isinstance(outcome, BaseException) else self._pending(outcome))

            self.moderation.decide_request(request_id, granted, self.admin or "?", decided)

        return self._call(run)

    def kick(
        self, target: str, seconds: int, reason: str, *, login_only: bool = False
    ) -> concurrent.futures.Future[SanctionResult]:
        """Kick a login (with the IPs of its live sessions unless ``login_only``) or an IP."""
        return self._sanction(SanctionKind.KICK, target, seconds, reason, with_ips=not login_only)

    def ban(
        self, target: str, seconds: int | None, reason: str, *, login_only: bool = False
    ) -> concurrent.futures.Future[SanctionResult]:
        """Ban a login (with its live IPs unless ``login_only``) or an IP; None: permanent."""
        return self._sanction(SanctionKind.BAN, target, seconds, reason, with_ips=not login_only)

    def _sanction(
        self, kind: SanctionKind, target: str, seconds: int | None, reason: str, *, with_ips: bool
    ) -> concurrent.futures.Future[SanctionResult]:
        def run(done: Done[SanctionResult]) -> None:
            admin = self.admin or "?"
            self.moderation.sanction_target(
                kind, target, seconds, reason, admin, with_ips=with_ips, done=done
            )

        return self._call(run)

    def preview(self, target: str) -> concurrent.futures.Future[SanctionPreview]:
        """Whom a login + IP sanction on ``target`` would hit, without applying anything."""
        return self._call(lambda done: self.moderation.preview(target, done))

    def lift(
        self, target: str, kind: SanctionKind | None
    ) -> concurrent.futures.Future[list[SanctionRecord]]:
        """Lift the bans (``unban``) or kicks (``unkick``) on a login or an IP."""
        return self._call(lambda done: self.moderation.lift(target, kind, self.admin or "?", done))

    # ---- stopping --------------------------------------------------------------

    def stop(
        self, seconds: int, reason: str, *, whole_cluster: bool = False
    ) -> concurrent.futures.Future[None]:
        """Warn every client with SHUTDOWN counting down, then stop cleanly.

        ``whole_cluster``: every node of the cluster does the same (this one
        alone otherwise).
        """
        server = self.server

        def run(done: Done[None]) -> None:
            where = "the cluster" if whole_cluster else "this node"
            self._audit("stop", f"{where} in {seconds} s", reason)
            log.warning("admin %s: stopping %s in %d s (%s)", self.admin, where, seconds, reason)
            server.stop_in(seconds, reason)
            if whole_cluster:
                server.announce.stop_requested(seconds, reason)
            done(None)

        return self._call(run)

    # ---- personal data (guigui.server.personal_data) --------------------------

    def export_user(self, login: str) -> concurrent.futures.Future[dict[str, Any]]:
        """Everything kept about one user, as JSON values (GDPR access); audited."""
        return self._call(lambda done: self.personal_data.export(login, self.admin or "?", done))

    def erase_user(self, login: str) -> concurrent.futures.Future[str]:
        """Delete an account's personal data, keeping its messages; audited.

        The future gets the account's new login (``deleted#ID``).
        """
        return self._call(lambda done: self.personal_data.erase(login, self.admin or "?", done))


__all__ = [
    "AdminAPI",
    "AdminError",
    "ConnectedUser",
    "FoundMessage",
    "ListedFile",
    "PendingRequest",
    "RoomInfo",
    "ServerStatus",
]
