"""Throttling and flood limits: every one trips with rate_limited and retry_after_ms."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from guigui.common.protocol import MessageType
from guigui.server.core.limits import FailureThrottle, SlidingWindow, TokenBucket
from tests.conftest import RunningServer
from tests.support.wire import WireClient

ServerFactory = Callable[..., RunningServer]
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_token_bucket() -> None:
    bucket = TokenBucket(rate=2, burst=3)
    assert [bucket.take(0.0) for _ in range(3)] == [0, 0, 0]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.5) == 0
    assert TokenBucket(rate=0, burst=0).take(0.0) == 0


def test_failure_throttle_grows_and_forgives() -> None:
    throttle = FailureThrottle(free_failures=2, first_lock=1.0, max_lock=5.0)
    assert throttle.failed("alice", 0.0) == 0
    assert throttle.failed("alice", 0.0) == 1.0
    assert throttle.wait("alice", 0.5) == pytest.approx(0.5)
    assert throttle.failed("alice", 1.0) == 2.0
    assert [throttle.failed("alice", 3.0) for _ in range(3)] == [4.0, 5.0, 5.0]
    throttle.succeeded("alice")
    assert throttle.wait("alice", 3.0) == 0


def test_sliding_window() -> None:
    window = SlidingWindow(limit=2, window=10.0)
    assert window.hit("ip", 0.0) == 0 and window.hit("ip", 1.0) == 0
    assert window.hit("ip", 2.0) == pytest.approx(8.0)
    assert window.hit("ip", 10.5) == 0


def ready(running: RunningServer) -> WireClient:
    client = WireClient(running.address)
    client.hello()
    return client


@sqlite_only
def test_failed_logins_lock_the_account(server_factory: ServerFactory) -> None:
    running = server_factory(login_free_failures=3, login_first_lock=30.0)
    client = ready(running)
    client.register("alice")
    for _ in range(3):
        assert (
            client.error(MessageType.LOGIN, login="alice", password="wrong pw 1")["code"]
            == "bad_credentials"
        )
    refused = client.error(MessageType.LOGIN, login="ALICE", password="correct horse")
    assert refused["code"] == "rate_limited" and 25_000 < refused["retry_after_ms"] <= 30_000
    other = ready(running)
    other.register("bob")
    other.login("bob")  # other accounts are not locked


@sqlite_only
def test_failed_logins_from_one_ip_lock_it(server_factory: ServerFactory) -> None:
    running = server_factory(login_free_failures=1, login_first_lock=30.0)
    client = ready(running)
    for login in ("a1x", "b2x", "c3x", "d4x"):  # 4 × free failures per IP
        client.error(MessageType.LOGIN, login=login, password="wrong pw 1")
    assert (
        client.error(MessageType.LOGIN, login="e5x", password="whatever1")["code"] == "rate_limited"
    )


@sqlite_only
def test_registrations_per_ip(server_factory: ServerFactory) -> None:
    running = server_factory(registrations_per_ip_per_hour=2)
    client = ready(running)
    client.register("one")
    client.register("two")
    fields = {"login": "three", "password": "correct horse", "first_name": "A", "last_name": "B",
              "email": "three@example.org"}  # fmt: skip
    refused = client.error(MessageType.REGISTER, **fields)
    assert refused["code"] == "rate_limited" and refused["retry_after_ms"] > 3_000_000


@sqlite_only
def test_messages_per_connection(server_factory: ServerFactory) -> None:
    running = server_factory(message_rate=5.0, message_burst=5)
    client = ready(running)
    client.register("alice")
    client.login("alice")
    codes = [
        client.request(MessageType.SAY, room="Général", text=f"m{n}").body.get("code", "ok")
        for n in range(8)
    ]
    assert codes[:5] == ["ok"] * 5 and "rate_limited" in codes[5:]
    time.sleep(0.5)
    assert client.request(MessageType.SAY, room="Général", text="later").type == MessageType.OK


@sqlite_only
def test_connections_per_ip(server_factory: ServerFactory) -> None:
    running = server_factory(max_connections_per_ip=3)
    kept = [ready(running) for _ in range(3)]
    refused = WireClient(running.address).expect_closed()
    assert refused[0].body["code"] == "rate_limited"
    kept[0].close()
    time.sleep(0.2)
    assert ready(running).hello()["version"] == 1


@sqlite_only
def test_a_connection_that_never_says_hello_is_closed(server_factory: ServerFactory) -> None:
    running = server_factory(hello_timeout=0.5)
    started = time.monotonic()
    assert WireClient(running.address).expect_closed(timeout=5) == []
    assert time.monotonic() - started < 3
    honest = ready(running)
    time.sleep(0.8)
    assert honest.hello()["version"] == 1  # HELLO done: not closed
