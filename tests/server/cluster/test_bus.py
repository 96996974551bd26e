"""The cluster bus over a real Redis (a private one per test) and a real event loop.

Each test runs an ``EventLoop`` in its own thread, as the server does, and
one or two ``ClusterBus`` on a channel of its own. Nothing is timed: a test
waits (with a generous bound) for what it expects to happen, and fails if it
never does.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar, get_args

import pytest
import redis

from guigui.common.protocol import SanctionKind
from guigui.server.cluster.bus import BusFigures, ClusterBus
from guigui.server.cluster.events import (
    ClusterEvent,
    MembershipChanged,
    MessagesSaved,
    NewMessage,
    NodeAlive,
    NodeGone,
    ReadMoved,
    RequestDecided,
    RequestFiled,
    SanctionAdded,
    SanctionLifted,
    SessionsChanged,
    StopRequested,
    UserChanged,
    decode_event,
    encode_event,
)
from guigui.server.loop import EventLoop
from guigui.server.store.base import SanctionRecord
from tests.support.redis import PrivateRedis, private_redis

__all__ = ["private_redis"]  # the fixture, used by name

WAIT = 30.0
"""Longest wait for something a test expects (seconds): a bound, not a measure."""

T = TypeVar("T")


def every_kind_of_event(node: str) -> list[ClusterEvent]:
    """One event of each kind, published by ``node``."""
    return [
        MessagesSaved(
            node,
            [
                NewMessage(41, 3, 7, None, "bonjour à tous 🎉", 1_700_000_000_000),
                NewMessage(42, None, 7, 8, "direct", 1_700_000_000_001),
            ],
        ),
        SessionsChanged(node, 7, "alice", 2, "away"),
        NodeAlive(node, 1_700_000_000_002, [(7, "alice", "online", 2), (8, "bob", "busy", 1)]),
        NodeGone(node),
        UserChanged(node, 9),
        MembershipChanged(node, 7, 3, True),
        RequestFiled(node, 5, 8, 4, 1_700_000_000_003),
        RequestDecided(node, 5, 8, 4, False),
        SanctionAdded(
            node=node,
            id=2,
            kind=SanctionKind.BAN,
            login="mallory",
            ip="192.0.2.9",
            until=None,
            reason="spam",
            created_at=1_700_000_000_004,
            created_by="admin",
        ),
        SanctionLifted(node, 2),
        ReadMoved(node, 7, {"room_id": 3, "other_id": None, "last_id": 42, "read": 42}),
        StopRequested(node, None, "maintenance", 30),
        StopRequested(node, "b", "", 0),
    ]


class Listener:
    """A node's callbacks: records what the bus hands it, and on which thread."""

    def __init__(self) -> None:
        self.events: list[ClusterEvent] = []
        self.links: list[bool] = []
        self.threads: set[int] = set()
        self._changed = threading.Condition()

    def on_event(self, event: ClusterEvent) -> None:
        with self._changed:
            self.events.append(event)
            self.threads.add(threading.get_ident())
            self._changed.notify_all()

    def on_link(self, up: bool) -> None:
        with self._changed:
            self.links.append(up)
            self.threads.add(threading.get_ident())
            self._changed.notify_all()

    def wait(self, what: str, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds; fail the test, saying ``what``, if it never does."""
        with self._changed:
            if not self._changed.wait_for(predicate, WAIT):
                pytest.fail(f"never happened: {what} (links {self.links}, events {self.events})")

    def wait_for_link(self, count: int) -> None:
        """Wait for the ``count``-th ``on_link`` call."""
        self.wait(f"on_link call #{count}", lambda: len(self.links) >= count)

    def wait_for_events(self, count: int) -> None:
        """Wait until ``count`` events have arrived."""
        self.wait(f"{count} events", lambda: len(self.events) >= count)


class Loop:
    """An ``EventLoop`` running in its own thread, as in the server."""

    def __init__(self) -> None:
        self.loop = EventLoop()
        self.thread = threading.Thread(target=self.loop.run, name="event-loop", daemon=True)
        self.thread.start()

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the loop thread and return what it returned."""
        done = threading.Event()
        results: list[T] = []

        def run() -> None:
            try:
                results.append(function())
            finally:
                done.set()

        self.loop.call_soon_threadsafe(run)
        assert done.wait(WAIT), "the loop did not run a callback"
        assert results, "the callback raised (see the log)"
        return results[0]

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT)


@pytest.fixture
def loop() -> Iterator[Loop]:
    running = Loop()
    yield running
    running.stop()


BusFactory = Callable[[str, Listener], ClusterBus]


@pytest.fixture
def make_bus(loop: Loop, private_redis: PrivateRedis) -> Iterator[BusFactory]:
    """Start buses on the private Redis, all on one channel of this test; stopped afterwards."""
    channel = f"guigui:test:{uuid.uuid4().hex}"
    buses: list[ClusterBus] = []

    def make(node: str, listener: Listener) -> ClusterBus:
        bus = ClusterBus(
            private_redis.url, node, loop.loop, listener.on_event, listener.on_link, channel
        )
        bus.start()
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        loop.call(bus.stop)


def two_linked_nodes(make_bus: BusFactory) -> tuple[ClusterBus, Listener, ClusterBus, Listener]:
    """Nodes ``a`` and ``b``, each subscribed (their first ``on_link(True)`` has run)."""
    heard_by_a, heard_by_b = Listener(), Listener()
    a = make_bus("a", heard_by_a)
    b = make_bus("b", heard_by_b)
    heard_by_a.wait_for_link(1)
    heard_by_b.wait_for_link(1)
    assert heard_by_a.links == heard_by_b.links == [True]
    return a, heard_by_a, b, heard_by_b


def eventually(what: str, predicate: Callable[[], bool]) -> None:
    """Wait until ``predicate()`` holds, looking now and then; fail, saying ``what``, if never.

    For what no callback announces (a figure of a bus).
    """
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.02)


def figures(loop: Loop, bus: ClusterBus) -> BusFigures:
    return loop.call(lambda: bus.figures)


# ---- the encoding alone --------------------------------------------------------


def test_the_samples_cover_every_kind_of_event() -> None:
    assert {type(event) for event in every_kind_of_event("a")} == set(get_args(ClusterEvent))


@pytest.mark.parametrize("event", every_kind_of_event("a"), ids=lambda event: type(event).__name__)
def test_every_event_decodes_to_what_was_encoded(event: ClusterEvent) -> None:
    decoded = decode_event(encode_event(event))
    assert decoded == event
    assert type(decoded) is type(event)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b"[]",
        b'{"node": "a"}',
        b'{"event": "NoSuchEvent", "node": "a"}',
        b'{"event": "NodeGone"}',
        b'{"event": "UserChanged", "node": "a", "user_id": "7"}',
        b'{"event": "UserChanged", "node": "a", "user_id": true}',
        b'{"event": "SanctionAdded", "node": "a", "id": 1, "kind": "slap", "login": null,'
        b' "ip": null, "until": null, "reason": "", "created_at": 0, "created_by": "x"}',
    ],
)
def test_decode_event_refuses_what_is_not_an_event(data: bytes) -> None:
    with pytest.raises(ValueError, match="not a cluster event"):
        decode_event(data)


def test_a_sanction_event_carries_the_store_record_unchanged() -> None:
    record = SanctionRecord(2, SanctionKind.KICK, "mallory", None, 1_700_000_060_000, "calm down",
                            1_700_000_000_000, "admin")  # fmt: skip
    # Field for field, in the record's order (a new sanction is not lifted).
    carried = tuple(f.name for f in dataclasses.fields(SanctionRecord) if f.name[:6] != "lifted")
    assert SanctionAdded.__struct_fields__ == ("node", *carried)
    event = SanctionAdded.from_record("a", record)
    assert decode_event(encode_event(event)) == event
    assert event.record() == record


# ---- two nodes over Redis ------------------------------------------------------


def test_two_nodes_exchange_every_kind_of_event(loop: Loop, make_bus: BusFactory) -> None:
    a, heard_by_a, b, heard_by_b = two_linked_nodes(make_bus)
    from_a, from_b = every_kind_of_event("a"), every_kind_of_event("b")
    for event in from_a:
        loop.call(lambda event=event: a.publish(event))  # type: ignore[misc]
    for event in from_b:
        loop.call(lambda event=event: b.publish(event))  # type: ignore[misc]
    heard_by_b.wait_for_events(len(from_a))
    heard_by_a.wait_for_events(len(from_b))
    assert heard_by_b.events == from_a  # every kind, equal, and in the order published
    assert heard_by_a.events == from_b
    assert figures(loop, a).published == len(from_a)
    assert figures(loop, b).received == len(from_a)
    assert figures(loop, a).dropped == figures(loop, b).dropped == 0


def test_a_node_does_not_hear_its_own_events(loop: Loop, make_bus: BusFactory) -> None:
    a, heard_by_a, b, heard_by_b = two_linked_nodes(make_bus)
    own = UserChanged("a", 1)
    loop.call(lambda: a.publish(own))
    heard_by_b.wait_for_events(1)  # Redis has sent it to every subscriber, a included
    other = UserChanged("b", 2)
    loop.call(lambda: b.publish(other))
    heard_by_a.wait_for_events(1)
    # a's connection got "own" before "other": had it not been dropped, it would be first.
    assert heard_by_a.events == [other]
    assert heard_by_b.events == [own]
    assert figures(loop, a).received == 1


def test_callbacks_run_on_the_loop_thread(loop: Loop, make_bus: BusFactory) -> None:
    a, heard_by_a, b, heard_by_b = two_linked_nodes(make_bus)
    loop.call(lambda: a.publish(NodeGone("a")))
    loop.call(lambda: b.publish(NodeGone("b")))
    heard_by_b.wait_for_events(1)
    heard_by_a.wait_for_events(1)
    assert heard_by_a.threads == heard_by_b.threads == {loop.thread.ident}


def test_stop_publishes_what_is_queued_first(loop: Loop, make_bus: BusFactory) -> None:
    a, _, _, heard_by_b = two_linked_nodes(make_bus)
    sent = [
        MessagesSaved("a", [NewMessage(n, 1, 7, None, f"message {n}", n)]) for n in range(1, 2001)
    ]

    def publish_all_then_stop() -> None:
        for event in sent:
            a.publish(event)
        a.stop()

    loop.call(publish_all_then_stop)
    heard_by_b.wait_for_events(len(sent))
    assert heard_by_b.events == sent


def test_a_message_on_the_channel_that_is_not_an_event_is_counted_and_skipped(
    loop: Loop, make_bus: BusFactory, private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    a, heard_by_a, b, heard_by_b = two_linked_nodes(make_bus)
    with redis.Redis.from_url(private_redis.url) as intruder:
        intruder.publish(b.channel, b"garbage")
        intruder.publish(b.channel, b'{"event": "FromTheFuture", "node": "c"}')
    # Each node hears the intruder's two messages before the other node's event.
    loop.call(lambda: a.publish(NodeGone("a")))
    loop.call(lambda: b.publish(NodeGone("b")))
    heard_by_b.wait_for_events(1)
    heard_by_a.wait_for_events(1)
    assert heard_by_b.events == [NodeGone("a")]
    assert heard_by_a.events == [NodeGone("b")]
    assert figures(loop, a).rejected == figures(loop, b).rejected == 2
    assert heard_by_a.links == heard_by_b.links == [True]  # the links stayed up
    told = [record for record in caplog.records if "not an event" in record.getMessage()]
    assert len(told) == 2  # by each bus, the first one is logged, the next only counted


# ---- Redis outages -------------------------------------------------------------


def test_publish_never_blocks_while_redis_is_down(
    loop: Loop, make_bus: BusFactory, private_redis: PrivateRedis
) -> None:
    a, heard_by_a, _, _ = two_linked_nodes(make_bus)
    private_redis.stop()
    heard_by_a.wait_for_link(2)
    assert heard_by_a.links == [True, False]

    def publish_many() -> BusFigures:
        for n in range(10_000):
            a.publish(UserChanged("a", n))
        return a.figures

    # Had publish waited on Redis, this would never come back; it returns with
    # every event already counted as dropped (none is queued for later).
    after = loop.call(publish_many)
    assert after.dropped == 10_000
    assert after.published == 0
    assert not after.connected


@pytest.mark.parametrize("crash", [False, True], ids=["redis-stopped", "redis-killed"])
def test_an_outage_is_told_once_and_delivery_resumes_when_redis_is_back(
    loop: Loop,
    make_bus: BusFactory,
    private_redis: PrivateRedis,
    caplog: pytest.LogCaptureFixture,
    crash: bool,
) -> None:
    caplog.set_level(logging.INFO, logger="guigui.server.cluster.bus")
    a, heard_by_a, b, heard_by_b = two_linked_nodes(make_bus)
    caplog.clear()

    private_redis.stop(crash=crash)
    heard_by_a.wait_for_link(2)
    heard_by_b.wait_for_link(2)
    # Let each bus fail to reconnect a few times: each failure could have said
    # so again, and must not.
    eventually(
        "three failed reconnection attempts on each bus",
        lambda: a.figures.failed_attempts >= 3 and b.figures.failed_attempts >= 3,
    )
    down = figures(loop, a)
    assert not down.connected
    assert down.outages == 1

    private_redis.start()
    heard_by_a.wait_for_link(3)
    heard_by_b.wait_for_link(3)
    assert heard_by_a.links == heard_by_b.links == [True, False, True]
    up = figures(loop, a)
    assert up.connected and up.outages == 1 and up.failed_attempts == 0

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings  # one per bus
    address = f"127.0.0.1:{private_redis.port}"
    assert all(
        f"cluster: Redis at {address} unreachable (" in w and w.endswith("): local delivery only")
        for w in warnings
    )
    back = [r.getMessage() for r in caplog.records if "Redis link back" in r.getMessage()]
    assert len(back) == 2, back
    assert len(caplog.records) == 4  # nothing else: one line per state change

    # Delivery resumes, both ways.
    loop.call(lambda: a.publish(UserChanged("a", 1)))
    loop.call(lambda: b.publish(UserChanged("b", 2)))
    heard_by_b.wait_for_events(1)
    heard_by_a.wait_for_events(1)
    assert heard_by_b.events == [UserChanged("a", 1)]
    assert heard_by_a.events == [UserChanged("b", 2)]


def test_a_bus_started_while_redis_is_down_links_when_it_comes_up(
    loop: Loop, make_bus: BusFactory, private_redis: PrivateRedis
) -> None:
    private_redis.stop()
    heard = Listener()
    bus = make_bus("a", heard)
    heard.wait_for_link(1)
    assert heard.links == [False]
    assert figures(loop, bus).outages == 1
    private_redis.start()
    heard.wait_for_link(2)
    assert heard.links == [False, True]
