"""Accounts: the registered users as the server holds them in memory.

The directory answers the questions the loop asks on every request (who is this
login, is this email free) without a database round trip. It is filled from the
store at start and kept in step after each store commit. Passwords appear here
only as bcrypt hashes; hashing and checking them is done by worker threads.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from guigui.common.errors import ProtocolError, quote
from guigui.common.objects import User
from guigui.common.protocol import ErrorCode, Status
from guigui.common.validation import email_key, login_key
from guigui.server.store.base import ERASED_LOGIN_PREFIX, UserRecord

TOKEN_LIFETIME_MS = 30 * 24 * 3600 * 1000
"""How long a resume token stays valid after the login that issued it."""


def new_token() -> tuple[str, bytes]:
    """Create a resume token: the token for the client and the hash the store keeps."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> bytes:
    """SHA-256 of a token: tokens are random enough that a fast hash is safe here."""
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass
class UserDirectory:
    """Registered users by id and by login, plus logins and emails being registered."""

    _by_id: dict[int, UserRecord] = field(default_factory=dict)
    _by_login: dict[str, UserRecord] = field(default_factory=dict)
    _emails: set[str] = field(default_factory=set)
    _reserved_logins: set[str] = field(default_factory=set)
    _reserved_emails: set[str] = field(default_factory=set)

    def add(self, user: UserRecord) -> None:
        """Remember a user (loaded at start or just stored)."""
        self._by_id[user.id] = user
        self._by_login[login_key(user.login)] = user
        self._emails.add(email_key(user.email))

    def replace(self, user: UserRecord) -> UserRecord:
        """Put ``user`` in place of the record with its id (an erased account); returns the old.

        The old login and email are free again from now on.
        """
        old = self._by_id[user.id]
        del self._by_login[login_key(old.login)]
        self._emails.discard(email_key(old.email))
        self.add(user)
        return old

    def __len__(self) -> int:
        return len(self._by_id)

    def knows(self, user_id: int) -> bool:
        """Whether a user with that id is known here."""
        return user_id in self._by_id

    def get(self, user_id: int) -> UserRecord:
        """The user with that id (it must exist)."""
        return self._by_id[user_id]

    def find(self, login: str) -> UserRecord | None:
        """The user registered under ``login`` (compared case-insensitively), if any."""
        return self._by_login.get(login_key(login))

    def require(self, login: str) -> UserRecord:
        """The user registered under ``login``, or ``ERROR no_such_user``."""
        user = self.find(login)
        if user is None:
            raise ProtocolError(ErrorCode.NO_SUCH_USER, f"no user named {quote(login)}")
        return user

    def require_reachable(self, login: str) -> UserRecord:
        """Like ``require``, but an erased account (``deleted#ID``) is ``no_such_user`` too.

        Its old conversations can still be read (``require``); nobody writes to it.
        """
        user = self.require(login)
        if user.login.startswith(ERASED_LOGIN_PREFIX):
            raise ProtocolError(ErrorCode.NO_SUCH_USER, f"the account {quote(login)} was deleted")
        return user

    def reserve(self, login: str, email: str) -> None:
        """Hold a login and an email while their registration is hashed and stored.

        Raises ``login_taken`` or ``email_taken`` when either is registered or held.
        """
        key, mail = login_key(login), email_key(email)
        if key in self._by_login or key in self._reserved_logins:
            raise ProtocolError(
                ErrorCode.LOGIN_TAKEN, f"the login {login!r} is already taken", field="login"
            )
        if mail in self._emails or mail in self._reserved_emails:
            raise ProtocolError(
                ErrorCode.EMAIL_TAKEN, "this email address is already registered", field="email"
            )
        self._reserved_logins.add(key)
        self._reserved_emails.add(mail)

    def release(self, login: str, email: str) -> None:
        """Drop a reservation made by ``reserve`` (the registration ended either way)."""
        self._reserved_logins.discard(login_key(login))
        self._reserved_emails.discard(email_key(email))


def public_user(user: UserRecord, status: Status, *, with_email: bool = False) -> User:
    """The ``User`` object of the protocol for a stored user."""
    return User(
        login=user.login,
        first_name=user.first_name,
        last_name=user.last_name,
        status=status,
        email=user.email if with_email else None,
    )
