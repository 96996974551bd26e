"""The field rules of PROTOCOL.md section 6."""

from __future__ import annotations

import pytest

from guigui.common.errors import ProtocolError
from guigui.common.protocol import ErrorCode
from guigui.common.validation import (
    email_key,
    email_problem,
    is_terminal_control,
    login_key,
    login_problem,
    name_problem,
    password_problem,
    printable_for_terminal,
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


@pytest.mark.parametrize(
    "name",
    ["Zoë", "Jean-Pierre", "O'Connor", "Zoé Éléonore", "Nguyễn", "D’Artagnan", "J. R. R.",
     "Ze\u0301lie", "  Ada  ", "李小龍", "Алёна", "x" * 64],
)  # fmt: skip
def test_good_names(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "empty"),
        ("  ", "only spaces"),
        ("x" * 65, "too long"),
        ("a\x00b", "C0 control"),
        ("Ada\n", "newline, not trimmed"),
        ("\tAda", "tab, not trimmed"),
        ("Ada\x85", "C1 NEL, not trimmed though Python counts it as whitespace"),
        ("Ada\x9b31m", "C1 CSI"),
        ("Ada\x7f", "DEL"),
        ("\u200b", "zero-width space only"),
        ("A\u200bda", "zero-width space inside"),
        ("A\u200dda", "zero-width joiner"),
        ("Ada\u202eecalevol", "bidi override"),
        ("\u2066Ada\u2069", "bidi isolate"),
        ("Ada\u200f", "right-to-left mark"),
        ("\u061cAda", "Arabic letter mark"),
        ("Ada\u00a0Lovelace", "no-break space"),
        ("Ada 2", "digit"),
        ("Ada 😀", "emoji"),
        ("Ada <b>", "symbols"),
        ("'; DROP TABLE users; --", "semicolons"),
        ("- . '", "no letter"),
        ("\u0301\u0301", "combining marks but no letter"),
    ],
)
def test_bad_names(name: str, why: str) -> None:
    assert name_problem(name), why


def test_name_reasons_say_what_is_wrong() -> None:
    assert name_problem(" ") == "this field is required"
    assert name_problem("x" * 65) == "at most 64 characters"
    assert name_problem("Ada\u202e") == "only letters, spaces, apostrophes, hyphens and periods"
    assert name_problem("-") == "at least one letter"


@pytest.mark.parametrize(
    "email",
    ["a\x00@b.fr", "a@b.fr\x00", "a\x85b@c.fr", "a\x9b@b.fr", "a\u200b@b.fr",
     "a\u202e@b.fr", "a\ue000@b.fr", "a\u0378@b.fr", "a\tb@c.fr", "a\u00a0b@c.fr",
     "a\u3000b@c.fr", "a@b.fr\n"],
)  # fmt: skip
def test_emails_with_invisible_characters_are_refused(email: str) -> None:
    assert email_problem(email)


def test_email_reasons_say_what_is_wrong() -> None:
    assert email_problem("a\x00@b.fr") == "no control or invisible characters"
    assert email_problem("a\u00a0b@c.fr") == "an email address has no spaces"
    assert email_problem("  a@b.fr  ") is None
    assert email_problem("é@b.fr") is None  # the local part may be any letters


@pytest.mark.parametrize(
    "character",
    ["\x00", "\x07", "\x08", "\r", "\x1b", "\x7f", "\x85", "\x9b", "\x9f",
     "\u061c", "\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069"],
)  # fmt: skip
def test_terminal_controls(character: str) -> None:
    assert is_terminal_control(character)


@pytest.mark.parametrize(
    "character", ["\n", "\t", " ", "a", "é", "\xa0", "\u200b", "\u202f", "\u2065", "😀"]
)
def test_characters_a_terminal_shows(character: str) -> None:
    assert not is_terminal_control(character)


def test_printable_for_terminal_escapes_controls_visibly() -> None:
    assert printable_for_terminal("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert printable_for_terminal("a\x9bb\x85c\x7f\r") == "a\\x9bb\\x85c\\x7f\\x0d"
    assert printable_for_terminal("invoice\u202efdp.exe") == "invoice\\u202efdp.exe"
    assert printable_for_terminal("Zoé\tet\nmoi 😀") == "Zoé\tet\nmoi 😀"


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
    with pytest.raises(ProtocolError) as error:
        validate_registration(**{**good, "last_name": "Martin\u202e"})
    assert error.value.code is ErrorCode.INVALID_FIELD
    assert error.value.details == {
        "field": "last_name",
        "reason": "only letters, spaces, apostrophes, hyphens and periods",
    }
