"""Hostile clients: a stateful fuzz of the server, and 1,000 bad connections beside honest ones.

``ServerUnderFuzz`` keeps three users logged in and, step by step, sends what
hypothesis draws: messages of any characters; requests of every type with
hostile fields (lone surrogates, C0/C1/bidi/zero-width characters, nesting up
to 10,000 levels, integers past 2^63, booleans for integers, fields missing or
unknown), on logged-in connections and on fresh ones; PINGs with any nonce;
garbage bodies; frames just under and just over ``max_frame``; messages of
about ``max_text`` characters; and LOGINs for one account written all at once
from several addresses, right and wrong passwords mixed. Each answer is held
to what docs/PROTOCOL.md decides, and throughout:

- every request gets exactly one answer, never ``ERROR internal``;
- a connection closes only for a reason the protocol gives (a fatal error,
  the tenth malformed frame);
- the server logs no error and no traceback;
- the history of Général and Blabla is exactly the messages acknowledged.

It runs on SQLite and on MariaDB. ``make fuzz`` runs it longer
(``GUIGUI_FUZZ_EXAMPLES``, default 500 there, 12 here).
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from guigui.common.codec import Frame, encode_frame
from guigui.common.errors import MAX_ERROR_MESSAGE
from guigui.common.protocol import (
    MAX_ERRORS_BEFORE_CLOSE,
    MAX_JSON_DEPTH,
    ErrorCode,
    MessageType,
)
from guigui.server.handoff import Done, run_on_loop
from guigui.server.store import default_database_url
from tests.conftest import start_server
from tests.support.databases import fresh_database
from tests.support.hostile import (
    SETTABLE_STATUSES,
    HostileRequest,
    JsonValue,
    Removed,
    as_the_server_reads,
    decoding,
    holds_lone_surrogate,
    hostile_requests,
    hostile_texts,
    json_body,
    json_depth,
    json_text,
    json_values,
    legal_texts,
    registration_problems,
    unknown_keys,
)
from tests.support.wire import TIMEOUT, Address, ServerClosed, WireClient, frame_header

EXAMPLES = int(os.environ.get("GUIGUI_FUZZ_EXAMPLES", "12"))
USERS = ("user0", "user1", "user2")
"""Logged in all along; their SAYs to Général make the history checked at the end."""
VICTIM = "victim"
"""The account hostile LOGINs on fresh connections aim at (it may end up locked)."""
GUEST = "guest"
"""Never given a wrong password: it logs in after hostile requests, on the same connection."""
PASSWORD = "correct horse"
GENERAL = "Général"
BLABLA = "Blabla"
"""Joined and left on request: the room of the pipelined JOIN, SAY, LEAVE."""

logins = st.sampled_from(USERS)
message_texts = legal_texts(min_size=1, max_size=60).filter(lambda text: text.strip() != "")
nonces = st.none() | legal_texts(min_size=1, max_size=8) | st.integers(0, 2**63 - 1)

Code: TypeAlias = ErrorCode | str
"""An ERROR's code, or ``"ok"`` for an OK."""
OK = "ok"
DECODING_ERRORS = {ErrorCode.BAD_JSON, ErrorCode.BAD_REQUEST, ErrorCode.UNKNOWN_TYPE}
"""The malformed-input errors: the tenth on one connection closes it."""
FATAL_ERRORS = {
    ErrorCode.HELLO_REQUIRED,
    ErrorCode.UNSUPPORTED_VERSION,
    ErrorCode.BAD_FRAME,
    ErrorCode.FRAME_TOO_LARGE,
}
ANSWERS = (MessageType.OK, MessageType.ERROR, MessageType.PONG)
MALFORMED_BODIES = [
    rb'{"id":1,"room":"G\u00e9n\u00e9ral","text":"\ud800"}',  # a lone surrogate
    rb'{"id":1,"room":"G\u00e9n\u00e9ral","text":"\udc00\ud800"}',  # halves in the wrong order
    b"[" * 10_000,
    b'{"id":1,"room":"x","text":"x","n":' + b"[" * 32 + b"]" * 32 + b"}",  # 33 levels
    b'{"id":1,"room":',
    b"\xff\xfe{}",  # not UTF-8
]
"""Bodies that are no JSON object a server may decode: each gets ``bad_json``, id null."""


class Step(Enum):
    """One request of a pipeline (see ``ServerUnderFuzz.pipelined``)."""

    SAY_GENERAL = "SAY Général"
    SAY_BLABLA = "SAY Blabla"
    JOIN = "JOIN Blabla"
    LEAVE = "LEAVE Blabla"
    HISTORY = "HISTORY Général"
    ROOMS = "ROOMS"
    MALFORMED = "a lone surrogate"


PIPELINED: dict[Step, Callable[[int, str], tuple[MessageType, bytes]]] = {
    Step.SAY_GENERAL: lambda n, text: say_frame(n, GENERAL, text),
    Step.SAY_BLABLA: lambda n, text: say_frame(n, BLABLA, text),
    Step.JOIN: lambda n, _: (MessageType.JOIN, json_body({"id": n, "room": BLABLA})),
    Step.LEAVE: lambda n, _: (MessageType.LEAVE, json_body({"id": n, "room": BLABLA})),
    Step.HISTORY: lambda n, _: (MessageType.HISTORY, json_body({"id": n, "room": GENERAL})),
    Step.ROOMS: lambda n, _: (MessageType.ROOMS, json_body({"id": n})),
    Step.MALFORMED: lambda n, _: (MessageType.SAY, MALFORMED_BODIES[0]),
}
"""Each step's frame type and body, given its request id and a text."""


def say_frame(request_id: int, room: str, text: str) -> tuple[MessageType, bytes]:
    """A SAY's frame type and body."""
    return MessageType.SAY, json_body({"id": request_id, "room": room, "text": text})


def pipelined_answer(step: Step, member: bool) -> tuple[Code, bool]:
    """The answer to a step when the user is (or not) a member of Blabla, and membership after."""
    if step is Step.JOIN:
        return (ErrorCode.ALREADY_MEMBER if member else OK), True
    if step is Step.LEAVE:
        return (OK if member else ErrorCode.NOT_MEMBER), False
    if step is Step.SAY_BLABLA:
        return (OK if member else ErrorCode.NOT_MEMBER), member
    if step is Step.MALFORMED:
        return ErrorCode.BAD_JSON, member
    return OK, member


# ---- the fuzz ----------------------------------------------------------------------------


class FuzzClient(WireClient):
    """A test client that checks every ERROR and counts what should make the server close."""

    def __init__(self, address: Address, source: str | None = None) -> None:
        super().__init__(address, source_address=None if source is None else (source, 0))
        self.malformed = 0
        """``bad_json``, ``unknown_type`` and ``bad_request`` received: the tenth closes."""
        self.fatal: str | None = None
        self.max_text = 0

    def receive(self, timeout: float = TIMEOUT) -> Frame:
        """The next frame, within ``max_frame``; an ERROR is never ``internal``, and short."""
        frame = super().receive(timeout)
        assert len(frame.payload) + 1 <= self.server_max_frame, f"over max_frame: {frame}"
        if frame.type == MessageType.ERROR:
            body = frame.body
            assert body["code"] != ErrorCode.INTERNAL, f"the server answered {frame}"
            assert len(body["message"]) <= MAX_ERROR_MESSAGE, frame
            if body["code"] in DECODING_ERRORS:
                self.malformed += 1
            if body["code"] in FATAL_ERRORS:
                self.fatal = body["code"]
        return frame

    @property
    def must_close(self) -> bool:
        """Whether the server has said what makes it close this connection."""
        return self.fatal is not None or self.malformed >= MAX_ERRORS_BEFORE_CLOSE

    def greet(self) -> None:
        """HELLO, keeping the server's ``max_text``."""
        self.max_text = self.hello()["max_text"]

    def next_answer(self) -> Frame:
        """The next OK, ERROR or PONG (events before it are dropped)."""
        try:
            while (frame := self.receive()).type not in ANSWERS:
                pass
        except ServerClosed as closed:
            raise AssertionError(
                f"closed for no reason the protocol gives ({self.malformed} malformed frames)"
            ) from closed
        return frame


class ServerLogTrouble(logging.Handler):
    """Keeps what the server logs at ERROR or with a traceback: nothing, under fuzz."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep an error or a traceback (called on the server's threads)."""
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)

    def report(self) -> str:
        """The records kept, with their tracebacks."""
        return "\n".join(self.format(record) for record in self.records)


@dataclass
class ServerFigures:
    """What the loop thread reports about the server's connections."""

    connections: int
    buffered: int
    output: int


class ServerUnderFuzz(RuleBasedStateMachine):
    """Several clients send valid and hostile frames; the server must stay right, not only up."""

    store_kind: ClassVar[str] = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self.resources = ExitStack()
        try:
            self._start()
        except BaseException:
            self.resources.close()
            raise

    def _start(self) -> None:
        self.log_trouble = ServerLogTrouble()
        server_log = logging.getLogger("guigui")
        server_log.addHandler(self.log_trouble)
        self.resources.callback(server_log.removeHandler, self.log_trouble)
        self.directory = Path(tempfile.mkdtemp(prefix="guigui-fuzz-"))
        self.resources.callback(shutil.rmtree, self.directory, ignore_errors=True)
        url = self.resources.enter_context(fresh_database(self.store_kind, self.directory))
        self.running = start_server(url, self.directory)
        self.resources.callback(self.running.server.stop, 15)
        self.sources = (f"127.1.{n // 250}.{n % 250 + 1}" for n in itertools.count())
        """Fresh client addresses: failed logins lock an address, never the users' 127.0.0.1."""
        self.accounts = itertools.count()
        self.clients: dict[str, FuzzClient] = {}
        self.acknowledged: dict[str, dict[int, str]] = {GENERAL: {}, BLABLA: {}}
        """Room, then message id -> text: what the history must hold."""
        for login in USERS:
            client = self._connect()
            client.register(login, PASSWORD)
            client.login(login, PASSWORD)
            self.clients[login] = client
        self.clients[USERS[0]].register(VICTIM, PASSWORD)
        self.clients[USERS[0]].register(GUEST, PASSWORD)

    def _connect(self, source: str | None = None) -> FuzzClient:
        client = FuzzClient(self.running.address, source)
        self.resources.callback(client.close)
        client.greet()
        return client

    def _reconnect(self, login: str) -> FuzzClient:
        self.clients[login].close()
        client = self._connect()
        client.login(login, PASSWORD)
        self.clients[login] = client
        return client

    def _settle(self, login: str) -> None:
        """If the server said it would close the user's connection, see that it does; reopen."""
        client = self.clients[login]
        if client.must_close:
            try:
                answers = [f for f in client.expect_closed() if f.type in ANSWERS]
            except TimeoutError:
                raise AssertionError(
                    f"still open after {client.malformed} malformed frames, fatal: {client.fatal}"
                ) from None
            assert not answers, f"answers after the connection was condemned: {answers}"
            self._reconnect(login)

    def _acknowledge(self, message: dict[str, Any]) -> None:
        room = self.acknowledged.get(message["room"])
        if room is None:
            return  # a repeated nonce may bring back a direct message
        if message["id"] in room:
            assert room[message["id"]] == message["text"]
        room[message["id"]] = message["text"]

    def exchange(self, client: FuzzClient, message_type: int, payload: bytes) -> Frame | None:
        """Send one frame; its answer, or None for a frame over ``max_frame`` (then refused)."""
        length = len(payload) + 1
        client.send_raw(frame_header(length, message_type) + payload)
        answer = client.next_answer()
        if length <= client.server_max_frame:
            return answer
        assert answer.type == MessageType.ERROR, answer
        assert (answer.body["code"], answer.body["id"]) == (ErrorCode.FRAME_TOO_LARGE, None)
        return None

    def _base(self, message_type: MessageType, login: str) -> dict[str, JsonValue]:
        """Right values for a request from ``login``: what the hostile changes start from."""
        account = f"fz{next(self.accounts)}"
        other = USERS[(USERS.index(login) + 1) % len(USERS)] if login in USERS else USERS[0]
        bases: dict[MessageType, dict[str, JsonValue]] = {
            MessageType.HELLO: {"version": 1, "client": "fuzz/1"},
            MessageType.REGISTER: {
                "login": account,
                "password": PASSWORD,
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": f"{account}@example.org",
            },
            MessageType.LOGIN: {"login": login, "password": PASSWORD},
            MessageType.RESUME: {"token": "not-a-token"},
            MessageType.LOGOUT: {},
            MessageType.SET_STATUS: {"status": "away"},
            MessageType.ROOMS: {},
            MessageType.JOIN: {"room": BLABLA},
            MessageType.LEAVE: {"room": BLABLA},
            MessageType.HISTORY: {"room": GENERAL, "limit": 10},
            MessageType.SAY: {"room": GENERAL, "text": "hello"},
            MessageType.DIRECT: {"to": other, "text": "psst"},
            MessageType.CONVERSATIONS: {"limit": 10},
            MessageType.READ: {"with": other, "up_to": 1},
        }
        return bases[message_type]

    def _judge(
        self,
        client: FuzzClient,
        request: tuple[MessageType, dict[str, JsonValue]],
        answer: Frame,
        logged_in: bool,
    ) -> Code:
        """Hold the answer to a request to what the protocol decides; returns its code."""
        message_type, body = request
        assert answer.type in (MessageType.OK, MessageType.ERROR), answer
        reply = answer.body
        code: Code = OK if answer.type == MessageType.OK else reply["code"]
        expected = decoding(message_type, body)
        if expected.errors:
            assert code in expected.errors, (answer, expected)
            if code == ErrorCode.BAD_REQUEST:
                assert reply["field"] in expected.fields, (answer, expected)
                assert reply["id"] in expected.ids, (answer, expected)
            else:
                assert reply["id"] is None, answer
            return code
        assert code not in DECODING_ERRORS, answer
        assert reply["id"] == body["id"], answer
        allowed = self._allowed(client, message_type, body, logged_in)
        assert allowed is None or code in allowed, (answer, allowed)
        refused = {ErrorCode.INVALID_FIELD, ErrorCode.WEAK_PASSWORD}
        if code in refused and message_type == MessageType.REGISTER:
            assert reply["field"] in registration_problems(body) | {"email"}, answer
        if code == OK and message_type == MessageType.SAY:
            self._acknowledge(reply["message"])
        return code

    def _allowed(
        self, client: FuzzClient, message_type: MessageType, body: dict[str, Any], logged_in: bool
    ) -> set[Code] | None:
        """The answers a well-formed request may get (None: the protocol leaves it open)."""
        if message_type == MessageType.HELLO:
            return {OK} if body["version"] == 1 else {ErrorCode.UNSUPPORTED_VERSION}
        if message_type == MessageType.REGISTER:
            if registration_problems(body):
                return {ErrorCode.INVALID_FIELD, ErrorCode.WEAK_PASSWORD}
            return {OK, ErrorCode.LOGIN_TAKEN, ErrorCode.EMAIL_TAKEN, ErrorCode.INVALID_FIELD}
        if message_type in (MessageType.LOGIN, MessageType.RESUME):
            if logged_in:  # the lock is checked first
                return {ErrorCode.ALREADY_AUTHENTICATED, ErrorCode.RATE_LIMITED}
            if message_type == MessageType.RESUME:
                return {ErrorCode.BAD_TOKEN}
            right = body["login"].casefold() in (VICTIM, GUEST) and body["password"] == PASSWORD
            refusal = OK if right else ErrorCode.BAD_CREDENTIALS
            return {refusal, ErrorCode.RATE_LIMITED}
        if not logged_in:
            return {ErrorCode.NOT_AUTHENTICATED}
        if message_type in (MessageType.LOGOUT, MessageType.ROOMS, MessageType.CONVERSATIONS):
            return {OK}
        if message_type == MessageType.READ:
            if body.get("room") == GENERAL or body.get("with") in USERS:
                return {OK}
            if body.get("room") == BLABLA:
                return {OK, ErrorCode.NOT_MEMBER}
            return {ErrorCode.NO_SUCH_ROOM, ErrorCode.NO_SUCH_USER, ErrorCode.NOT_MEMBER}
        if message_type == MessageType.SET_STATUS:
            return {OK} if body["status"] in SETTABLE_STATUSES else {ErrorCode.INVALID_FIELD}
        if message_type in (MessageType.SAY, MessageType.DIRECT):
            text = as_the_server_reads(body["text"])
            refusals: set[Code] = set()
            if not text.strip():
                refusals.add(ErrorCode.INVALID_FIELD)
            if len(text) > client.max_text:
                refusals.add(ErrorCode.TEXT_TOO_LONG)
            if refusals:
                return refusals
            if body.get("room") == GENERAL or body.get("to") in USERS:
                return {OK}
        return None

    # ---- rules ---------------------------------------------------------------------------

    @rule(login=logins, text=message_texts, nonce=nonces)
    def say(self, login: str, text: str, nonce: str | int | None) -> None:
        fields: dict[str, Any] = {"room": GENERAL, "text": text}
        if nonce is not None:
            fields["nonce"] = nonce
        self._acknowledge(self.clients[login].ok(MessageType.SAY, **fields)["message"])

    @rule(login=logins, to=logins, text=message_texts)
    def direct(self, login: str, to: str, text: str) -> None:
        self.clients[login].ok(MessageType.DIRECT, to=to, text=text)

    @rule(login=logins, request=hostile_requests())
    def hostile_request(self, login: str, request: HostileRequest) -> None:
        """Any request with hostile fields, from a logged-in user."""
        client = self.clients[login]
        body = request.body(client.next_id(), self._base(request.type, login))
        answer = self.exchange(client, request.type, json_body(body, ascii_only=request.ascii_only))
        if answer is not None:
            code = self._judge(client, (request.type, body), answer, logged_in=True)
            if code == OK and request.type == MessageType.LOGOUT:
                client.login(login, PASSWORD)
        self._settle(login)

    @rule(request=hostile_requests(), then_login=st.booleans())
    def hostile_request_before_login(self, request: HostileRequest, then_login: bool) -> None:
        """A hostile request on a fresh connection leaves it as it was: a LOGIN then works."""
        client = self._connect(next(self.sources))
        body = request.body(client.next_id(), self._base(request.type, VICTIM))
        answer = self.exchange(client, request.type, json_body(body, ascii_only=request.ascii_only))
        code = None if answer is None else self._judge(client, (request.type, body), answer, False)
        if then_login and not client.must_close:
            logged_in = code == OK and request.type == MessageType.LOGIN
            expected = ErrorCode.ALREADY_AUTHENTICATED if logged_in else OK
            again = client.request(MessageType.LOGIN, login=GUEST, password=PASSWORD)
            assert (OK if again.type == MessageType.OK else again.body["code"]) == expected, again
        client.close()

    @rule(
        login=logins,
        nonce=json_values() | st.just(Removed.FIELD),
        extra=st.dictionaries(unknown_keys, json_values(), max_size=2),
        ascii_only=st.booleans(),
    )
    def hostile_ping(
        self, login: str, nonce: JsonValue | Removed, extra: dict[str, JsonValue], ascii_only: bool
    ) -> None:
        """PONG echoes any nonce exactly as sent; surrogates and deep nesting get bad_json."""
        client = self.clients[login]
        body = extra if isinstance(nonce, Removed) else {"nonce": nonce, **extra}
        answer = self.exchange(client, MessageType.PING, json_body(body, ascii_only=ascii_only))
        if answer is None:
            pass  # over max_frame: refused, and the connection closed
        elif json_depth(body) > MAX_JSON_DEPTH or holds_lone_surrogate(body):
            assert answer.type == MessageType.ERROR, answer
            assert (answer.body["code"], answer.body["id"]) == (ErrorCode.BAD_JSON, None)
        else:
            echo = "null" if isinstance(nonce, Removed) else json_text(nonce, ascii_only=ascii_only)
            assert answer == Frame(MessageType.PONG, b'{"nonce":' + echo.encode() + b"}")
        self._settle(login)

    @rule(
        login=logins,
        message_type=st.sampled_from([int(t) for t in MessageType] + [0x00, 0x7F, 0xFF]),
        body=st.dictionaries(hostile_texts(max_size=8), json_values(), max_size=4),
    )
    def random_request(self, login: str, message_type: int, body: dict[str, JsonValue]) -> None:
        """Any type byte, any fields: one answer, OK or ERROR."""
        if message_type in (MessageType.LOGOUT, MessageType.LOGIN, MessageType.RESUME):
            return  # would change who is logged in: covered by hostile_request
        if message_type in (MessageType.PING, MessageType.PONG):
            return  # not requests: no reply by design
        client = self.clients[login]
        payload = json_body({"id": client.next_id(), **body})
        answer = self.exchange(client, message_type, payload)
        assert answer is None or answer.type in (MessageType.OK, MessageType.ERROR), answer
        self._settle(login)

    @staticmethod
    def _member_of_blabla(client: WireClient) -> bool:
        rooms = client.ok(MessageType.ROOMS)["rooms"]
        return any(room["name"] == BLABLA and room["member"] for room in rooms)

    @rule(login=logins, steps=st.lists(st.tuples(st.sampled_from(Step), message_texts), max_size=8))
    def pipelined(self, login: str, steps: list[tuple[Step, str]]) -> None:
        """Requests written at once take effect in the order sent (JOIN, SAY, LEAVE Blabla...).

        Each gets the answer the requests before it decide, whatever runs on a worker meanwhile.
        """
        malformed = sum(step is Step.MALFORMED for step, _ in steps)
        if self.clients[login].malformed + malformed >= MAX_ERRORS_BEFORE_CLOSE:
            self._reconnect(login)  # this rule is about order: the connection must stay open
        client = self.clients[login]
        member = self._member_of_blabla(client)
        frames: list[bytes] = []
        expected: list[tuple[int | None, Code, bool]] = []  # id answered, code, member then
        for step, text in steps:
            request_id = client.next_id()
            message_type, body = PIPELINED[step](request_id, text)
            frames.append(frame_header(len(body) + 1, message_type) + body)
            code, member = pipelined_answer(step, member)
            expected.append((None if step is Step.MALFORMED else request_id, code, member))
        client.send_raw(b"".join(frames))
        answers: dict[int | None, list[Frame]] = {}
        for _ in steps:
            answer = client.next_answer()
            answers.setdefault(answer.body.get("id"), []).append(answer)
        for answered_id, code, member_then in expected:
            answer = answers[answered_id].pop(0)
            assert (OK if answer.type == MessageType.OK else answer.body["code"]) == code, answer
            if answer.type == MessageType.OK and "message" in answer.body:
                self._acknowledge(answer.body["message"])
            if answer.type == MessageType.OK and "rooms" in answer.body:
                seen = {room["name"]: room["member"] for room in answer.body["rooms"]}
                assert seen[BLABLA] == member_then, answer

    @rule(login=logins, bodies=st.lists(st.sampled_from(MALFORMED_BODIES), min_size=1, max_size=12))
    def malformed_in_a_row(self, login: str, bodies: list[bytes]) -> None:
        """Malformed SAYs and a PING written at once: each answered at once; the tenth closes."""
        client = self.clients[login]
        frames = [frame_header(len(body) + 1, MessageType.SAY) + body for body in bodies]
        client.send_raw(b"".join(frames) + encode_frame(MessageType.PING, {"nonce": "after"}))
        for _ in bodies:
            answer = client.next_answer()
            assert answer.type == MessageType.ERROR, answer
            assert (answer.body["code"], answer.body["id"]) == (ErrorCode.BAD_JSON, None), answer
            if client.must_close:
                break
        else:
            assert client.next_answer() == Frame(MessageType.PONG, b'{"nonce":"after"}')
        self._settle(login)

    @rule(
        login=logins,
        message_type=st.sampled_from([int(t) for t in MessageType] + [0x00, 0x7F, 0xFF]),
        payload=st.binary(max_size=80),
    )
    def garbage_body(self, login: str, message_type: int, payload: bytes) -> None:
        """A body of random bytes: an ERROR (or nothing, for a PONG), and the stream in sync."""
        client = self.clients[login]
        client.send_raw(frame_header(len(payload) + 1, message_type) + payload)
        client.send(MessageType.PING, {"nonce": "sync"})
        try:
            while client.receive() != Frame(MessageType.PONG, b'{"nonce":"sync"}'):
                pass
        except ServerClosed:
            assert client.must_close, "closed for no reason the protocol gives"
        self._settle(login)

    @rule(login=logins, offset=st.integers(-3, 3), text=message_texts)
    def frame_near_max_frame(self, login: str, offset: int, text: str) -> None:
        """A SAY padded to max_frame + offset: stored up to the limit, refused past it."""
        client = self.clients[login]
        length = client.server_max_frame + offset
        body: dict[str, JsonValue] = {
            "id": client.next_id(),
            "room": GENERAL,
            "text": text,
            "padding": "",
        }
        start = json_body(body)
        payload = start[:-2] + b"x" * (length - 1 - len(start)) + start[-2:]
        answer = self.exchange(client, MessageType.SAY, payload)
        if offset <= 0:
            assert answer is not None and answer.type == MessageType.OK, answer
            self._acknowledge(answer.body["message"])
        self._settle(login)

    @rule(login=logins, pattern=legal_texts(min_size=1, max_size=4), extra=st.integers(-2, 1))
    def long_say(self, login: str, pattern: str, extra: int) -> None:
        """A message of about max_text characters, maybe six bytes each in JSON."""
        client = self.clients[login]
        size = client.max_text + extra
        body: dict[str, JsonValue] = {
            "id": client.next_id(),
            "room": GENERAL,
            "text": (pattern * size)[:size],
        }
        answer = self.exchange(client, MessageType.SAY, json_body(body))
        assert answer is not None
        self._judge(client, (MessageType.SAY, body), answer, logged_in=True)

    @rule(
        passwords=st.lists(st.lists(st.booleans(), min_size=1, max_size=3), min_size=1, max_size=10)
    )
    def concurrent_logins(self, passwords: list[list[bool]]) -> None:
        """LOGINs for one account, each connection writing its own in one sendall, all at once.

        ``passwords[n]`` are the LOGINs of connection n, from its own address
        (True: the right password). Logins in flight count against the lock:
        between two successful logins, at most ``login_free_failures`` (5)
        passwords are checked, even with ten in flight; the others are
        refused with ``rate_limited``.
        """
        account = f"burst{next(self.accounts)}"
        clients = [self._connect(next(self.sources)) for _ in passwords]
        bursts = []
        for client, rights in zip(clients, passwords, strict=True):
            requests = [(client.next_id(), right) for right in rights]
            bursts.append(requests)
            data = b"".join(
                encode_frame(
                    MessageType.LOGIN,
                    {"id": n, "login": account, "password": PASSWORD if right else "wrong horse"},
                )
                for n, right in requests
            )
            if client is clients[0]:  # REGISTER then LOGINs in one write: they wait for it
                registration = {
                    "id": client.next_id(),
                    "login": account,
                    "password": PASSWORD,
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "email": f"{account}@example.org",
                }
                client.send_raw(encode_frame(MessageType.REGISTER, registration) + data)
                assert client.next_answer().type == MessageType.OK
            else:
                client.send_raw(data)  # the server reads them as they come: no waiting between
        checked_wrong = successes = 0
        for client, requests in zip(clients, bursts, strict=True):
            logged_in = False
            allowed: set[Code]
            for request_id, right in requests:
                answer = client.next_answer()
                assert answer.body["id"] == request_id, answer  # in the order sent
                code = OK if answer.type == MessageType.OK else answer.body["code"]
                if logged_in:
                    allowed = {ErrorCode.ALREADY_AUTHENTICATED, ErrorCode.RATE_LIMITED}
                else:
                    allowed = {OK if right else ErrorCode.BAD_CREDENTIALS, ErrorCode.RATE_LIMITED}
                assert code in allowed, (answer, right, logged_in)
                if code == ErrorCode.RATE_LIMITED:
                    assert answer.body["retry_after_ms"] > 0, answer
                logged_in = logged_in or code == OK
                successes += code == OK
                checked_wrong += code == ErrorCode.BAD_CREDENTIALS
        free = self.running.server.config.login_free_failures
        assert checked_wrong <= free * (1 + successes), (passwords, checked_wrong, successes)
        for client in clients:
            client.close()

    # ---- invariants ----------------------------------------------------------------------

    def _figures(self) -> ServerFigures:
        """The server's connections, as the loop thread sees them (it alone may look)."""
        server = self.running.server

        def measure(done: Done[ServerFigures]) -> None:
            connections = list(server.connections)
            done(
                ServerFigures(
                    len(connections),
                    max((c.decoder.buffered for c in connections), default=0),
                    max((len(c.output) for c in connections), default=0),
                )
            )

        return run_on_loop(server, measure).result(timeout=10)

    @invariant()
    def the_server_is_sane(self) -> None:
        server = self.running.server
        assert not server.wait(0), "the server stopped"
        deadline = time.monotonic() + 5
        while (figures := self._figures()).connections > len(USERS):
            # Connections the clients closed: the server sees them go at its own pace.
            assert time.monotonic() < deadline, f"connections left open: {figures}"
            time.sleep(0.01)
        assert figures.buffered <= server.config.max_frame + 4 + 256 * 1024
        assert figures.output <= server.config.output_cap

    @invariant()
    def the_server_logs_no_error(self) -> None:
        assert not self.log_trouble.records, self.log_trouble.report()

    def teardown(self) -> None:
        try:
            reader = self._reconnect(USERS[0])
            if not self._member_of_blabla(reader):
                reader.ok(MessageType.JOIN, room=BLABLA)
            for room, acknowledged in self.acknowledged.items():
                assert history(reader, room) == acknowledged, room
            for client in self.clients.values():  # no late second reply to any request
                client.send(MessageType.PING, {"nonce": "end"})
                while (frame := client.receive()).type != MessageType.PONG:
                    assert frame.type not in (MessageType.OK, MessageType.ERROR), frame
            self.running.server.stop(timeout=15)
            self.the_server_logs_no_error()
        finally:
            self.resources.close()


def history(client: WireClient, room: str) -> dict[int, str]:
    """A room's whole history, page after page: message id -> text."""
    stored: dict[int, str] = {}
    fields: dict[str, Any] = {"room": room, "limit": 100}
    while True:
        page = client.ok(MessageType.HISTORY, **fields)
        stored.update({message["id"]: message["text"] for message in page["messages"]})
        if not page["more"]:
            return stored
        fields["before"] = page["messages"][0]["id"]


class ServerUnderFuzzOnMariaDB(ServerUnderFuzz):
    """The same, on a fresh MariaDB database per example."""

    store_kind = "mysql"


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
ServerUnderFuzz.TestCase.settings = FUZZ_SETTINGS
ServerUnderFuzzOnMariaDB.TestCase.settings = FUZZ_SETTINGS
test_server_under_fuzz = ServerUnderFuzz.TestCase
test_server_under_fuzz_on_mariadb = ServerUnderFuzzOnMariaDB.TestCase


def test_a_thousand_hostile_connections_do_not_disturb_honest_users(tmp_path: Path) -> None:
    running = start_server(default_database_url(tmp_path), tmp_path)
    noise = random.Random(42)
    hostile: list[socket.socket] = []
    try:
        alice, bob = WireClient(running.address), WireClient(running.address)
        for client, login in ((alice, "alice"), (bob, "bob")):
            client.hello()
            client.register(login)
            client.login(login)
        for n in range(1000):
            sock = socket.create_connection((running.host, running.port))
            if n % 2:  # half send garbage, half send nothing at all
                sock.sendall(noise.randbytes(noise.randint(1, 200)))
            hostile.append(sock)
        started = time.monotonic()
        for n in range(50):
            sent = alice.ok(MessageType.SAY, room="Général", text=f"hello {n}")["message"]
            assert bob.next_event(MessageType.MESSAGE)["message"] == sent
            bob.ok(MessageType.DIRECT, to="alice", text=f"reply {n}")
            assert alice.next_event(MessageType.MESSAGE)["message"]["text"] == f"reply {n}"
        history = alice.ok(MessageType.HISTORY, room="Général", limit=100)["messages"]
        assert [m["text"] for m in history] == [f"hello {n}" for n in range(50)]
        assert time.monotonic() - started < 60  # a sanity bound, not a benchmark
        assert not running.server.wait(0)
        alice.close()
        bob.close()
    finally:
        for sock in hostile:
            sock.close()
        running.server.stop(timeout=15)
