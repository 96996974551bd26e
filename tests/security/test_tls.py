"""TLS: the handshake in the loop, CA checks, trust on first use, and refusals that say why."""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from guigui.client.connection import ChatConnection
from guigui.client.trust import CertificateChanged, TrustPolicy
from guigui.common.protocol import MessageType
from guigui.server.tls import generate_self_signed
from tests.conftest import RunningServer
from tests.support.wire import WireClient

ROOT = Path(__file__).resolve().parents[2]
ServerFactory = Callable[..., RunningServer]
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def certificate(directory: Path, name: str) -> tuple[Path, Path, str]:
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    return cert, key, generate_self_signed(cert, key, ["localhost", "127.0.0.1"])


def tls_server(factory: ServerFactory, cert: Path, key: Path, **overrides: object) -> RunningServer:
    return factory(tls_cert=str(cert), tls_key=str(key), **overrides)


def test_a_client_with_the_ca_file_talks_over_tls(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    cert, key, _ = certificate(tmp_path, "server")
    running = tls_server(server_factory, cert, key)
    connection = ChatConnection.connect(
        "127.0.0.1", running.port, tls=True, trust=TrustPolicy(cafile=str(cert))
    )
    connection.register("alice", "correct horse", "Alice", "Martin", "alice@example.org")
    session = connection.login("alice", "correct horse")
    assert session.user.login == "alice"
    assert connection.say("Général", "chiffré 🔒").text == "chiffré 🔒"
    connection.close()
    assert (tmp_path / "server.key").stat().st_mode & 0o777 == 0o600


def test_trust_on_first_use_pins_then_refuses_a_changed_certificate(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    cert, key, first_fingerprint = certificate(tmp_path, "first")
    running = tls_server(server_factory, cert, key)
    pinned: list[tuple[str, str]] = []
    trust = TrustPolicy(
        known_servers=tmp_path / "known.json", on_new_server=lambda s, f: pinned.append((s, f))
    )
    ChatConnection.connect("127.0.0.1", running.port, tls=True, trust=trust).close()
    assert pinned == [(f"127.0.0.1:{running.port}", first_fingerprint)]
    ChatConnection.connect("127.0.0.1", running.port, tls=True, trust=trust).close()
    assert len(pinned) == 1  # known now: no new pin
    port = running.port
    running.server.stop(timeout=10)
    other_cert, other_key, _ = certificate(tmp_path, "impostor")
    tls_server(server_factory, other_cert, other_key, port=port)
    with pytest.raises(CertificateChanged) as refused:
        ChatConnection.connect("127.0.0.1", port, tls=True, trust=trust)
    assert "CHANGED" in str(refused.value) and first_fingerprint in str(refused.value)


def test_a_certificate_from_another_ca_is_refused(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    cert, key, _ = certificate(tmp_path, "server")
    other, _key, _ = certificate(tmp_path, "other")
    running = tls_server(server_factory, cert, key)
    with pytest.raises(ssl.SSLCertVerificationError):
        ChatConnection.connect(
            "127.0.0.1", running.port, tls=True, trust=TrustPolicy(cafile=str(other))
        )


def test_the_cli_refuses_a_wrong_certificate_and_says_why(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    cert, key, _ = certificate(tmp_path, "server")
    other, _key, _ = certificate(tmp_path, "other")
    running = tls_server(server_factory, cert, key)
    done = subprocess.run(
        [sys.executable, "-m", "guigui.client.cli", "--host", "127.0.0.1",
         "--port", str(running.port), "--tls", "--cafile", str(other),
         "--session-file", str(tmp_path / "s.json"), "login", "alice", "--password-stdin"],
        input="correct horse\n", capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 3
    assert "certificate verify failed" in done.stderr


def test_plain_tcp_and_silent_peers_are_dropped(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    cert, key, _ = certificate(tmp_path, "server")
    running = tls_server(server_factory, cert, key, hello_timeout=0.5)
    plain = WireClient(running.address)
    plain.send(MessageType.HELLO, {"id": 1, "version": 1, "client": "plain"})
    assert plain.expect_closed(timeout=5) == []  # a failed handshake: closed
    silent = WireClient(running.address)  # connects and never starts the handshake
    started = time.monotonic()
    assert silent.expect_closed(timeout=5) == []
    assert time.monotonic() - started < 4
