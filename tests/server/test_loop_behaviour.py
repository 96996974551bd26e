"""How the loop treats slow, silent and stopping peers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from guigui.common.codec import encode_frame
from guigui.common.protocol import MessageType
from tests.conftest import RunningServer
from tests.support.wire import WireClient

ServerFactory = Callable[..., RunningServer]


def hello_and_login(client: WireClient, login: str) -> None:
    client.hello()
    client.register(login)
    client.login(login)


def test_a_client_that_never_reads_is_closed_not_buffered(server_factory: ServerFactory) -> None:
    running = server_factory(output_cap=64 * 1024)
    sloth = WireClient(running.address)
    sloth.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hello_and_login(sloth, "sloth")
    talker = WireClient(running.address)
    hello_and_login(talker, "talker")
    text = "x" * 4000
    # Far more than the kernel's socket buffers hold: the rest piles up in the
    # server's output buffer for the sloth, who never reads.
    for _ in range(2500):
        talker.ok(MessageType.SAY, room="Général", text=text)
        if len(running.server.connections) == 1:
            break
    deadline = time.monotonic() + 10
    while running.server.connections and len(running.server.connections) > 1:
        assert time.monotonic() < deadline, "the slow client was not closed"
        time.sleep(0.05)
    assert talker.ok(MessageType.ROOMS)  # the talker is still served
    sloth.close()
    talker.close()


def test_silent_clients_are_pinged_then_closed(server_factory: ServerFactory) -> None:
    running = server_factory(heartbeat=0.3)
    client = WireClient(running.address)
    client.hello()
    ping = client.receive(timeout=5)
    assert ping.type == MessageType.PING and "nonce" in ping.body
    client.send(MessageType.PONG, {"nonce": ping.body["nonce"]})
    ping = client.receive(timeout=5)  # silent again: pinged again
    assert ping.type == MessageType.PING
    assert all(f.type == MessageType.PING for f in client.expect_closed(timeout=5))


def test_stop_stores_every_acknowledged_message(server_factory: ServerFactory) -> None:
    running = server_factory()
    client = WireClient(running.address)
    hello_and_login(client, "alice")
    count = 300
    burst = b"".join(
        encode_frame(MessageType.SAY, {"id": n, "room": "Général", "text": f"m{n}"})
        for n in range(1, count + 1)
    )
    client.send_raw(burst)
    running.server.request_stop()
    acknowledged = set()
    for frame in client.expect_closed():
        if frame.type == MessageType.OK:
            acknowledged.add(frame.body["message"]["text"])
        elif frame.type == MessageType.ERROR:
            assert frame.body["code"] == "unavailable"
    assert running.server.wait(15)
    client.close()
    restarted = server_factory()
    reader = WireClient(restarted.address)
    reader.hello()
    reader.login("alice")
    stored: set[str] = set()
    before = None
    while True:
        fields = {"room": "Général", "limit": 100} | ({"before": before} if before else {})
        page = reader.ok(MessageType.HISTORY, **fields)
        stored.update(m["text"] for m in page["messages"])
        if not page["more"]:
            break
        before = page["messages"][0]["id"]
    assert acknowledged <= stored
    reader.close()


def test_a_slow_store_holds_the_senders_back_and_loses_nothing(
    server_factory: ServerFactory,
) -> None:
    running = server_factory(store_high_water=20, store_low_water=5)
    server = running.server
    store_save = server.store.save_messages

    def slow_save(messages: Any, **options: Any) -> Any:
        time.sleep(0.01)  # a database far slower than the senders
        return store_save(messages, **options)

    server.store.save_messages = slow_save  # type: ignore[method-assign]
    sender = WireClient(running.address)
    hello_and_login(sender, "sender")
    watcher = WireClient(running.address)
    hello_and_login(watcher, "watcher")
    count = 400
    frames = b"".join(
        encode_frame(MessageType.SAY, {"id": 100 + n, "room": "Général", "text": f"m{n}"})
        for n in range(count)
    )
    sender.sock.sendall(frames)  # all at once, without waiting for answers
    replies: dict[int, str] = {}
    deadline = time.monotonic() + 30
    while len(replies) < count:
        assert time.monotonic() < deadline, f"{len(replies)} replies of {count}"
        frame = sender.receive(timeout=10)
        if frame.type in (MessageType.OK, MessageType.ERROR):
            replies[frame.body["id"]] = frame.body["message"]["text"]
    assert server.hold_backs > 0, "the sender was never held back"
    assert replies == {100 + n: f"m{n}" for n in range(count)}  # each stored, none lost
    watcher.send(MessageType.PING, {"nonce": "still served"})
    while (frame := watcher.receive(timeout=10)).type != MessageType.PONG:
        assert frame.type == MessageType.MESSAGE
    assert not server.held_back
