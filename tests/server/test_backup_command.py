"""``run_server.py backup`` and ``restore`` as a technician runs them: real processes."""

from __future__ import annotations

import gzip
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from guigui.common.protocol import MessageType
from tests.server.test_run_server import ROOT, start
from tests.support.databases import fresh_database
from tests.support.wire import WireClient


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """``run_server.py ARGS``, as from a shell or cron (no terminal)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run_server.py"), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(timeout=15) == 0
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("target", ["sqlite", "mysql"])
def test_a_backup_taken_while_serving_restores_into_a_server_users_can_log_in_to(
    tmp_path: Path, target: str
) -> None:
    process, address = start(tmp_path / "live")
    try:
        alice, bob = WireClient(address), WireClient(address)
        for client, login in ((alice, "alice"), (bob, "bob")):
            client.hello()
            client.register(login, password=f"{login}'s old password")
            client.login(login, password=f"{login}'s old password")
        alice.ok(MessageType.SAY, room="Général", text="avant la sauvegarde")
        alice.ok(MessageType.DIRECT, to="bob", text="en privé")
        done = run(
            "backup", str(tmp_path / "guigui.backup.gz"), "--data-dir", str(tmp_path / "live")
        )
        assert done.returncode == 0, done.stderr
        assert "backup written" in done.stdout and "messages 2" in done.stdout
        alice.ok(MessageType.SAY, room="Général", text="après la sauvegarde")
    finally:
        stop(process)
    with fresh_database(target, tmp_path / "restored") as url:
        done = run("restore", str(tmp_path / "guigui.backup.gz"), "--db", url)
        assert done.returncode == 0, done.stderr
        assert "restored" in done.stdout and "users 2" in done.stdout
        process, address = start(tmp_path / "unused", "--db", url)
        try:
            bob = WireClient(address)
            bob.hello()
            assert bob.error(MessageType.LOGIN, login="bob", password="wrong password")
            bob.login("bob", password="bob's old password")
            room = bob.ok(MessageType.HISTORY, room="Général")["messages"]
            assert [m["text"] for m in room] == ["avant la sauvegarde"]
            direct = bob.ok(MessageType.HISTORY, **{"with": "alice"})["messages"]
            assert [m["text"] for m in direct] == ["en privé"]
            carol = WireClient(address)
            carol.hello()
            carol.register("carol")
            carol.login("carol")
            said = carol.ok(MessageType.SAY, room="Général", text="après la restauration")
            assert said["message"]["id"] > room[-1]["id"]
        finally:
            stop(process)


def test_restore_refuses_a_database_with_data(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, str(ROOT / "run_server.py"), "create-admin", "chief", "--password-stdin",
         "--data-dir", data, "--bcrypt-cost", "4"],
        input="correct horse\n", capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert run("backup", str(tmp_path / "b.gz"), "--data-dir", data).returncode == 0
    refused = run("restore", str(tmp_path / "b.gz"), "--data-dir", data)
    assert refused.returncode == 1 and "admins: 1 rows" in refused.stderr
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    forced = run("restore", str(tmp_path / "b.gz"), "--data-dir", data, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "replaced what the database held (rows: admins 1, rooms 5)" in forced.stdout


def test_a_truncated_backup_is_refused_before_the_database_is_touched(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run("init-db", "--data-dir", str(data)).returncode == 0
    assert run("backup", str(tmp_path / "b.gz"), "--data-dir", str(data)).returncode == 0
    lines = gzip.decompress((tmp_path / "b.gz").read_bytes()).splitlines(keepends=True)
    (tmp_path / "b.gz").write_bytes(gzip.compress(b"".join(lines[:-2])))
    done = run("restore", str(tmp_path / "b.gz"), "--data-dir", str(tmp_path / "new"))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"line {len(lines) - 1}: the file ends without its end line" in done.stderr
    assert not (tmp_path / "new").exists()  # no empty database left behind


def test_backup_of_a_missing_database_fails_clearly(tmp_path: Path) -> None:
    done = run("backup", str(tmp_path / "b.gz"), "--data-dir", str(tmp_path / "nothing"))
    assert done.returncode == 1 and "no database at" in done.stderr
    assert not (tmp_path / "b.gz").exists() and not (tmp_path / "nothing").exists()
