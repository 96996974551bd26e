"""The moderation API the admin side calls: requests and sanctions, live."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from guigui.common.protocol import MessageType, SanctionKind
from guigui.server.handoff import Done, run_on_loop
from guigui.server.moderation import Moderation, parse_target
from tests.conftest import RunningServer
from tests.support.wire import WireClient

LoggedIn = Callable[[str], WireClient]
Connect = Callable[[], WireClient]


def moderate(running: RunningServer, call: Callable[[Moderation, Done[Any]], None]) -> Any:
    """Run one moderation call on the server's loop and wait for its outcome."""
    moderation = Moderation(running.server)
    return run_on_loop(running.server, lambda done: call(moderation, done)).result(timeout=10)


def test_granted_request_reaches_the_user_live(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    alice = logged_in("alice")
    request_id = alice.ok(MessageType.JOIN, room="Informatique")["request_id"]
    moderate(running_server, lambda m, done: m.decide_request(request_id, True, "admin", done))
    decision = alice.next_event(MessageType.ACCESS_DECISION)
    assert decision == {"room": "Informatique", "granted": True, "request_id": request_id}
    alice.ok(MessageType.SAY, room="Informatique", text="merci")
    assert alice.error(MessageType.JOIN, room="Informatique")["code"] == "already_member"


def test_refused_request(running_server: RunningServer, logged_in: LoggedIn) -> None:
    alice = logged_in("alice")
    request_id = alice.ok(MessageType.JOIN, room="Marketing")["request_id"]
    moderate(running_server, lambda m, done: m.decide_request(request_id, False, "admin", done))
    assert alice.next_event(MessageType.ACCESS_DECISION)["granted"] is False
    assert alice.error(MessageType.SAY, room="Marketing", text="?")["code"] == "not_member"
    with pytest.raises(LookupError):
        moderate(running_server, lambda m, done: m.decide_request(request_id, True, "a", done))


def test_a_target_is_a_login_or_an_ip_in_its_standard_form() -> None:
    assert parse_target("alice") == ("alice", None)
    assert parse_target("::0001") == (None, "::1")
    with pytest.raises(ValueError, match="neither a login nor an IP address"):
        parse_target("no such thing!")


def test_preview_then_login_and_ip_kick_name_everyone_on_the_address(
    running_server: RunningServer, logged_in: LoggedIn, connect: Connect
) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    anonymous = connect()
    anonymous.hello()
    preview = moderate(running_server, lambda m, done: m.preview("alice", done))
    assert (preview.target, preview.login, preview.ips) == ("alice", "alice", ["127.0.0.1"])
    assert (preview.others_online, preview.anonymous, preview.hits_others) == (["bob"], 1, True)
    result = moderate(
        running_server,
        lambda m, done: m.sanction_target(
            SanctionKind.KICK, "alice", 60, "calm down", "admin", with_ips=True, done=done
        ),
    )
    assert (result.target, result.ips, result.hit) == ("alice", ["127.0.0.1"], ["alice", "bob"])
    assert [(r.login, r.ip) for r in result.records] == [("alice", "127.0.0.1")]
    for client in (alice, bob, anonymous):
        assert any(f.type == MessageType.SANCTIONED for f in client.expect_closed())


def test_a_login_only_ban_leaves_the_address_alone(
    running_server: RunningServer, logged_in: LoggedIn
) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    result = moderate(
        running_server,
        lambda m, done: m.sanction_target(
            SanctionKind.BAN, "alice", None, "", "admin", with_ips=False, done=done
        ),
    )
    assert (result.ips, result.hit, result.seconds) == ([], ["alice"], None)
    assert [(r.login, r.ip, r.until) for r in result.records] == [("alice", None, None)]
    assert any(f.type == MessageType.SANCTIONED for f in alice.expect_closed())
    assert bob.ok(MessageType.ROOMS)
    with pytest.raises(LookupError, match="no user named"):
        moderate(running_server, lambda m, done: m.preview("nobody", done))


def test_kick_closes_live_sessions_and_refuses_logins(
    running_server: RunningServer, logged_in: LoggedIn, connect: Connect
) -> None:
    alice, bob = logged_in("alice"), logged_in("bob")
    moderate(
        running_server,
        lambda m, done: m.sanction(
            SanctionKind.KICK, "alice", None, 60, "calm down", "admin", done
        ),
    )
    frames = alice.expect_closed()
    sanctioned = [f.body for f in frames if f.type == MessageType.SANCTIONED]
    assert sanctioned and sanctioned[0]["kind"] == "kick" and sanctioned[0]["reason"] == "calm down"
    assert isinstance(sanctioned[0]["until"], int)
    again = connect()
    again.hello()
    error = again.error(MessageType.LOGIN, login="alice", password="correct horse")
    assert error["code"] == "kicked" and error["reason"] == "calm down" and error["until"]
    assert bob.ok(MessageType.ROOMS)  # others are untouched


def test_ip_ban_and_unban(
    running_server: RunningServer, logged_in: LoggedIn, connect: Connect
) -> None:
    alice = logged_in("alice")
    token_holder = connect()
    token_holder.hello()
    token = token_holder.login("alice")["token"]
    moderate(
        running_server,
        lambda m, done: m.sanction(SanctionKind.BAN, None, "127.0.0.1", None, "", "admin", done),
    )
    assert any(f.type == MessageType.SANCTIONED for f in alice.expect_closed())
    refused = connect().expect_closed()  # a banned IP is refused as soon as it connects
    assert refused[0].body["code"] == "banned" and refused[0].body["until"] is None
    lifted = moderate(running_server, lambda m, done: m.lift("127.0.0.1", None, "admin", done))
    assert len(lifted) == 1
    client = connect()
    client.hello()
    client.ok(MessageType.RESUME, token=token)


def test_sanctions_survive_a_restart(server_factory: Callable[..., RunningServer]) -> None:
    first = server_factory()
    moderate(
        first,
        lambda m, done: m.sanction(SanctionKind.BAN, "mallory", None, 3600, "spam", "admin", done),
    )
    first.server.stop(timeout=10)
    second = server_factory()
    client = WireClient(second.address)
    client.hello()
    client.register("mallory")
    error = client.error(MessageType.LOGIN, login="mallory", password="correct horse")
    assert error["code"] == "banned" and error["reason"] == "spam"
    client.close()
