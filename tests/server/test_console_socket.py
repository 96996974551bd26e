"""The admin console over a Unix socket (``--admin-socket`` and ``run_server.py console``).

How an admin moderates a server that runs as a service: real server process,
real socket file, the real ``console`` command fed as an admin types it.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from guigui.common.protocol import ErrorCode, MessageType
from tests.server.test_run_server import ROOT, start
from tests.support.wire import Address, WireClient

PASSWORD = "a long admin password"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, Address]]:
    """A headless server with an admin ``chief`` and its console on ``tmp_path/admin.sock``."""
    data = tmp_path / "data"
    created = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run_server.py"),
            "--data-dir",
            str(data),
            "--bcrypt-cost",
            "4",
            "create-admin",
            "chief",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert "created" in created.stdout
    path = tmp_path / "admin.sock"
    process, address = start(data, "--admin-socket", str(path))
    try:
        yield path, address
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        assert not path.exists(), "the socket file outlives the server"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def console(path: Path, typed: str) -> subprocess.CompletedProcess[str]:
    """``run_server.py console --socket PATH`` with ``typed`` as its standard input."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run_server.py"), "console", "--socket", str(path)],
        input=typed,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_an_admin_logs_in_through_the_socket_and_kicks_a_user(
    served: tuple[Path, Address],
) -> None:
    path, address = served
    alice = WireClient(address)
    alice.hello()
    alice.register("alice")
    alice.login("alice")
    done = console(path, f"login chief\n{PASSWORD}\nusers\nkick alice 5m too loud\nquit\n")
    assert done.returncode == 0, done.stderr
    assert "logged in as chief" in done.stdout
    assert "alice" in done.stdout.split("logged in as chief", 1)[1]
    assert any(frame.type == MessageType.SANCTIONED for frame in alice.expect_closed())
    again = WireClient(address)
    again.hello()
    refused = again.request(MessageType.LOGIN, login="alice", password="correct horse")
    assert refused.type == MessageType.ERROR and refused.body["code"] == ErrorCode.KICKED


def test_nothing_is_done_before_an_admin_login(served: tuple[Path, Address]) -> None:
    path, _ = served
    done = console(path, "users\nlogin chief\nnot the password\nstop 0\n")
    assert done.returncode == 0
    assert done.stdout.count("log in first") == 2
    assert "wrong admin login or password" in done.stdout


def test_the_login_asked_for_is_read_from_the_socket(served: tuple[Path, Address]) -> None:
    path, _ = served
    done = console(path, f"login\nchief\n{PASSWORD}\nstatus\n")
    assert "Login: Password: logged in as chief" in done.stdout
    assert "admin: chief" in done.stdout


def test_two_consoles_have_their_own_login(served: tuple[Path, Address]) -> None:
    path, _ = served
    first = socket.socket(socket.AF_UNIX)
    first.connect(str(path))
    reader = first.makefile("r", encoding="utf-8")
    reader.readline()  # the greeting
    first.sendall(f"login chief\n{PASSWORD}\n".encode())
    assert reader.readline().endswith("logged in as chief\n")
    try:
        done = console(path, "sanctions\n")
        assert "log in first" in done.stdout
    finally:
        first.close()


def test_the_socket_is_for_the_services_user_and_group_only(
    served: tuple[Path, Address],
) -> None:
    path, _ = served
    assert stat.S_IMODE(path.stat().st_mode) == 0o660


def test_a_stale_socket_file_is_replaced_a_live_one_is_not(tmp_path: Path) -> None:
    path = tmp_path / "admin.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: a server that died
    process, _address = start(tmp_path / "data", "--admin-socket", str(path))
    try:
        assert "GuiGui admin console" in console(path, "quit\n").stdout
        second = subprocess.run(
            [
                sys.executable,
                str(ROOT / "run_server.py"),
                "--port",
                "0",
                "--headless",
                "--data-dir",
                str(tmp_path / "other"),
                "--admin-socket",
                str(path),
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 1
        assert f"another server already listens on {path}" in second.stderr
        assert "Traceback" not in second.stderr
        assert "GuiGui admin console" in console(path, "quit\n").stdout  # still the first's
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)


def test_without_a_server_the_console_says_what_to_check(tmp_path: Path) -> None:
    done = console(tmp_path / "nothing.sock", "status\n")
    assert done.returncode == 1
    assert "cannot reach the server's admin console" in done.stderr
    assert "--admin-socket" in done.stderr and "Traceback" not in done.stderr


def test_the_socket_path_may_come_from_the_environment(served: tuple[Path, Address]) -> None:
    path, _ = served
    done = subprocess.run(
        [sys.executable, str(ROOT / "run_server.py"), "console"],
        input="quit\n",
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "GUIGUI_ADMIN_SOCKET": str(path)},
    )
    assert done.returncode == 0 and "GuiGui admin console" in done.stdout
