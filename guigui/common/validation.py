"""Field rules of PROTOCOL.md section 6, shared by the server and the clients.

Each ``*_problem`` function returns a human reason when a value breaks a rule,
or None when it is fine: a client shows the reason next to the field as the
user types, and the server turns it into ``ERROR invalid_field``.

The characters a terminal would act on instead of showing them are defined
here too (``is_terminal_control``), with ``printable_for_terminal`` to show
them escaped: message text is free, so the command-line client escapes it.
"""

from __future__ import annotations

import re
import unicodedata

from guigui.common.errors import ProtocolError
from guigui.common.protocol import ErrorCode

LOGIN_MIN, LOGIN_MAX = 3, 32
PASSWORD_MIN_BYTES, PASSWORD_MAX_BYTES = 8, 72
NAME_MAX = 64
EMAIL_MAX = 254

_LOGIN = re.compile(r"[A-Za-z0-9_.\-]+")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_LOCAL_FORBIDDEN = re.compile(r"[\s<>()\[\],;:\\\"@]")

# Besides letters and combining marks, a name may hold these (’ is U+2019, the typographic
# apostrophe that keyboards and word processors put in "D’Artagnan").
NAME_PUNCTUATION = frozenset(" '’-.")

# Bidi controls: they reorder the text shown around them, so "invoice\u202efdp.exe" (U+202E,
# right-to-left override) is shown as "invoiceexe.pdf".
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def login_key(login: str) -> str:
    """The form under which logins are compared (case-insensitive)."""
    return login.casefold()


def email_key(email: str) -> str:
    """The form under which emails are compared (trimmed, case-insensitive)."""
    return email.strip().casefold()


def login_problem(login: str) -> str | None:
    """Why ``login`` is not acceptable, or None."""
    if not LOGIN_MIN <= len(login) <= LOGIN_MAX:
        return f"a login has {LOGIN_MIN} to {LOGIN_MAX} characters"
    if not _LOGIN.fullmatch(login):
        return "a login uses only letters, digits, '_', '.' and '-'"
    return None


def password_problem(password: str) -> str | None:
    """Why ``password`` is not acceptable, or None (length in UTF-8 bytes, as bcrypt sees it)."""
    size = len(password.encode("utf-8"))
    if size < PASSWORD_MIN_BYTES:
        return f"a password has at least {PASSWORD_MIN_BYTES} characters"
    if size > PASSWORD_MAX_BYTES:
        return f"a password has at most {PASSWORD_MAX_BYTES} bytes"
    return None


def _trimmed(value: str) -> str:
    """``value`` without the plain spaces around it.

    Only U+0020 is trimmed: a control or invisible character at either end is
    refused rather than silently dropped, so what is checked is what is stored.
    """
    return value.strip(" ")


def _is_name_character(character: str) -> bool:
    """Whether ``character`` may appear in a first or last name."""
    return unicodedata.category(character)[0] in "LM" or character in NAME_PUNCTUATION


def name_problem(name: str) -> str | None:
    """Why a first or last name is not acceptable, or None.

    Once trimmed of plain spaces, a name has 1 to 64 characters, each of them a
    letter (Unicode category L), a combining mark (M, as in a decomposed "é"),
    the plain space U+0020, an apostrophe (' or ’), a hyphen or a period, and at
    least one of them is a letter. Everything else is refused: control
    characters (C0, C1), invisible ones (zero-width spaces, bidi controls that
    reorder what is shown around the name), other spaces, symbols, emoji and
    digits too: names have no digits, and refusing them keeps "J0hn" from
    passing for "John".
    """
    trimmed = _trimmed(name)
    if not trimmed:
        return "this field is required"
    if len(trimmed) > NAME_MAX:
        return f"at most {NAME_MAX} characters"
    if not all(_is_name_character(character) for character in trimmed):
        return "only letters, spaces, apostrophes, hyphens and periods"
    if not any(unicodedata.category(character).startswith("L") for character in trimmed):
        return "at least one letter"
    return None


def email_problem(email: str) -> str | None:
    """Why ``email`` is not a plausible address, or None.

    Once trimmed of plain spaces, an address has at most 254 characters, none of
    Unicode category C (controls, format characters such as bidi controls and
    zero-width spaces, surrogates, private use, unassigned) and no whitespace,
    and has the shape ``local@domain.tld`` (ASCII domain labels).
    """
    email = _trimmed(email)
    if not email:
        return "this field is required"
    if len(email) > EMAIL_MAX:
        return f"an email address has at most {EMAIL_MAX} characters"
    if any(unicodedata.category(character).startswith("C") for character in email):
        return "no control or invisible characters"
    if any(character.isspace() for character in email):
        return "an email address has no spaces"
    local, at, domain = email.rpartition("@")
    if not at or not local or _LOCAL_FORBIDDEN.search(local):
        return "not a valid email address"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return "not a valid email address"
    return None


def text_problem(text: str, max_text: int) -> str | None:
    """Why a message text cannot be sent, or None.

    The length is checked first: a text too long is refused as such
    (``text_too_long``) even when it holds only spaces.
    """
    if len(text) > max_text:
        return f"a message has at most {max_text} characters"
    if not text.strip():
        return "a message cannot be empty"
    return None


def validate_registration(
    login: str, password: str, first_name: str, last_name: str, email: str
) -> None:
    """Check every field of a REGISTER; raise the ``ProtocolError`` of the first bad one."""
    if len(password.encode("utf-8")) < PASSWORD_MIN_BYTES:
        weak = f"a password has at least {PASSWORD_MIN_BYTES} characters"
        raise ProtocolError(ErrorCode.WEAK_PASSWORD, weak, field="password", reason=weak)
    checks = (
        ("login", login_problem(login)),
        ("password", password_problem(password)),
        ("first_name", name_problem(first_name)),
        ("last_name", name_problem(last_name)),
        ("email", email_problem(email)),
    )
    for field, reason in checks:
        if reason is not None:
            raise ProtocolError(
                ErrorCode.INVALID_FIELD, f"{field}: {reason}", field=field, reason=reason
            )


def is_terminal_control(character: str) -> bool:
    """Whether a terminal would act on ``character`` instead of just showing it.

    These are the C0 controls but newline and tab (ESC starts the ANSI
    sequences that recolour text, move the cursor or retitle the window; CR and
    backspace overwrite what is shown), DEL, the C1 controls (U+009B is a
    one-character escape sequence on some terminals) and the bidi controls.
    """
    if character in ("\n", "\t"):
        return False
    code = ord(character)
    return code < 0x20 or 0x7F <= code <= 0x9F or character in BIDI_CONTROLS


def _escape(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable_for_terminal(text: str) -> str:
    """``text`` with each terminal control shown as a visible escape.

    ESC becomes the four characters ``\\x1b``, U+202E the six characters
    ``\\u202e``; newlines, tabs and every other character are left as they are.
    The result is for display only: a backslash the sender typed is not
    escaped, so it cannot be decoded back.
    """
    return "".join(
        _escape(character) if is_terminal_control(character) else character for character in text
    )
