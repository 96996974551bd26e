"""The user directory, without SQL."""

from __future__ import annotations

import pytest

from guigui.common.errors import ProtocolError
from guigui.common.protocol import ErrorCode
from guigui.server.core.accounts import UserDirectory, hash_token, new_token
from guigui.server.store.base import UserRecord

ALICE = UserRecord(1, "Alice", "Ada", "Lovelace", "Alice@Example.org", b"$2b$hash", 0)


def test_logins_compare_case_insensitively() -> None:
    users = UserDirectory()
    users.add(ALICE)
    assert users.find("alice") == ALICE
    assert users.find("ALICE") == ALICE
    assert users.require("aLiCe").login == "Alice"


def test_unknown_user() -> None:
    with pytest.raises(ProtocolError) as error:
        UserDirectory().require("nobody")
    assert error.value.code is ErrorCode.NO_SUCH_USER


@pytest.mark.parametrize(
    ("login", "email", "code"),
    [
        ("alice", "other@example.org", ErrorCode.LOGIN_TAKEN),
        ("bob", "alice@example.ORG", ErrorCode.EMAIL_TAKEN),
    ],
)
def test_taken_login_or_email(login: str, email: str, code: ErrorCode) -> None:
    users = UserDirectory()
    users.add(ALICE)
    with pytest.raises(ProtocolError) as error:
        users.reserve(login, email)
    assert error.value.code is code


def test_a_reservation_holds_until_released() -> None:
    users = UserDirectory()
    users.reserve("bob", "bob@example.org")
    with pytest.raises(ProtocolError):
        users.reserve("BOB", "b2@example.org")
    users.release("bob", "bob@example.org")
    users.reserve("BOB", "b2@example.org")


def test_tokens_are_random_and_stored_as_hashes() -> None:
    token, token_hash = new_token()
    other, _ = new_token()
    assert token != other and len(token) >= 40
    assert hash_token(token) == token_hash and len(token_hash) == 32
    assert token.encode() not in token_hash
