"""``run_server.py`` as a user runs it: a real process, real signals."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from guigui.common.file_frames import encode_chunk
from guigui.common.protocol import MessageType
from guigui.server.store import default_database_url, open_store
from tests.support.display import display
from tests.support.wire import Address, WireClient

__all__ = ["display"]  # the fixture, used by name

ROOT = Path(__file__).resolve().parents[2]


def start(
    data_dir: Path, *args: str, headless: bool = True
) -> tuple[subprocess.Popen[str], Address]:
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "run_server.py"),
            "--port",
            "0",
            "--bcrypt-cost",
            "4",
            "--data-dir",
            str(data_dir),
            *(["--headless"] if headless else []),
            *args,
        ],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    for line in process.stderr:
        found = re.search(r"listening on ([\d.]+):(\d+)", line)
        if found:
            return process, Address(found.group(1), int(found.group(2)))
    raise AssertionError(f"the server did not start (exit {process.wait()})")


def rest_of_log(process: subprocess.Popen[str]) -> str:
    """What the server logged after its "listening" line, once it has exited."""
    assert process.stderr is not None
    return process.stderr.read()


def test_the_server_logs_its_address_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    process, address = start(tmp_path / "data")
    try:
        client = WireClient(address)
        client.hello()
        client.register("alice")
        client.login("alice")
        sent = client.ok(MessageType.SAY, room="Général", text="persisted")["message"]
        process.send_signal(signal.SIGTERM)
        frames = client.expect_closed()
        assert frames[-1].type == MessageType.SHUTDOWN
        assert process.wait(timeout=15) == 0
    finally:
        process.kill()
        process.wait()
    assert (tmp_path / "data" / "guigui.db").exists()
    store = open_store(default_database_url(tmp_path / "data"))
    try:
        user = store.load_snapshot(0).users[0]
        history = store.room_history(1, None, 10)
        assert [m.text for m in history] == ["persisted"] and history[0].id == sent["id"]
        assert user.login == "alice" and user.password_hash.startswith(b"$2")
    finally:
        store.close()


def test_sigint_stops_it_too(tmp_path: Path) -> None:
    process, _ = start(tmp_path / "data")
    try:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        process.kill()  # never leave a server behind, even when the test fails
        process.wait()
    log = rest_of_log(process)
    assert "signal 2: stopping" in log and "server stopped" in log
    assert "Traceback" not in log and "KeyboardInterrupt" not in log


def test_a_burst_of_signals_stops_it_once_and_cleanly(tmp_path: Path) -> None:
    process, address = start(tmp_path / "data")
    try:
        client = WireClient(address)
        client.hello()
        for _ in range(30):
            process.send_signal(signal.SIGTERM)
        assert client.expect_closed()[-1].type == MessageType.SHUTDOWN
        assert process.wait(timeout=15) == 0
    finally:
        process.kill()
        process.wait()
    log = rest_of_log(process)
    assert log.count("server stopped") == 1 and "Traceback" not in log


def test_sigterm_stops_it_with_the_admin_panel_open(tmp_path: Path, display: str) -> None:
    """With the panel, Tk owns the main thread; the signal still stops everything."""
    process, address = start(tmp_path / "data", headless=False)
    try:
        client = WireClient(address)
        client.hello()
        process.send_signal(signal.SIGTERM)
        assert client.expect_closed()[-1].type == MessageType.SHUTDOWN
        assert process.wait(timeout=15) == 0
    finally:
        process.kill()
        process.wait()
    assert "Traceback" not in rest_of_log(process)


def run_without_a_terminal(*args: str) -> subprocess.CompletedProcess[str]:
    """``run_server.py ARGS`` with standard input on /dev/null, as from a service or cron."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run_server.py"), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )


def test_init_db_without_a_terminal_says_to_use_app_password_stdin(tmp_path: Path) -> None:
    # Nothing listens there: the password is needed before any connection.
    done = run_without_a_terminal("init-db", "--db", "mysql://root@127.0.0.1:9/sae_r309")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "--app-password-stdin" in done.stderr and done.stderr.startswith("run_server.py init-db")


def test_create_admin_without_a_terminal_says_to_use_password_stdin(tmp_path: Path) -> None:
    done = run_without_a_terminal("create-admin", "chief", "--data-dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "--password-stdin" in done.stderr
    assert not (tmp_path / "guigui.db").exists()  # nothing was created


def test_create_admin_reads_the_password_from_stdin(tmp_path: Path) -> None:
    command = [
        sys.executable,
        str(ROOT / "run_server.py"),
        "create-admin",
        "chief",
        "--password-stdin",
        "--bcrypt-cost",
        "4",
        "--data-dir",
        str(tmp_path),
    ]
    done = subprocess.run(
        command, input="a long secret\n", capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    again = subprocess.run(
        command, input="a long secret\n", capture_output=True, text=True, cwd=ROOT
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    short = subprocess.run(
        [*command[:3], "other", *command[4:]],
        input="short\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert short.returncode == 1 and "password" in short.stderr
    store = open_store(default_database_url(tmp_path))
    try:
        admin = store.find_admin("CHIEF")
        assert admin is not None and admin.password_hash.startswith(b"$2")
        assert b"a long secret" not in admin.password_hash
    finally:
        store.close()


def test_storage_options_count_before_and_after_a_command(tmp_path: Path) -> None:
    """``--data-dir D create-admin`` and ``create-admin --data-dir D`` both use D."""
    for name, arguments in (
        ("before", ["--data-dir", str(tmp_path / "before"), "create-admin", "chief"]),
        ("after", ["create-admin", "chief", "--data-dir", str(tmp_path / "after")]),
    ):
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "run_server.py"),
                *arguments,
                "--password-stdin",
                "--bcrypt-cost",
                "4",
            ],
            input="a long admin password\n",
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=30,
            check=True,
        )
        assert "created" in done.stdout
        store = open_store(default_database_url(tmp_path / name))
        try:
            assert store.find_admin("chief") is not None
        finally:
            store.close()
    assert not (tmp_path / "data").exists(), "the default data directory was used"


def test_file_limits_are_flags_and_content_goes_under_the_data_dir(tmp_path: Path) -> None:
    process, address = start(
        tmp_path / "data", "--max-file-mb", "1", "--file-quota-mb", "0.5", "--max-uploads", "1"
    )
    try:
        client = WireClient(address)
        assert client.hello()["max_file"] == 1024 * 1024
        client.register("alice")
        client.login("alice")
        data = b"hello, files"
        offer = {"room": "Général", "name": "a.txt", "type": "text/plain"}
        sha = hashlib.sha256(data).hexdigest()
        over = client.error(MessageType.FILE_OFFER, **offer, size=600_000, sha256=sha)
        assert over["code"] == "quota_exceeded"
        offered = client.ok(MessageType.FILE_OFFER, **offer, size=len(data), sha256=sha)
        second = client.error(MessageType.FILE_OFFER, **offer, size=3, sha256="0" * 64)
        assert (second["code"], second["reason"]) == ("quota_exceeded", "too_many_uploads")
        client.send_raw(encode_chunk(MessageType.FILE_CHUNK, offered["transfer"], 0, data))
        client.ok(MessageType.FILE_SEND, transfer=offered["transfer"])
        client.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    assert (tmp_path / "data" / "files" / sha[:2] / sha[2:4] / sha).read_bytes() == data
