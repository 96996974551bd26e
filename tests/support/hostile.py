"""Hostile input for tests: how to write it, and what the protocol says the server answers.

Writing it: ``msgspec`` and ``json.dumps`` cannot write everything a hostile
client sends. A lone surrogate (``"\\ud800"``: valid JSON syntax, half of a
UTF-16 pair, that no UTF-8 text can hold) makes the UTF-8 encoding fail, and
10,000 levels of nesting exhaust the encoder's recursion. ``json_body`` writes
any body by hand: a Python string holding surrogate code points is written
with ``\\uXXXX`` escapes, and a ``Nested`` value as its brackets.

Drawing it: hypothesis strategies for the classes of docs/PROTOCOL.md and
docs/SECURITY.md (C0 and C1 controls, bidi controls, zero-width characters,
lone surrogates, nesting, integers past 2^63, booleans for integers), and
``hostile_requests``: a request of any type with some fields changed.

Judging it: ``decoding`` and ``registration_problems`` say, from the rules of
docs/PROTOCOL.md alone (sections 1, 2 and 6, not the server's code), which
errors a request body may get.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias

from hypothesis import strategies as st

from guigui.common.protocol import MAX_JSON_DEPTH, ErrorCode, MessageType

# ---- characters --------------------------------------------------------------------------

C0_CONTROLS = [*map(chr, range(0x00, 0x20)), "\x7f"]
C1_CONTROLS = [*map(chr, range(0x80, 0xA0))]
BIDI_CONTROLS = [*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]
BIDI_CONTROLS += ["\u200e", "\u200f", "\u061c"]  # the marks: left-to-right, right-to-left, Arabic
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
CONTROL_CHARACTERS = C0_CONTROLS + C1_CONTROLS + BIDI_CONTROLS + ZERO_WIDTH
"""Characters that are valid in JSON text but that names, emails and terminals must not take raw."""
LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
"""High and low halves: two of them side by side (high then low) make a valid pair."""


# ---- writing hostile JSON ----------------------------------------------------------------


@dataclass(frozen=True)
class Nested:
    """``leaf`` wrapped in ``depth`` arrays (or objects), written without recursion."""

    depth: int
    leaf: JsonValue = 0
    objects: bool = False
    """Wrap in ``{"n": ...}`` objects instead of arrays."""

    def __repr__(self) -> str:
        kind = "objects" if self.objects else "arrays"
        return f"Nested({self.depth} {kind} around {self.leaf!r})"


JsonValue: TypeAlias = (
    bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | Nested | None
)
"""What a hostile body may hold: JSON values, with strings that may hold surrogates."""

_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(found: re.Match[str]) -> str:
    return f"\\u{ord(found.group()):04x}"


def json_text(value: JsonValue, *, ascii_only: bool = False) -> str:
    """``value`` as JSON text; surrogates become ``\\uXXXX`` escapes (all non-ASCII if asked)."""
    if isinstance(value, Nested):
        opening, closing = ('{"n":', "}") if value.objects else ("[", "]")
        inner = json_text(value.leaf, ascii_only=ascii_only)
        return opening * value.depth + inner + closing * value.depth
    if isinstance(value, dict):
        members = (
            f"{json_text(key, ascii_only=ascii_only)}:{json_text(item, ascii_only=ascii_only)}"
            for key, item in value.items()
        )
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(json_text(item, ascii_only=ascii_only) for item in value) + "]"
    if isinstance(value, str):
        # json.dumps leaves surrogates raw unless ascii_only; they are escaped here.
        return _SURROGATE.sub(_escape_surrogate, json.dumps(value, ensure_ascii=ascii_only))
    return json.dumps(value)


def json_body(body: dict[str, JsonValue], *, ascii_only: bool = False) -> bytes:
    """The UTF-8 bytes of a frame body, whatever it holds."""
    return json_text(body, ascii_only=ascii_only).encode("utf-8")


def as_the_server_reads(text: str) -> str:
    """``text`` with each high and low surrogate side by side joined into one character.

    The JSON ``"\\ud83d\\ude00"`` is one character, 😀, once decoded. Only for text
    without lone surrogates (see ``has_lone_surrogate``).
    """
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a surrogate that is not half of a high-low pair."""
    try:
        as_the_server_reads(text)
    except UnicodeDecodeError:
        return True
    return False


def holds_lone_surrogate(value: JsonValue) -> bool:
    """Whether any string of ``value``, object keys included, holds a lone surrogate."""
    if isinstance(value, Nested):
        return holds_lone_surrogate(value.leaf)
    if isinstance(value, str):
        return has_lone_surrogate(value)
    if isinstance(value, dict):
        return any(has_lone_surrogate(key) or holds_lone_surrogate(v) for key, v in value.items())
    if isinstance(value, list):
        return any(holds_lone_surrogate(item) for item in value)
    return False


def json_depth(value: JsonValue) -> int:
    """How deeply arrays and objects nest (a scalar: 0, ``[]``: 1, ``{"a": []}``: 2)."""
    if isinstance(value, Nested):
        return value.depth + json_depth(value.leaf)
    if isinstance(value, dict):
        return 1 + max((json_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((json_depth(item) for item in value), default=0)
    return 0


# ---- strategies --------------------------------------------------------------------------

control_characters = st.sampled_from(CONTROL_CHARACTERS)
lone_surrogates = st.sampled_from(LONE_SURROGATES)
legal_characters = st.characters(codec="utf-8") | control_characters
"""Any character UTF-8 can carry (no surrogate), control characters often."""
hostile_characters = control_characters | lone_surrogates | st.characters()
"""Any character, surrogates included (side by side, two may make a valid pair)."""


def legal_texts(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Text of any characters but surrogates, control characters often."""
    return st.text(legal_characters, min_size=min_size, max_size=max_size)


def hostile_texts(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Text with control characters and lone surrogates often."""
    return st.text(hostile_characters, min_size=min_size, max_size=max_size)


@st.composite
def spiked(draw: st.DrawFn, plausible: str) -> str:
    """``plausible`` with a few control characters or surrogates slipped in somewhere."""
    spikes = draw(st.text(control_characters | lone_surrogates, min_size=1, max_size=3))
    where = draw(st.integers(0, len(plausible)))
    return plausible[:where] + spikes + plausible[where:]


def long_texts(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """Long text (a short pattern repeated), cheap to draw and to shrink."""
    return st.builds(
        lambda pattern, size: (pattern * size)[:size],
        hostile_texts(min_size=1, max_size=4),
        st.integers(min_size, max_size),
    )


EDGE_INTEGERS = [
    -(2**63) - 1,
    -(2**63),
    -1,
    0,
    1,
    100,
    101,
    2**31 - 1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    10**30,
]
"""Integers at and past the edges of the protocol's ranges (PROTOCOL.md section 2)."""

hostile_integers = st.sampled_from(EDGE_INTEGERS) | st.integers()
hostile_numbers = hostile_integers | st.booleans() | st.sampled_from([1.5, 1e3, -0.0, 1e300])
"""Integers past 2^63, negative ones, and what is no integer: ``true``, ``1.5``, ``1e3``."""

nesting_depths = st.integers(1, 30) | st.integers(31, 40) | st.just(10_000)
"""Some under the limit of 32 levels, some over, and 10,000."""
nested_values = st.builds(
    Nested,
    nesting_depths,
    st.sampled_from([0, "", "]]]", "[[[", '\\"[{', None]),
    st.booleans(),
)
"""Nested arrays and objects; brackets inside the leaf string do not nest."""


def json_values(max_leaves: int = 4) -> st.SearchStrategy[JsonValue]:
    """Any JSON value, hostile strings and numbers included, and nesting."""
    scalars: st.SearchStrategy[JsonValue] = st.none() | hostile_numbers | hostile_texts()
    return (
        st.recursive(
            scalars,
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(hostile_texts(max_size=6), children, max_size=3)
            ),
            max_leaves=max_leaves,
        )
        | nested_values
    )


# ---- what the protocol decides (docs/PROTOCOL.md sections 1, 2 and 6) --------------------


class Field(Enum):
    """Whether a request must carry a field."""

    REQUIRED = "required"
    OPTIONAL = "optional"


REQUEST_FIELDS: dict[MessageType, dict[str, Field]] = {
    MessageType.HELLO: {"version": Field.REQUIRED, "client": Field.REQUIRED},
    MessageType.REGISTER: {
        name: Field.REQUIRED for name in ("login", "password", "first_name", "last_name", "email")
    },
    MessageType.LOGIN: {"login": Field.REQUIRED, "password": Field.REQUIRED},
    MessageType.RESUME: {"token": Field.REQUIRED},
    MessageType.LOGOUT: {},
    MessageType.SET_STATUS: {"status": Field.REQUIRED},
    MessageType.ROOMS: {},
    MessageType.JOIN: {"room": Field.REQUIRED},
    MessageType.LEAVE: {"room": Field.REQUIRED},
    MessageType.HISTORY: {
        "room": Field.OPTIONAL,
        "with": Field.OPTIONAL,
        "before": Field.OPTIONAL,
        "limit": Field.OPTIONAL,
    },
    MessageType.SAY: {"room": Field.REQUIRED, "text": Field.REQUIRED, "nonce": Field.OPTIONAL},
    MessageType.DIRECT: {"to": Field.REQUIRED, "text": Field.REQUIRED, "nonce": Field.OPTIONAL},
    MessageType.CONVERSATIONS: {"before": Field.OPTIONAL, "limit": Field.OPTIONAL},
    MessageType.READ: {"room": Field.OPTIONAL, "with": Field.OPTIONAL, "up_to": Field.REQUIRED},
}
"""The fields of each request beside ``id`` (which every request must carry)."""
EXACTLY_ONE_TARGET = (MessageType.HISTORY, MessageType.READ)
"""Requests that name a room or a user (``with``): exactly one of them."""
KNOWN_FIELDS = {"id", "nonce"}.union(*REQUEST_FIELDS.values())
INTEGER_RANGES = {
    "id": (1, 2**31 - 1),
    "version": (0, 2**31 - 1),
    "before": (0, 2**63 - 1),
    "limit": (1, 100),
    "up_to": (0, 2**63 - 1),
    "nonce": (0, 2**63 - 1),
}
NONCE_LENGTHS = (1, 128)
SETTABLE_STATUSES = {"online", "away", "busy"}


def is_integer_in(value: JsonValue, bounds: tuple[int, int]) -> bool:
    """An integer within ``bounds`` (``true`` is no integer, nor is ``1.0``)."""
    return type(value) is int and bounds[0] <= value <= bounds[1]


def well_typed(message_type: MessageType, name: str, value: JsonValue) -> bool:
    """Whether a known field holds a value of its type and range (its characters aside)."""
    if value is None:  # null stands for "absent" where a field is optional
        return name in ("before", "nonce") or (
            message_type in EXACTLY_ONE_TARGET and name in ("room", "with")
        )
    if name == "nonce" and isinstance(value, str):
        return NONCE_LENGTHS[0] <= len(as_the_server_reads(value)) <= NONCE_LENGTHS[1]
    if name in INTEGER_RANGES:
        return is_integer_in(value, INTEGER_RANGES[name])
    return isinstance(value, str)


@dataclass(frozen=True)
class Decoding:
    """What the protocol says about decoding a body: which errors it may get, naming what."""

    errors: set[ErrorCode]
    """Empty when the body decodes into a valid request."""
    fields: set[str]
    """The fields a ``bad_request`` may name."""
    ids: set[int | None]
    """The ids a ``bad_request`` may carry (``bad_json`` always carries null)."""


def decoding(message_type: MessageType, body: dict[str, JsonValue]) -> Decoding:
    """How a request body must be decoded: nesting first, then lone surrogates and field types.

    When a body has several faults, which one the decoder meets first is its
    business: any of their errors is right.
    """
    fields = {"id": Field.REQUIRED, **REQUEST_FIELDS[message_type]}
    if json_depth(body) > MAX_JSON_DEPTH:  # decided before any parsing
        return Decoding({ErrorCode.BAD_JSON}, set(), set())
    errors: set[ErrorCode] = set()
    surrogate = holds_lone_surrogate(body)
    if surrogate:
        errors.add(ErrorCode.BAD_JSON)
    wrong = {
        name
        for name, value in body.items()
        if name in fields and not well_typed(message_type, name, value)
    }
    wrong |= {name for name, need in fields.items() if need is Field.REQUIRED and name not in body}
    if message_type in EXACTLY_ONE_TARGET and (body.get("room") is None) == (
        body.get("with") is None
    ):
        wrong |= {"room", "with"}  # exactly one of them
    if wrong:
        errors.add(ErrorCode.BAD_REQUEST)
    request_id = body.get("id")
    ids: set[int | None] = {None} if surrogate else set()  # then the id cannot be read either
    ids.add(request_id if isinstance(request_id, int) and "id" not in wrong else None)
    return Decoding(errors, wrong, ids)


def name_acceptable(name: str) -> bool:
    """PROTOCOL.md section 6: letters, marks, space, ``'’-.``, at least one letter, 1 to 64."""
    trimmed = name.strip(" ")
    categories = [unicodedata.category(character)[0] for character in trimmed]
    return (
        1 <= len(trimmed) <= 64
        and all(c in "LM" or ch in " '’-." for c, ch in zip(categories, trimmed, strict=True))
        and "L" in categories
    )


def email_surely_refused(email: str) -> bool:
    """PROTOCOL.md section 6: over 254 characters, or any of category C or whitespace."""
    trimmed = email.strip(" ")
    return len(trimmed) > 254 or any(
        unicodedata.category(character).startswith("C") or character.isspace()
        for character in trimmed
    )


def registration_problems(body: dict[str, JsonValue]) -> set[str]:
    """The fields of a REGISTER the rules of PROTOCOL.md section 6 refuse."""
    text = {
        name: as_the_server_reads(str(body[name])) for name in REQUEST_FIELDS[MessageType.REGISTER]
    }
    problems = set()
    if not re.fullmatch(r"[A-Za-z0-9_.-]{3,32}", text["login"]):
        problems.add("login")
    if not 8 <= len(text["password"].encode()) <= 72:
        problems.add("password")
    problems |= {name for name in ("first_name", "last_name") if not name_acceptable(text[name])}
    if email_surely_refused(text["email"]):
        problems.add("email")
    return problems


# ---- hostile requests --------------------------------------------------------------------


class Removed(Enum):
    """A field taken out of the request."""

    FIELD = "removed"


PLAUSIBLE = {
    "client": "fuzz/1",
    "login": "user0",
    "password": "correct horse",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.org",
    "token": "not-a-token",
    "status": "away",
    "room": "Général",
    "with": "user1",
    "to": "user1",
    "text": "hello",
}
"""A right value for each string field: what ``spiked`` slips hostile characters into."""

wrong_kinds: st.SearchStrategy[JsonValue | Removed] = (
    st.none()
    | st.booleans()
    | st.just(1.5)
    | st.just([])
    | st.just({})
    | nested_values
    | st.just(Removed.FIELD)
)
"""What no field is: a null, a boolean, a number with a fraction, a list, an object, nesting."""
unknown_keys = hostile_texts(max_size=8).filter(lambda key: key not in KNOWN_FIELDS)


def values_for(name: str) -> st.SearchStrategy[JsonValue | Removed]:
    """Hostile values for one field of a request, by the field's type."""
    if name == "nonce":
        return hostile_integers | hostile_texts() | long_texts(126, 130) | wrong_kinds
    if name in INTEGER_RANGES:
        return hostile_integers | wrong_kinds
    return (
        spiked(PLAUSIBLE[name])
        | hostile_texts()
        | legal_texts()
        | long_texts(60, 20_000)
        | hostile_integers
        | wrong_kinds
    )


@dataclass(frozen=True)
class HostileRequest:
    """A request of ``type`` with some fields changed, added or removed."""

    type: MessageType
    changes: dict[str, JsonValue | Removed]
    ascii_only: bool = False
    """Write every non-ASCII character as a ``\\uXXXX`` escape."""

    def body(self, request_id: int, base: dict[str, JsonValue]) -> dict[str, JsonValue]:
        """The body: ``id`` and ``base``, then the changes."""
        body: dict[str, JsonValue | Removed] = {"id": request_id, **base, **self.changes}
        return {name: value for name, value in body.items() if not isinstance(value, Removed)}


@st.composite
def hostile_requests(
    draw: st.DrawFn, types: tuple[MessageType, ...] = tuple(REQUEST_FIELDS)
) -> HostileRequest:
    """A request of one of ``types`` with one to three hostile changes."""
    message_type = draw(st.sampled_from(types))
    names = sorted({"id", *REQUEST_FIELDS[message_type]})
    known = st.sampled_from(names).flatmap(lambda name: st.tuples(st.just(name), values_for(name)))
    unknown = st.tuples(unknown_keys, json_values())
    changes = draw(st.lists(known | unknown, min_size=1, max_size=3, unique_by=lambda c: c[0]))
    return HostileRequest(message_type, dict(changes), draw(st.booleans()))
