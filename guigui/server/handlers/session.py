"""HELLO, REGISTER, LOGIN, RESUME, LOGOUT and SET_STATUS.

Logging in takes three steps off the loop thread and back: bcrypt checks the
password on a hasher thread, the store saves the new token's hash and opens a
connection-log row, then the loop opens the session. A sanctioned login or IP
is refused with ``banned``/``kicked`` once the password has been checked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from guigui import __version__
from guigui.common.errors import ProtocolError
from guigui.common.messages import (
    Hello,
    HelloOk,
    Login,
    Logout,
    Ok,
    PresenceEvent,
    Register,
    RegisterOk,
    Resume,
    SessionOk,
    SetStatus,
)
from guigui.common.protocol import PROTOCOL_VERSION, SETTABLE_STATUSES, ErrorCode, Status
from guigui.common.validation import login_key, validate_registration
from guigui.server.announcements import Announcements
from guigui.server.clock import now_ms
from guigui.server.config import ServerConfig
from guigui.server.connection import Connection, Phase
from guigui.server.core.accounts import (
    TOKEN_LIFETIME_MS,
    UserDirectory,
    hash_token,
    new_token,
    public_user,
)
from guigui.server.core.limits import FailureThrottle, SlidingWindow
from guigui.server.core.presence import PresenceBook
from guigui.server.core.rooms import RoomDirectory
from guigui.server.core.sanctions import SanctionBook, sanction_error
from guigui.server.delivery import Delivery
from guigui.server.frame_budget import items_that_fit, room_left
from guigui.server.handlers.base import HandlerFamily, RequestHandler
from guigui.server.hashing import PasswordHasher
from guigui.server.replies import rate_limited, reply, send, when_done
from guigui.server.sessions import SessionRegistry
from guigui.server.store import DuplicateKey, Store, UserRecord
from guigui.server.workers import StoreWorker

log = logging.getLogger(__name__)


def _whole_if_integral(seconds: float) -> float:
    """``30`` rather than ``30.0`` on the wire when the value is whole."""
    return int(seconds) if float(seconds).is_integer() else seconds


@dataclass(frozen=True)
class LoginLimits:
    """The limits on logging in and registering, shared by every connection."""

    failures_per_account: FailureThrottle
    """Failed logins per account (``login_key``): the account is locked for a while."""
    failures_per_ip: FailureThrottle
    """Failed logins per IP; attempts in flight count only after a failure."""
    registrations_per_ip: SlidingWindow
    """Accounts created per IP per hour."""


@dataclass(eq=False)
class SessionHandlers(HandlerFamily):
    """Handshake, accounts and sessions: a session is opened here, and ended here."""

    config: ServerConfig
    users: UserDirectory
    rooms: RoomDirectory
    presence: PresenceBook
    sanctions: SanctionBook
    sessions: SessionRegistry
    limits: LoginLimits
    hasher: PasswordHasher
    store_worker: StoreWorker[Any]
    delivery: Delivery
    announce: Announcements

    def handlers(self) -> dict[type, RequestHandler]:
        """Request class to handler."""
        return {
            Hello: self.hello,
            Register: self.register,
            Login: self.login,
            Resume: self.resume,
            Logout: self.logout,
            SetStatus: self.set_status,
        }

    # ---- HELLO ---------------------------------------------------------------

    def hello(self, connection: Connection, request: Hello) -> None:
        """Answer the handshake with the server's limits."""
        if request.version != PROTOCOL_VERSION:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_VERSION,
                f"this server speaks version {PROTOCOL_VERSION} only",
                fatal=True,
            )
        if connection.phase is Phase.NEW:
            connection.phase = Phase.READY
        config = self.config
        reply(
            connection,
            HelloOk(
                request.id,
                version=PROTOCOL_VERSION,
                server=f"guigui/{__version__}",
                max_frame=config.max_frame,
                max_text=config.max_text,
                heartbeat=_whole_if_integral(config.heartbeat),
                max_file=config.max_file,
            ),
        )

    # ---- REGISTER ------------------------------------------------------------

    def register(self, connection: Connection, request: Register) -> None:
        """Validate, reserve the login and email, hash the password, then store the user."""
        validate_registration(
            request.login, request.password, request.first_name, request.last_name, request.email
        )
        wait = self.limits.registrations_per_ip.hit(connection.ip, time.monotonic())
        if wait:
            raise rate_limited("too many accounts created from this IP", wait, connection)
        self.users.reserve(request.login, request.email)

        def release() -> None:
            self.users.release(request.login, request.email)

        def hashed(password_hash: bytes) -> None:
            self._store_user(connection, request, password_hash, release)

        self.hasher.hash(
            request.password, when_done(connection, request.id, hashed, on_failure=release)
        )

    def _store_user(
        self,
        connection: Connection,
        request: Register,
        password_hash: bytes,
        release: Callable[[], None],
    ) -> None:
        arrival = self.rooms.arrival_room()
        created = now_ms()

        def create(store: Store) -> UserRecord:
            try:
                return store.create_user(
                    login=request.login,
                    first_name=request.first_name.strip(),
                    last_name=request.last_name.strip(),
                    email=request.email.strip(),
                    password_hash=password_hash,
                    created_at=created,
                    arrival_room_id=arrival.id,
                )
            except DuplicateKey as duplicate:
                taken = duplicate.field
                code = ErrorCode.LOGIN_TAKEN if taken == "login" else ErrorCode.EMAIL_TAKEN
                raise ProtocolError(code, f"this {taken} is taken", field=taken) from None

        def stored(user: UserRecord) -> None:
            self.users.add(user)
            self.rooms.add_member(user.id, arrival.id)
            self.announce.user_changed(user.id)
            public = public_user(user, Status.OFFLINE, with_email=True)
            reply(connection, RegisterOk(request.id, public))

        self.store_worker.submit(
            create, when_done(connection, request.id, stored, finally_=release)
        )

    # ---- LOGIN and RESUME ----------------------------------------------------

    def _begin_authentication(self, connection: Connection) -> None:
        if connection.phase is Phase.LOGGED_IN:
            raise ProtocolError(ErrorCode.ALREADY_AUTHENTICATED, "you are already logged in")
        if connection.phase is Phase.AUTHENTICATING:
            raise ProtocolError(ErrorCode.ALREADY_AUTHENTICATED, "a login is already in progress")
        connection.phase = Phase.AUTHENTICATING

    def _refuse_if_sanctioned(self, connection: Connection, user: UserRecord) -> None:
        sanction = self.sanctions.blocking(user.login, connection.ip, now_ms())
        if sanction is not None:
            raise sanction_error(sanction)

    @staticmethod
    def _back_to_logged_out(connection: Connection) -> None:
        """A LOGIN or RESUME failed: the connection may try again."""
        if connection.phase is Phase.AUTHENTICATING:
            connection.phase = Phase.READY

    def login(self, connection: Connection, request: Login) -> None:
        """Check the password on a worker, then open a session with a new token."""
        limits = self.limits
        account, now = login_key(request.login), time.monotonic()
        wait = max(
            limits.failures_per_account.wait(account, now),
            limits.failures_per_ip.wait(connection.ip, now),
        )
        if wait:
            raise rate_limited("too many failed logins", wait, connection)
        self._begin_authentication(connection)
        user = self.users.find(request.login)
        limits.failures_per_account.started(account)
        limits.failures_per_ip.started(connection.ip)

        def count(right: bool) -> None:
            later = time.monotonic()
            if right:
                limits.failures_per_account.succeeded(account)
                return
            locked = limits.failures_per_account.failed(account, later)
            locked = max(locked, limits.failures_per_ip.failed(connection.ip, later))
            if locked:
                log.warning(
                    "failed logins: %r from %s locked for %.0f s",
                    request.login,
                    connection.ip,
                    locked,
                )

        def finished() -> None:
            limits.failures_per_account.finished(account)
            limits.failures_per_ip.finished(connection.ip)

        def checked(password_matches: bool) -> None:
            count(password_matches and user is not None)
            if not connection.active:
                return
            if not password_matches or user is None:
                raise ProtocolError(ErrorCode.BAD_CREDENTIALS, "wrong login or password")
            token, token_hash = new_token()
            self._start_session(connection, request.id, user, token, token_hash, save_token=True)

        self.hasher.check(
            request.password,
            None if user is None else user.password_hash,
            when_done(
                connection,
                request.id,
                checked,
                finally_=finished,
                on_failure=lambda: self._back_to_logged_out(connection),
            ),
        )

    def resume(self, connection: Connection, request: Resume) -> None:
        """Look the token up in the store, then open a session as LOGIN does."""
        self._begin_authentication(connection)
        token_hash = hash_token(request.token)
        now = now_ms()

        def found(user_id: int | None) -> None:
            if not connection.active:
                return
            if user_id is None:
                raise ProtocolError(ErrorCode.BAD_TOKEN, "unknown, expired or revoked token")
            user = self.users.get(user_id)
            self._start_session(
                connection, request.id, user, request.token, token_hash, save_token=False
            )

        self.store_worker.submit(
            lambda store: store.find_token(token_hash, now),
            when_done(
                connection,
                request.id,
                found,
                on_failure=lambda: self._back_to_logged_out(connection),
            ),
        )

    def _start_session(
        self,
        connection: Connection,
        request_id: int,
        user: UserRecord,
        token: str,
        token_hash: bytes,
        *,
        save_token: bool,
    ) -> None:
        """Store the token (if new) and a connection-log row, then open the session."""
        self._refuse_if_sanctioned(connection, user)
        now = now_ms()
        ip = connection.ip

        def persist(store: Store) -> int:
            if save_token:
                store.save_token(token_hash, user.id, now, now + TOKEN_LIFETIME_MS)
            return store.log_connection_start(user.id, user.login, ip, now)

        def persisted(log_id: int) -> None:
            if connection.active:
                self._open_session(connection, request_id, user, token, token_hash, log_id)

        self.store_worker.submit(
            persist,
            when_done(
                connection,
                request_id,
                persisted,
                on_failure=lambda: self._back_to_logged_out(connection),
            ),
        )

    def _open_session(
        self,
        connection: Connection,
        request_id: int,
        user: UserRecord,
        token: str,
        token_hash: bytes,
        log_id: int,
    ) -> None:
        """Make ``connection`` a logged-in session of ``user``: the last step of LOGIN and RESUME.

        It runs on the loop thread once the store has the token and the
        connection-log row, so every check before it may be stale: the
        sanction check is made again (a ban may have come while the worker
        wrote; raising it answers the request), and the caller has checked
        that the connection is still open.
        Only then does the session become visible: the registry subscribes it
        to the user's rooms (from now on it receives their messages), presence
        may turn the user online, and SESSION_OK goes out with the people
        online. Those that do not fit in one frame (``max_frame``) follow as
        PRESENCE events, so a large company never makes the reply too big.
        The others hear of the user after the reply, so the user's own client
        knows its session before anyone can write to it.
        """
        self._refuse_if_sanctioned(connection, user)  # a sanction may have come meanwhile
        connection.phase = Phase.LOGGED_IN
        connection.user = user
        connection.token_hash = token_hash
        connection.log_id = log_id
        self.sessions.open(connection, user.id, self.rooms.rooms_of(user.id))
        change = self.presence.session_opened(user.id, user.login)
        status = self.presence.status_of(user.id)
        answer = SessionOk(
            request_id,
            user=public_user(user, status, with_email=True),
            token=token,
            rooms=self.rooms.views_for(user.id),
            online=[],
        )
        online = self.presence.online()
        fitting = items_that_fit(online, room_left(self.config.max_frame, answer))
        reply(connection, msgspec.structs.replace(answer, online=online[:fitting]))
        for presence in online[fitting:]:  # those that did not fit in one frame
            send(connection, PresenceEvent(presence.login, presence.status))
        if change is not None:
            self.delivery.presence(change, skip=connection)
        self._announce_sessions(user.id, user.login)

    def _announce_sessions(self, user_id: int, login: str) -> None:
        """Tell the other nodes how many sessions the user has here now, and their status."""
        sessions = self.presence.local_sessions(user_id)
        self.announce.sessions_changed(user_id, login, sessions, self.presence.status_of(user_id))

    def end_session(self, connection: Connection) -> None:
        """Close the connection's session, if any: presence, subscriptions, connection log.

        Called on LOGOUT, and by the server when a connection closes.
        """
        user = connection.user
        if connection.phase is not Phase.LOGGED_IN or user is None:
            return
        self.sessions.close(connection, user.id)
        connection.phase = Phase.READY
        connection.user = None
        connection.token_hash = None
        connection.wants_read_state = False
        change = self.presence.session_closed(user.id)
        if change is not None:
            self.delivery.presence(change)
        self._announce_sessions(user.id, user.login)
        log_id = connection.log_id
        connection.log_id = None
        if log_id is not None:
            ended = now_ms()
            self.store_worker.submit(
                lambda store: store.log_connection_end(log_id, ended), lambda _outcome: None
            )

    # ---- LOGOUT and SET_STATUS -----------------------------------------------

    def logout(self, connection: Connection, request: Logout) -> None:
        """Revoke the session's token, end the session, keep the connection."""
        self.require_login(connection)
        token_hash = connection.token_hash
        self.end_session(connection)
        now = now_ms()

        def revoke(store: Store) -> None:
            if token_hash is not None:
                store.revoke_token(token_hash, now)

        self.store_worker.submit(
            revoke, when_done(connection, request.id, lambda _: reply(connection, Ok(request.id)))
        )

    def set_status(self, connection: Connection, request: SetStatus) -> None:
        """Change the user's status and tell everyone."""
        user = self.require_login(connection)
        if request.status not in SETTABLE_STATUSES:
            raise ProtocolError(
                ErrorCode.INVALID_FIELD,
                "status must be online, away or busy",
                field="status",
                reason="status must be online, away or busy",
            )
        change = self.presence.set_status(user.id, Status(request.status))
        reply(connection, Ok(request.id))
        if change is not None:
            self.delivery.presence(change)
            self._announce_sessions(user.id, user.login)
