"""Several servers on one database: a client passes a dead one over, and carries on elsewhere.

Two in-process servers on one SQLite file at once are not safe, so server B
starts on the test's database only after A has stopped (on MariaDB too, so the
test is the same on both): for the client, A went away and B is the next node.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from guigui.client.addresses import AddressRing, ServerAddress
from guigui.client.cli import main as cli_main
from guigui.client.connection import ChatConnection, NoServerReachable
from guigui.client.model import ConversationKey
from guigui.client.network_thread import NetworkThread
from guigui.client.settings import ClientSettings
from guigui.client.updates import ConnectionChanged, LoggedIn, MessageAcknowledged
from tests.conftest import RunningServer
from tests.support.ports import free_port
from tests.support.updates import next_update

GENERAL = ConversationKey.room("Général")
PASSWORD = "correct horse"


def test_a_server_that_is_down_is_passed_over(running_server: RunningServer) -> None:
    down = ServerAddress("127.0.0.1", free_port())
    up = ServerAddress(running_server.host, running_server.port)
    servers = AddressRing([down, up])
    connection = ChatConnection.connect_any(servers, timeout=5)
    try:
        connection.register("alice", PASSWORD, "Ada", "Lovelace", "alice@example.org")
    finally:
        connection.close()
    assert servers.last_used is not None and servers.last_used.address == up
    with pytest.raises(NoServerReachable) as raised:
        ChatConnection.connect_any(AddressRing([down]), timeout=5)
    assert str(down) in str(raised.value)


def test_the_cli_passes_a_server_that_is_down_over(
    running_server: RunningServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    servers = f"127.0.0.1:{free_port()},{running_server.host}:{running_server.port}"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    status = cli_main(
        ["--server", servers, "--session-file", str(tmp_path / "s.json"), "register", "bob",
         "--first-name", "Bob", "--last-name", "Martin", "--email", "bob@example.org",
         "--password-stdin"]
    )  # fmt: skip
    assert status == 0 and "registered bob" in capsys.readouterr().out
    status = cli_main(["--server", "127.0.0.1:1,chat 2:7000", "rooms"])
    assert status == 2 and "'chat 2:7000'" in capsys.readouterr().err


def test_the_client_resumes_on_the_next_server_and_sends_its_outbox_once(
    server_factory: Callable[..., RunningServer],
) -> None:
    first = server_factory()
    second_port = free_port()
    settings = ClientSettings(host=f"127.0.0.1:{first.port}, 127.0.0.1:{second_port}")
    network = NetworkThread(settings)
    try:
        network.register("carol", PASSWORD, "Carol", "Martin", "carol@example.org")
        network.login("carol", PASSWORD)
        session = next_update(network.updates, LoggedIn).session
        network.send(GENERAL, "before the failure", "nonce-1")
        next_update(network.updates, MessageAcknowledged)

        first.server.stop(timeout=15)  # server A goes away...
        next_update(network.updates, ConnectionChanged, lambda update: update.state == "offline")
        network.send(GENERAL, "typed while offline", "nonce-2")  # ...kept in the outbox
        second = server_factory(port=second_port)  # ...and B takes over, on the same database

        resumed = next_update(network.updates, LoggedIn)
        assert resumed.resumed and resumed.session.user.login == session.user.login
        acknowledged = next_update(network.updates, MessageAcknowledged)
        assert acknowledged.nonce == "nonce-2" and network.unsent == 0
        # Sent again with its nonce (as after a lost acknowledgement): stored once.
        network.send(GENERAL, "typed while offline", "nonce-2")
        again = next_update(network.updates, MessageAcknowledged)
        assert again.message.id == acknowledged.message.id

        reader = ChatConnection.connect(second.host, second.port)
        try:
            reader.login("carol", PASSWORD)
            messages, _more = reader.history(room=GENERAL.name)
        finally:
            reader.close()
        texts = [message.text for message in messages]
        assert texts.count("before the failure") == 1
        assert texts.count("typed while offline") == 1
    finally:
        network.close()
