"""HELLO, REGISTER, LOGIN, RESUME, LOGOUT and SET_STATUS.

Logging in takes three steps off the loop thread and back: bcrypt checks the
password on a hasher thread, the store saves the new token's hash and opens a
connection-log row, then the loop opens the session. A sanctioned login or IP
is refused with ``banned``/``kicked`` once the password has been checked.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

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
    encode,
)
from guigui.common.protocol import PROTOCOL_VERSION, SETTABLE_STATUSES, ErrorCode, Status
from guigui.common.validation import login_key, validate_registration
from guigui.server.clock import now_ms
from guigui.server.connection import Phase
from guigui.server.core.accounts import TOKEN_LIFETIME_MS, hash_token, new_token, public_user
from guigui.server.core.sanctions import sanction_error
from guigui.server.frame_budget import items_that_fit, room_left
from guigui.server.handlers.base import HandlerFamily
from guigui.server.handoff import Outcome
from guigui.server.store import DuplicateKey, Store, UserRecord

if TYPE_CHECKING:
    from guigui.server.connection import Connection

log = logging.getLogger(__name__)


def _whole_if_integral(seconds: float) -> float:
    """``30`` rather than ``30.0`` on the wire when the value is whole."""
    return int(seconds) if float(seconds).is_integer() else seconds


class SessionHandlers(HandlerFamily):
    """Handshake, accounts and sessions."""

    def handlers(self) -> dict[type, Any]:
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
        config = self.server.config
        self.server.reply(
            connection,
            HelloOk(
                request.id,
                version=PROTOCOL_VERSION,
                server=f"guigui/{__version__}",
                max_frame=config.max_frame,
                max_text=config.max_text,
                heartbeat=_whole_if_integral(config.heartbeat),
            ),
        )

    # ---- REGISTER ------------------------------------------------------------

    def register(self, connection: Connection, request: Register) -> None:
        """Validate, reserve the login and email, hash the password, then store the user."""
        validate_registration(
            request.login, request.password, request.first_name, request.last_name, request.email
        )
        wait = self.server.registrations.hit(connection.ip, time.monotonic())
        if wait:
            raise self.server.rate_limited(
                "too many accounts created from this IP", wait, connection
            )
        users = self.server.users
        users.reserve(request.login, request.email)

        def hashed(outcome: Outcome[bytes]) -> None:
            if isinstance(outcome, BaseException):
                users.release(request.login, request.email)
                self.server.failed(connection, request.id, outcome)
                return
            self._store_user(connection, request, outcome)

        self.server.hasher.hash(request.password, hashed)

    def _store_user(self, connection: Connection, request: Register, password_hash: bytes) -> None:
        server = self.server
        arrival = server.rooms.arrival_room()
        created = now_ms()

        def create(store: Store) -> UserRecord:
            return store.create_user(
                login=request.login,
                first_name=request.first_name.strip(),
                last_name=request.last_name.strip(),
                email=request.email.strip(),
                password_hash=password_hash,
                created_at=created,
                arrival_room_id=arrival.id,
            )

        def stored(outcome: Outcome[UserRecord]) -> None:
            server.users.release(request.login, request.email)
            if isinstance(outcome, DuplicateKey):
                code = ErrorCode.LOGIN_TAKEN if outcome.field == "login" else ErrorCode.EMAIL_TAKEN
                outcome = ProtocolError(code, f"this {outcome.field} is taken", field=outcome.field)
            if server.failed(connection, request.id, outcome):
                return
            assert isinstance(outcome, UserRecord)
            server.users.add(outcome)
            server.rooms.add_member(outcome.id, arrival.id)
            user = public_user(outcome, Status.OFFLINE, with_email=True)
            server.reply(connection, RegisterOk(request.id, user))

        server.store_worker.submit(create, stored)

    # ---- LOGIN and RESUME ----------------------------------------------------

    def _begin_authentication(self, connection: Connection) -> None:
        if connection.phase is Phase.LOGGED_IN:
            raise ProtocolError(ErrorCode.ALREADY_AUTHENTICATED, "you are already logged in")
        if connection.phase is Phase.AUTHENTICATING:
            raise ProtocolError(ErrorCode.ALREADY_AUTHENTICATED, "a login is already in progress")
        connection.phase = Phase.AUTHENTICATING

    def _refuse_if_sanctioned(self, connection: Connection, user: UserRecord) -> None:
        sanction = self.server.sanctions.blocking(user.login, connection.ip, now_ms())
        if sanction is not None:
            raise sanction_error(sanction)

    def _fail_authentication(
        self, connection: Connection, request_id: int, failure: BaseException
    ) -> None:
        """Back to logged out, answering with ``failure`` (a refusal or a worker's error)."""
        connection.phase = Phase.READY
        self.server.failed(connection, request_id, failure)

    def login(self, connection: Connection, request: Login) -> None:
        """Check the password on a worker, then open a session with a new token."""
        server = self.server
        account, now = login_key(request.login), time.monotonic()
        wait = max(
            server.account_failures.wait(account, now), server.ip_failures.wait(connection.ip, now)
        )
        if wait:
            raise server.rate_limited("too many failed logins", wait, connection)
        self._begin_authentication(connection)
        user = server.users.find(request.login)
        server.account_failures.started(account)
        server.ip_failures.started(connection.ip)

        def checked(outcome: Outcome[bool]) -> None:
            server.account_failures.finished(account)
            server.ip_failures.finished(connection.ip)
            if outcome is True and user is not None:
                server.account_failures.succeeded(account)
            elif not isinstance(outcome, BaseException):
                later = time.monotonic()
                locked = server.account_failures.failed(account, later)
                locked = max(locked, server.ip_failures.failed(connection.ip, later))
                if locked:
                    log.warning(
                        "failed logins: %r from %s locked for %.0f s",
                        request.login,
                        connection.ip,
                        locked,
                    )
            if not connection.active:
                return
            if outcome is not True or user is None:
                refusal = ProtocolError(ErrorCode.BAD_CREDENTIALS, "wrong login or password")
                failure = outcome if isinstance(outcome, BaseException) else refusal
                self._fail_authentication(connection, request.id, failure)
                return
            token, token_hash = new_token()
            self._start_session(connection, request.id, user, token, token_hash, save_token=True)

        self.server.hasher.check(
            request.password, None if user is None else user.password_hash, checked
        )

    def resume(self, connection: Connection, request: Resume) -> None:
        """Look the token up in the store, then open a session as LOGIN does."""
        self._begin_authentication(connection)
        token_hash = hash_token(request.token)
        now = now_ms()

        def found(outcome: Outcome[int | None]) -> None:
            if not connection.active:
                return
            if outcome is None or isinstance(outcome, BaseException):
                refusal = ProtocolError(ErrorCode.BAD_TOKEN, "unknown, expired or revoked token")
                failure = outcome if isinstance(outcome, BaseException) else refusal
                self._fail_authentication(connection, request.id, failure)
                return
            user = self.server.users.get(outcome)
            self._start_session(
                connection, request.id, user, request.token, token_hash, save_token=False
            )

        self.server.store_worker.submit(lambda store: store.find_token(token_hash, now), found)

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
        try:
            self._refuse_if_sanctioned(connection, user)
        except ProtocolError as error:
            self._fail_authentication(connection, request_id, error)
            return
        now = now_ms()
        ip = connection.ip

        def persist(store: Store) -> int:
            if save_token:
                store.save_token(token_hash, user.id, now, now + TOKEN_LIFETIME_MS)
            return store.log_connection_start(user.id, user.login, ip, now)

        def persisted(outcome: Outcome[int]) -> None:
            if not connection.active:
                return
            if isinstance(outcome, BaseException):
                self._fail_authentication(connection, request_id, outcome)
                return
            self._open_session(connection, request_id, user, token, token_hash, outcome)

        self.server.store_worker.submit(persist, persisted)

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
        wrote), and the caller has checked that the connection is still open.
        Only then does the session become visible: the registry subscribes it
        to the user's rooms (from now on it receives their messages), presence
        may turn the user online, and SESSION_OK goes out with the people
        online. Those that do not fit in one frame (``max_frame``) follow as
        PRESENCE events, so a large company never makes the reply too big.
        The others hear of the user after the reply, so the user's own client
        knows its session before anyone can write to it.
        """
        server = self.server
        try:  # a sanction may have arrived while the store worked
            self._refuse_if_sanctioned(connection, user)
        except ProtocolError as error:
            self._fail_authentication(connection, request_id, error)
            return
        connection.phase = Phase.LOGGED_IN
        connection.user = user
        connection.token_hash = token_hash
        connection.log_id = log_id
        server.sessions.open(connection, user.id, server.rooms.rooms_of(user.id))
        change = server.presence.session_opened(user.id, user.login)
        status = server.presence.status_of(user.id)
        reply = SessionOk(
            request_id,
            user=public_user(user, status, with_email=True),
            token=token,
            rooms=server.rooms.views_for(user.id),
            online=[],
        )
        online = server.presence.online()
        fitting = items_that_fit(online, room_left(server.config.max_frame, reply))
        server.reply(connection, msgspec.structs.replace(reply, online=online[:fitting]))
        for presence in online[fitting:]:  # those that did not fit in one frame
            connection.send(encode(PresenceEvent(presence.login, presence.status)))
        if change is not None:
            server.announce_presence(change, skip=connection)

    # ---- LOGOUT and SET_STATUS -----------------------------------------------

    def logout(self, connection: Connection, request: Logout) -> None:
        """Revoke the session's token, end the session, keep the connection."""
        self.require_login(connection)
        token_hash = connection.token_hash
        self.server.end_session(connection)
        now = now_ms()

        def revoke(store: Store) -> None:
            if token_hash is not None:
                store.revoke_token(token_hash, now)

        def revoked(outcome: Outcome[None]) -> None:
            if not self.server.failed(connection, request.id, outcome):
                self.server.reply(connection, Ok(request.id))

        self.server.store_worker.submit(revoke, revoked)

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
        change = self.server.presence.set_status(user.id, Status(request.status))
        self.server.reply(connection, Ok(request.id))
        if change is not None:
            self.server.announce_presence(change)
