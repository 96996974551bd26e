"""Several nodes, one chat: real servers sharing a real MariaDB and a real Redis (issue 16).

Each test starts its nodes in this process (``ChatServer`` with a
``ClusterNode``) on a fresh MariaDB database and on a Redis channel of its
own, so tests never hear each other. Clients are raw protocol clients
(``WireClient``), each on the node the test chooses.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Protocol

import pytest

from guigui.common.file_frames import decode_chunk, encode_chunk
from guigui.common.protocol import FILE_CHUNK_SIZE, MessageType, SanctionKind
from guigui.server.chat_server import ChatServer
from guigui.server.cluster.node import ClusterFigures, ClusterNode
from guigui.server.handoff import Done, run_on_loop
from guigui.server.moderation import Moderation
from guigui.server.store import AccessRequestRecord, SanctionRecord
from tests.conftest import RunningServer, make_test_config
from tests.support.databases import fresh_mysql_database
from tests.support.redis import PrivateRedis, private_redis
from tests.support.shared_redis import SHARED_REDIS_URL, require_shared_redis
from tests.support.wire import Address, WireClient

Node = Callable[[str], RunningServer]

__all__ = ["private_redis"]  # a fixture, used by name


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    """``node("a")``: a new node of this test's cluster (one database, one channel)."""
    require_shared_redis()
    channel = f"guigui-test:{uuid.uuid4().hex}"
    started: list[RunningServer] = []
    with fresh_mysql_database() as url:

        def start(name: str) -> RunningServer:
            config = make_test_config(
                url, cluster_url=SHARED_REDIS_URL, node_name=name, cluster_channel=channel
            )
            server = ChatServer(config, cluster=ClusterNode)
            server.start()
            running = RunningServer(server, *server.address, tmp_path, url)
            started.append(running)
            wait_linked([r.server for r in started])
            return running

        yield start
        for running in started:
            running.server.stop(timeout=15)


def cluster_of(server: ChatServer) -> ClusterNode:
    assert isinstance(server.announce, ClusterNode)
    return server.announce


def figures_of(server: ChatServer) -> ClusterFigures:
    """The node's cluster figures, read on its loop thread."""

    def read(done: Done[ClusterFigures]) -> None:
        done(cluster_of(server).figures)

    return run_on_loop(server, read).result(5)


def wait_linked(servers: list[ChatServer], timeout: float = 10.0) -> None:
    """Until every node has heard from every other one."""
    deadline = time.monotonic() + timeout
    for server in servers:
        others = {cluster_of(s).node for s in servers if s is not server}
        while True:
            heard = figures_of(server)
            if others <= set(heard.nodes):
                break
            assert time.monotonic() < deadline, f"{cluster_of(server).node} never heard {others}"
            time.sleep(0.05)


class Reachable(Protocol):
    """A node a test client can reach: in this process, or a process of its own."""

    @property
    def address(self) -> Address: ...


def user_on(node: Reachable, login: str, *, register: bool = True) -> WireClient:
    """A client logged in on ``node`` as ``login`` (registered first, unless told)."""
    client = WireClient(node.address)
    client.hello()
    if register:
        client.register(login)
    client.login(login)
    return client


def on_loop(server: ChatServer, action: Callable[[Done[object]], None]) -> object:
    return run_on_loop(server, action).result(10)


def test_users_on_two_nodes_chat_and_read_the_same_history(node: Node) -> None:
    a, b = node("a"), node("b")
    alice, bob = user_on(a, "alice"), user_on(b, "bob")
    said = alice.ok(MessageType.SAY, room="Général", text="bonjour de A")["message"]
    assert bob.next_event(MessageType.MESSAGE)["message"] == said
    answer = bob.ok(MessageType.SAY, room="Général", text="salut de B")["message"]
    assert alice.next_event(MessageType.MESSAGE)["message"] == answer
    assert answer["id"] > said["id"]  # ids increase across nodes
    from_a = alice.ok(MessageType.HISTORY, room="Général")["messages"]
    from_b = bob.ok(MessageType.HISTORY, room="Général")["messages"]
    assert from_a == from_b and [m["text"] for m in from_a] == ["bonjour de A", "salut de B"]


def test_presence_and_direct_messages_cross_nodes(node: Node) -> None:
    a, b = node("a"), node("b")
    bob = user_on(b, "bob")
    alice = user_on(a, "alice")
    assert bob.next_event(MessageType.PRESENCE) == {"login": "alice", "status": "online"}
    sent = bob.ok(MessageType.DIRECT, to="alice", text="psst")["message"]
    assert alice.next_event(MessageType.MESSAGE)["message"] == sent
    alice.ok(MessageType.SET_STATUS, status="away")
    assert bob.next_event(MessageType.PRESENCE) == {"login": "alice", "status": "away"}
    alice.ok(MessageType.LOGOUT)
    assert bob.next_event(MessageType.PRESENCE) == {"login": "alice", "status": "offline"}


def test_an_account_made_on_one_node_logs_in_on_another(node: Node) -> None:
    a, b = node("a"), node("b")
    user_on(a, "carol").close()
    deadline = time.monotonic() + 10
    while on_loop(b.server, lambda done: done(b.server.users.find("carol"))) is None:
        assert time.monotonic() < deadline, "node b never learnt of carol"
        time.sleep(0.05)
    carol = user_on(b, "carol", register=False)
    assert carol.ok(MessageType.ROOMS)["rooms"]


def test_a_ban_on_one_node_closes_the_sessions_on_every_node(node: Node) -> None:
    a, b = node("a"), node("b")
    bob = user_on(b, "bob")

    def ban(done: Done[SanctionRecord]) -> None:
        Moderation(a.server).sanction(SanctionKind.BAN, "bob", None, None, "spam", "chief", done)

    on_loop(a.server, ban)
    assert bob.next_event(MessageType.SANCTIONED)["kind"] == "ban"
    bob.expect_closed()
    again = WireClient(b.address)
    again.hello()
    assert again.error(MessageType.LOGIN, login="bob", password="correct horse")["code"] == (
        "banned"
    )


def test_a_request_filed_on_one_node_is_decided_on_another(node: Node) -> None:
    a, b = node("a"), node("b")
    bob = user_on(b, "bob")
    filed = bob.ok(MessageType.JOIN, room="Informatique")
    assert filed["status"] == "pending"
    request_id = filed["request_id"]
    deadline = time.monotonic() + 10
    while not on_loop(a.server, lambda done: done(a.server.rooms.has_pending(request_id))):
        assert time.monotonic() < deadline, "node a never saw the request"
        time.sleep(0.05)

    def grant(done: Done[AccessRequestRecord]) -> None:
        Moderation(a.server).decide_request(request_id, True, "chief", done)

    on_loop(a.server, grant)
    decision = bob.next_event(MessageType.ACCESS_DECISION)
    assert decision["room"] == "Informatique" and decision["granted"] is True
    alice = user_on(a, "alice")
    del alice  # not a member: she does not hear Informatique
    bob.ok(MessageType.SAY, room="Informatique", text="merci")


def test_redis_stopped_and_restarted_mid_traffic_loses_nothing_acknowledged(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    with fresh_mysql_database() as url:
        servers = []
        for name in ("a", "b"):
            config = make_test_config(url, cluster_url=private_redis.url, node_name=name)
            server = ChatServer(config, cluster=ClusterNode)
            server.start()
            servers.append(server)
        try:
            a, b = servers
            wait_linked(servers)
            alice = user_on(RunningServer(a, *a.address, tmp_path, url), "alice")
            bob = user_on(RunningServer(b, *b.address, tmp_path, url), "bob")
            first = alice.ok(MessageType.SAY, room="Général", text="avant")["message"]
            assert bob.next_event(MessageType.MESSAGE)["message"] == first

            private_redis.stop(crash=True)
            for server in servers:
                wait_until(partial(cut_off_from_redis, server), "the link never went down")
            # Each node serves its own clients: everything said is acknowledged and stored.
            cut_off = [
                alice.ok(MessageType.SAY, room="Général", text=f"pendant {n}")["message"]
                for n in range(3)
            ]
            reply = bob.ok(MessageType.SAY, room="Général", text="bob pendant")["message"]
            bob.no_event(MessageType.MESSAGE)  # nothing crosses while Redis is down

            private_redis.start()
            # Once linked again, each node gives its readers what the other stored meanwhile.
            missed = [bob.next_event(MessageType.MESSAGE, timeout=30)["message"] for _ in cut_off]
            assert missed == cut_off
            assert alice.next_event(MessageType.MESSAGE, timeout=30)["message"] == reply
            after = alice.ok(MessageType.SAY, room="Général", text="après")["message"]
            assert bob.next_event(MessageType.MESSAGE, timeout=30)["message"] == after
            history = alice.ok(MessageType.HISTORY, room="Général")["messages"]
            assert history == bob.ok(MessageType.HISTORY, room="Général")["messages"]
            assert [m["text"] for m in history] == [
                "avant",
                "pendant 0",
                "pendant 1",
                "pendant 2",
                "bob pendant",
                "après",
            ]
        finally:
            for server in servers:
                server.stop(timeout=15)


def cut_off_from_redis(server: ChatServer) -> bool:
    return not figures_of(server).linked


def wait_until(condition: Callable[[], bool], failure: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)


def test_a_file_sent_on_one_node_is_served_by_the_other(node: Node) -> None:
    a, b = node("a"), node("b")
    alice, bob = user_on(a, "alice"), user_on(b, "bob")
    data = b"\x00\x01" + bytes(range(256)) * 500
    digest = hashlib.sha256(data).hexdigest()
    offered = alice.ok(MessageType.FILE_OFFER, room="Général", name="plan.bin", size=len(data),
                       type="application/octet-stream", sha256=digest)  # fmt: skip
    for offset in range(0, len(data), FILE_CHUNK_SIZE):
        piece = data[offset : offset + FILE_CHUNK_SIZE]
        alice.send_raw(encode_chunk(MessageType.FILE_CHUNK, offered["transfer"], offset, piece))
    sent = alice.ok(MessageType.FILE_SEND, transfer=offered["transfer"])["message"]
    assert bob.next_event(MessageType.MESSAGE)["message"] == sent
    got = bob.ok(MessageType.FILE_GET, file=sent["file"]["id"])
    received = b""
    while len(received) < len(data):
        frame = bob.receive()
        if frame.type == MessageType.FILE_DATA:
            chunk = decode_chunk(frame)
            assert chunk.transfer == got["transfer"]
            received += chunk.data
    assert received == data


def test_an_upload_cut_on_one_node_goes_on_from_another(node: Node) -> None:
    """The bytes a node acknowledged are in the shared database: another node resumes there."""
    a, b = node("a"), node("b")
    alice = user_on(a, "alice")
    data = bytes(range(256)) * 1500  # 384,000 bytes: twelve chunks, one FILE_ACK past 256 KiB
    digest = hashlib.sha256(data).hexdigest()
    offer = {
        "room": "Général", "name": "rapport.bin", "size": len(data),
        "type": "application/octet-stream", "sha256": digest,
    }  # fmt: skip
    transfer = alice.ok(MessageType.FILE_OFFER, **offer)["transfer"]
    for offset in range(0, 9 * FILE_CHUNK_SIZE, FILE_CHUNK_SIZE):
        piece = data[offset : offset + FILE_CHUNK_SIZE]
        alice.send_raw(encode_chunk(MessageType.FILE_CHUNK, transfer, offset, piece))
    acknowledged = alice.next_event(MessageType.FILE_ACK)["received"]
    assert 0 < acknowledged < len(data)
    alice.close()  # the connection is cut on node a

    again = user_on(b, "alice", register=False)
    offered = again.ok(MessageType.FILE_OFFER, **offer)
    assert offered["received"] >= acknowledged  # node b knows what node a wrote
    for offset in range(offered["received"], len(data), FILE_CHUNK_SIZE):
        piece = data[offset : offset + FILE_CHUNK_SIZE]
        again.send_raw(encode_chunk(MessageType.FILE_CHUNK, offered["transfer"], offset, piece))
    sent = again.ok(MessageType.FILE_SEND, transfer=offered["transfer"])["message"]
    assert sent["file"]["sha256"] == digest and sent["file"]["size"] == len(data)
    history = again.ok(MessageType.HISTORY, room="Général")["messages"]
    assert [m["file"]["id"] for m in history if "file" in m] == [sent["file"]["id"]]  # once
