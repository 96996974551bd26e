"""A cluster's nodes as real processes (``run_server.py --cluster``), killed and cut off (issue 16).

Each node is started as a technician would start it, on a fresh MariaDB
database and the machine's Redis (the cluster's channel is named after its
database, so tests never hear each other). What is checked is the promise to
users: no acknowledged message is lost, none is stored twice, and the clients
of a dead node go on on another one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

from guigui.client.model import ConversationKey
from guigui.client.network_thread import NetworkThread
from guigui.client.settings import ClientSettings
from guigui.client.updates import LoggedIn, MessageAcknowledged
from guigui.common.protocol import MessageType
from tests.server.cluster.test_nodes import user_on
from tests.support.databases import fresh_mysql_database
from tests.support.ports import free_port
from tests.support.shared_redis import SHARED_REDIS_URL, require_shared_redis
from tests.support.updates import next_update
from tests.support.wire import Address, ServerClosed, WireClient

ROOT = Path(__file__).resolve().parents[3]
GENERAL = ConversationKey.room("Général")
HEARTBEAT = 1.0
"""Seconds: a killed node's users are offline for the others within one of them."""


class NodeProcess:
    """``run_server.py --headless --cluster ...`` in its own process."""

    def __init__(self, name: str, database: str, directory: Path) -> None:
        self.name = name
        self.port = free_port()
        self.log = directory / f"node-{name}.log"
        command = [
            sys.executable, str(ROOT / "run_server.py"), "--headless",
            "--port", str(self.port), "--db", database, "--cluster", SHARED_REDIS_URL,
            "--node-name", name, "--heartbeat", str(HEARTBEAT), "--bcrypt-cost", "4",
            "--message-rate", "0", "--max-connections-per-ip", "0",
            "--registrations-per-ip-per-hour", "0", "--data-dir", str(directory / name),
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )
        deadline = time.monotonic() + 30
        while True:
            with suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                break
            assert self.process.poll() is None, f"node {name} died: {self.log.read_text()}"
            assert time.monotonic() < deadline, f"node {name} never listened: {self.log}"
            time.sleep(0.1)

    @property
    def address(self) -> Address:
        return Address("127.0.0.1", self.port)

    def kill(self) -> None:
        """SIGKILL: no goodbye, no flush."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Callable[[str], NodeProcess]]:
    """``nodes("a")``: a new node process of this test's cluster."""
    require_shared_redis()
    started: list[NodeProcess] = []
    with fresh_mysql_database() as database:

        def start(name: str) -> NodeProcess:
            node = NodeProcess(name, database, tmp_path)
            started.append(node)
            return node

        # The database's schema is made by the first node; the others find it made.
        yield start
        for node in started:
            node.stop()


def test_a_node_killed_mid_traffic_loses_no_acknowledged_message(
    nodes: Callable[[str], NodeProcess],
) -> None:
    a = nodes("a")
    b = nodes("b")
    bob = user_on(b, "bob")
    alice = WireClient(a.address)
    alice.hello()
    alice.register("alice")
    token = alice.login("alice")["token"]
    bob.next_event(MessageType.PRESENCE)  # the nodes are linked: bob hears of alice

    acknowledged: dict[str, int] = {}
    sent = 400
    for index in range(sent):  # pipelined: many are in flight when the node dies
        nonce = f"m{index}"
        alice.send(
            MessageType.SAY, {"id": 1000 + index, "room": "Général", "text": nonce, "nonce": nonce}
        )

    def take_ok() -> None:
        frame = alice.receive(5.0)
        if frame.type == MessageType.OK:
            message = frame.body["message"]
            acknowledged[message["text"]] = message["id"]

    while len(acknowledged) < 100:
        take_ok()
    a.kill()
    with suppress(ServerClosed, ConnectionError, TimeoutError, OSError):
        while True:  # what the kernel had received before the kill
            take_ok()
    assert acknowledged, "node a acknowledged nothing before it was killed"

    # Alice's client goes on on node b, with her session's token.
    again = WireClient(b.address)
    again.hello()
    assert again.ok(MessageType.RESUME, token=token)["user"]["login"] == "alice"
    # What was typed and not acknowledged is sent again, with the same nonces.
    for index in range(sent):
        nonce = f"m{index}"
        if nonce not in acknowledged:
            stored = again.ok(MessageType.SAY, room="Général", text=nonce, nonce=nonce)
            acknowledged[nonce] = stored["message"]["id"]
    history: list[dict[str, Any]] = []
    before = None
    while True:
        fields: dict[str, object] = {"room": "Général", "limit": 100}
        if before is not None:
            fields["before"] = before
        page = again.ok(MessageType.HISTORY, **fields)
        history = page["messages"] + history
        if not page["more"]:
            break
        before = page["messages"][0]["id"]
    texts = [m["text"] for m in history]
    assert sorted(texts) == sorted(acknowledged), "lost or doubled messages"
    assert {m["text"]: m["id"] for m in history} == acknowledged  # the ids each OK promised
    ids = [m["id"] for m in history]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_a_killed_nodes_users_go_offline_for_the_others(
    nodes: Callable[[str], NodeProcess],
) -> None:
    a = nodes("a")
    b = nodes("b")
    bob = user_on(b, "bob")
    user_on(a, "alice")
    assert bob.next_event(MessageType.PRESENCE) == {"login": "alice", "status": "online"}
    a.kill()
    assert presence_while_answering_pings(bob, 10 * HEARTBEAT) == {  # generous: CI is slow
        "login": "alice",
        "status": "offline",
    }


def presence_while_answering_pings(client: WireClient, timeout: float) -> dict[str, Any]:
    """The next PRESENCE event; the PINGs of a server with a short heartbeat are answered."""
    deadline = time.monotonic() + timeout
    while True:
        frame = client.receive(max(0.0, deadline - time.monotonic()))
        if frame.type == MessageType.PING:
            client.send(MessageType.PONG, {"nonce": frame.body["nonce"]})
        elif frame.type == MessageType.PRESENCE:
            return frame.body


def test_the_desktop_clients_network_thread_goes_on_on_another_node(
    nodes: Callable[[str], NodeProcess],
) -> None:
    a = nodes("a")
    b = nodes("b")
    settings = ClientSettings(host=f"127.0.0.1:{a.port}, 127.0.0.1:{b.port}")
    network = NetworkThread(settings)
    try:
        network.register("carol", "correct horse", "Carol", "Martin", "carol@example.org")
        network.login("carol", "correct horse")
        session = next_update(network.updates, LoggedIn).session
        network.send(GENERAL, "avant la panne", "nonce-1")
        first = next_update(network.updates, MessageAcknowledged).message

        a.kill()  # no goodbye: the client sees its connection die
        network.send(GENERAL, "pendant la panne", "nonce-2")  # kept in the outbox
        resumed = next_update(network.updates, LoggedIn)
        assert resumed.resumed and resumed.session.user.login == session.user.login
        second = next_update(network.updates, MessageAcknowledged).message
        assert second.id > first.id and network.unsent == 0

        reader = user_on(b, "dave")
        texts = [m["text"] for m in reader.ok(MessageType.HISTORY, room="Général")["messages"]]
        assert texts == ["avant la panne", "pendant la panne"]
    finally:
        network.close()
