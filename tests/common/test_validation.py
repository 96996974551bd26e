"""The field rules of PROTOCOL.md section 6."""

from __future__ import annotations

import pytest

from guigui.common.errors import ProtocolError
from guigui.common.protocol import ErrorCode
from guigui.common.validation import (
    email_key,
    email_problem,
    login_key,
    login_problem,
    name_problem,
    password_problem,
    text_problem,
    validate_registration,
)


@pytest.mark.parametrize("login", ["abc", "Jean.Dupont", "a_b-c", "x" * 32, "007"])
def test_good_logins(login: str) -> None:
    assert login_problem(login) is None


@pytest.mark.parametrize("login", ["ab", "x" * 33, "jean dupont", "élodie", "a@b", "", "a;DROP"])
def test_bad_logins(login: str) -> None:
    assert login_problem(login)


def test_password_length_is_counted_in_utf8_bytes() -> None:
    assert password_problem("12345678") is None
    assert password_problem("1234567")
    assert password_problem("é" * 36) is None  # 72 bytes
    assert password_problem("é" * 37)  # 74 bytes


@pytest.mark.parametrize("email", ["a@b.fr", "jean.dupont+chat@iut-example.fr", "X@Y.ORG"])
def test_good_emails(email: str) -> None:
    assert email_problem(email) is None


@pytest.mark.parametrize(
    "email",
    ["", "plain", "a@b", "@b.fr", "a b@c.fr", "a@-b.fr", "a@b..fr", "a@" + "b" * 250 + ".fr"],
)
def test_bad_emails(email: str) -> None:
    assert email_problem(email)


def test_names() -> None:
    assert name_problem("Zoë") is None
    assert name_problem("  ")
    assert name_problem("x" * 65)
    assert name_problem("a\x00b")


def test_texts() -> None:
    assert text_problem("hi", 10) is None
    assert text_problem(" \n ", 10)
    assert text_problem("x" * 11, 10)


def test_keys_compare_case_insensitively() -> None:
    assert login_key("Alice") == login_key("ALICE")
    assert email_key(" Alice@Example.ORG ") == email_key("alice@example.org")


def test_registration_errors_name_the_field() -> None:
    good = dict(
        login="alice", password="long enough", first_name="A", last_name="M", email="a@b.fr"
    )
    validate_registration(**good)
    with pytest.raises(ProtocolError) as error:
        validate_registration(**{**good, "password": "short"})
    assert (
        error.value.code is ErrorCode.WEAK_PASSWORD and error.value.details["field"] == "password"
    )
    with pytest.raises(ProtocolError) as error:
        validate_registration(**{**good, "email": "nope"})
    assert error.value.code is ErrorCode.INVALID_FIELD and error.value.details["field"] == "email"
