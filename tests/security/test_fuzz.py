"""Hostile clients: a stateful fuzz of the server, and 1,000 bad connections beside honest ones.

``make fuzz`` runs the stateful test longer (``GUIGUI_FUZZ_EXAMPLES``, default 500).
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from guigui.common.protocol import DEFAULT_MAX_FRAME, MessageType
from guigui.server.store import default_database_url
from tests.conftest import start_server
from tests.support.wire import ServerClosed, WireClient

EXAMPLES = int(os.environ.get("GUIGUI_FUZZ_EXAMPLES", "12"))
USERS = ("user0", "user1", "user2")
texts = st.text(min_size=1, max_size=60).filter(lambda t: t.strip() != "")
json_values = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.lists(st.integers(), max_size=3)
)
request_types = st.sampled_from([int(t) for t in MessageType] + [0x00, 0x7F, 0xFF])


class ServerUnderFuzz(RuleBasedStateMachine):
    """Several clients send valid and invalid frames; the server must stay sane."""

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="guigui-fuzz-"))
        self.running = start_server(default_database_url(self.directory), self.directory)
        self.clients: dict[str, WireClient] = {}
        self.acknowledged: dict[int, str] = {}  # message id -> text (room Général)
        for login in USERS:
            client = WireClient(self.running.address)
            client.hello()
            client.register(login)
            client.login(login)
            self.clients[login] = client

    def client(self, login: str) -> WireClient:
        """The user's connection, opened again if the server closed it (too many errors)."""
        client = self.clients[login]
        try:
            client.sock.getpeername()
        except OSError:
            client = self._reconnect(login)
        return client

    def _reconnect(self, login: str) -> WireClient:
        self.clients[login].close()
        client = WireClient(self.running.address)
        client.hello()
        client.login(login)
        self.clients[login] = client
        return client

    def reply(self, login: str, message_type: int, **fields: Any) -> Any:
        """Send a request; exactly one reply must come back (or the connection closes)."""
        client = self.client(login)
        try:
            return client.request(message_type, **fields)
        except ServerClosed:
            self._reconnect(login)
            return None

    @rule(
        login=st.sampled_from(USERS), text=texts, nonce=st.none() | st.text(min_size=1, max_size=8)
    )
    def say(self, login: str, text: str, nonce: str | None) -> None:
        fields: dict[str, Any] = {"room": "Général", "text": text}
        if nonce is not None:
            fields["nonce"] = nonce
        frame = self.reply(login, MessageType.SAY, **fields)
        if frame is not None:
            assert frame.type == MessageType.OK, frame
            message = frame.body["message"]
            if message["id"] in self.acknowledged:
                assert self.acknowledged[message["id"]] == message["text"]
            self.acknowledged[message["id"]] = message["text"]

    @rule(login=st.sampled_from(USERS), to=st.sampled_from(USERS), text=texts)
    def direct(self, login: str, to: str, text: str) -> None:
        frame = self.reply(login, MessageType.DIRECT, to=to, text=text)
        assert frame is None or frame.type == MessageType.OK

    @rule(
        login=st.sampled_from(USERS),
        message_type=request_types,
        body=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    )
    def random_request(self, login: str, message_type: int, body: dict[str, Any]) -> None:
        if message_type in (MessageType.LOGOUT, MessageType.LOGIN, MessageType.RESUME):
            return  # would change who is logged in: covered by the other tests
        if message_type in (MessageType.PING, MessageType.PONG):
            return  # not requests: no reply by design
        frame = self.reply(login, message_type, **body)
        assert frame is None or frame.type in (MessageType.OK, MessageType.ERROR)

    @rule(login=st.sampled_from(USERS), message_type=request_types, payload=st.binary(max_size=80))
    def garbage_body(self, login: str, message_type: int, payload: bytes) -> None:
        client = self.client(login)
        try:
            client.send_raw(struct.pack(">IB", len(payload) + 1, message_type) + payload)
            client.send(MessageType.PING, {"nonce": "sync"})
            while (
                True
            ):  # an ERROR (or a reply) may come first; the PONG proves the stream is in sync
                frame = client.receive()
                if frame.type == MessageType.PONG and frame.body == {"nonce": "sync"}:
                    break
                client.events.append(frame)
        except (ServerClosed, OSError):
            self._reconnect(login)

    @rule(login=st.sampled_from(USERS))
    def oversized_header(self, login: str) -> None:
        client = self.client(login)
        client.send_raw(struct.pack(">IB", DEFAULT_MAX_FRAME + 1, MessageType.SAY))
        frames = client.expect_closed()
        assert frames[-1].body["code"] == "frame_too_large"
        self._reconnect(login)

    @invariant()
    def the_server_is_sane(self) -> None:
        server = self.running.server
        assert not server.wait(0), "the server stopped"
        assert len(server.connections) <= len(USERS) + 3
        for connection in list(server.connections):
            assert connection.decoder.buffered <= DEFAULT_MAX_FRAME + 4 + 256 * 1024
            assert len(connection.output) <= server.config.output_cap

    def teardown(self) -> None:
        try:
            # A fresh connection: user0's may have been closed after too many
            # malformed frames, while its socket still looks connected.
            reader = self._reconnect("user0")
            stored: dict[int, str] = {}
            before = None
            while True:
                fields: dict[str, Any] = {"room": "Général", "limit": 100}
                if before:
                    fields["before"] = before
                page = reader.ok(MessageType.HISTORY, **fields)
                stored.update({m["id"]: m["text"] for m in page["messages"]})
                if not page["more"]:
                    break
                before = page["messages"][0]["id"]
            assert stored == self.acknowledged  # history is exactly what was acknowledged
            for client in self.clients.values():  # no late second reply to any request
                try:
                    client.send(MessageType.PING, {"nonce": "end"})
                    while (frame := client.receive()).type != MessageType.PONG:
                        assert (
                            frame.type not in (MessageType.OK, MessageType.ERROR)
                            or frame.body.get("id") is None
                        )
                except (ServerClosed, OSError):
                    continue  # closed by the server (too many malformed frames): nothing late
        finally:
            for client in self.clients.values():
                client.close()
            self.running.server.stop(timeout=15)
            shutil.rmtree(self.directory, ignore_errors=True)


ServerUnderFuzz.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_server_under_fuzz = ServerUnderFuzz.TestCase


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
