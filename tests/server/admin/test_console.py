"""The admin console, driven through the standard input of a real ``run_server.py``."""

from __future__ import annotations

import json
import os
import queue
import re
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from guigui.common import i18n
from guigui.common.protocol import MessageType
from guigui.server.admin.console import AdminConsole, help_text
from tests.support.wire import Address, WireClient

ROOT = Path(__file__).resolve().parents[3]
ADMIN_PASSWORD = "admin password 1"


class ServerProcess:
    """``run_server.py --headless``: commands in on stdin, console lines out on stdout."""

    def __init__(self, data_dir: Path, database_url: str, language: str = "en") -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("DISPLAY", None)
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "run_server.py"), "--headless", "--port", "0",
             "--bcrypt-cost", "4", "--data-dir", str(data_dir), "--db", database_url,
             "--language", language],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        threading.Thread(
            target=self._pump, args=(self.process.stdout, self.lines), daemon=True
        ).start()
        self.address = self._wait_listening()

    @staticmethod
    def _pump(stream: object, into: queue.Queue[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            into.put(line.rstrip("\n"))

    def _wait_listening(self) -> Address:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            found = re.search(r"listening on ([\d.]+):(\d+)", line)
            if found:
                threading.Thread(target=self._drain_stderr, daemon=True).start()
                return Address(found.group(1), int(found.group(2)))
        raise AssertionError("the server did not start:\n" + "".join(self.log))

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)

    def send(self, line: str) -> None:
        """Type a line into the console."""
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def expect(self, pattern: str, timeout: float = 10.0) -> str:
        """The next console line matching ``pattern`` (a regex)."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; saw {seen}") from None
            seen.append(line)
            if re.search(pattern, line):
                return line

    def command(self, line: str, pattern: str) -> str:
        """Type a command and wait for its answer."""
        self.send(line)
        return self.expect(pattern)

    def login(self) -> None:
        """Log the console in."""
        self.send("login chief")
        self.send(ADMIN_PASSWORD)
        self.expect("logged in as chief")

    def stop(self) -> None:
        """End the process."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


@pytest.fixture
def admin_server(tmp_path: Path, database_url: str) -> Iterator[ServerProcess]:
    """A headless server with an admin account ``chief``."""
    created = subprocess.run(
        [sys.executable, str(ROOT / "run_server.py"), "create-admin", "chief", "--password-stdin",
         "--bcrypt-cost", "4", "--data-dir", str(tmp_path), "--db", database_url],
        input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    server = ServerProcess(tmp_path, database_url)
    yield server
    server.stop()


def user(address: Address, login: str, register: bool = True) -> WireClient:
    client = WireClient(address)
    client.hello()
    if register:
        client.register(login)
    client.login(login)
    return client


def test_every_command_waits_for_the_admin_login(admin_server: ServerProcess) -> None:
    for command in ("users", "rooms", "requests", "sanctions", "audit", "kick bob 1m", "stop"):
        admin_server.command(command, "error: log in first")
    admin_server.command("status", r"listening on 127\.0\.0\.1:\d+.*admin: \(none\)")
    admin_server.send("login chief")
    admin_server.send("not the password")
    admin_server.expect("error: wrong admin login or password")
    admin_server.login()
    admin_server.command("users", r"^0 session\(s\)")
    admin_server.command("frobnicate", "error: unknown command")
    admin_server.command("logout", "logged out")
    admin_server.command("users", "error: log in first")


def test_failed_admin_logins_are_throttled(admin_server: ServerProcess) -> None:
    for _ in range(3):
        admin_server.send("login chief")
        admin_server.send("wrong password")
        admin_server.expect("error: wrong admin login or password")
    admin_server.send("login chief")
    admin_server.send(ADMIN_PASSWORD)
    admin_server.expect("error: too many failed logins: try again in")


def test_accept_and_refuse_reach_the_client_live(admin_server: ServerProcess) -> None:
    alice = user(admin_server.address, "alice")
    it = alice.ok(MessageType.JOIN, room="Informatique")["request_id"]
    marketing = alice.ok(MessageType.JOIN, room="Marketing")["request_id"]
    admin_server.login()
    admin_server.command("requests", rf"#{it} alice asks for Informatique")
    admin_server.command(f"accept {it}", f"accepted #{it}: alice for Informatique")
    assert alice.next_event(MessageType.ACCESS_DECISION) == {
        "room": "Informatique", "granted": True, "request_id": it,
    }  # fmt: skip
    admin_server.command(f"refuse {marketing}", f"refused #{marketing}")
    assert alice.next_event(MessageType.ACCESS_DECISION)["granted"] is False
    admin_server.command("requests", r"^0 pending request")
    admin_server.command("rooms", r"^Informatique \(approval\): alice\*")
    admin_server.command("audit", r"chief refuse alice")
    alice.close()


def test_kick_by_login_closes_sessions_and_refuses_logins_until_it_ends(
    admin_server: ServerProcess,
) -> None:
    alice = user(admin_server.address, "alice")
    admin_server.login()
    admin_server.command("users", r"^alice\s+127\.0\.0\.1")
    admin_server.command(
        "kick alice 2s calm down", r"^kicked alice \(and IP 127\.0\.0\.1\) for 2 s$"
    )
    admin_server.expect(
        r"^  #\d+ kick alice 127\.0\.0\.1 until \d{4}-\d\d-\d\d [\d:]{8} \(in \d s\)"
    )
    frames = alice.expect_closed()
    assert any(f.type == MessageType.SANCTIONED and f.body["reason"] == "calm down" for f in frames)
    again = WireClient(admin_server.address)
    again.hello()
    refused = again.error(MessageType.LOGIN, login="alice", password="correct horse")
    assert refused["code"] == "kicked" and refused["until"]
    time.sleep(2.2)
    again.login("alice")  # the kick is over
    again.close()


def test_ban_by_ip_refuses_at_connect_until_unbanned(admin_server: ServerProcess) -> None:
    alice = user(admin_server.address, "alice")
    admin_server.login()
    admin_server.command(
        "ban 127.0.0.1 permanent flooding", r"^banned alice \(IP 127\.0\.0\.1\) permanently$"
    )
    admin_server.expect(r"^  #\d+ ban 127\.0\.0\.1 permanently, by chief: flooding$")
    assert any(f.type == MessageType.SANCTIONED for f in alice.expect_closed())
    refused = WireClient(admin_server.address).expect_closed()
    assert refused[0].body["code"] == "banned" and refused[0].body["reason"] == "flooding"
    admin_server.command("sanctions", r"^1 sanction\(s\) in force")
    admin_server.command("unban 127.0.0.1", "lifted 1 ban")
    user(admin_server.address, "alice", register=False).close()


def test_stop_counts_down_to_every_client(admin_server: ServerProcess) -> None:
    alice = user(admin_server.address, "alice")
    admin_server.login()
    admin_server.command("stop 3 maintenance", "stopping in 3 s")
    countdown = [alice.next_event(MessageType.SHUTDOWN, timeout=10) for _ in range(4)]
    assert [event["in_seconds"] for event in countdown] == [3, 2, 1, 0]
    assert {event["reason"] for event in countdown} == {"maintenance"}
    alice.expect_closed()
    assert admin_server.process.wait(15) == 0


def test_sanctions_survive_a_restart(
    tmp_path: Path, admin_server: ServerProcess, database_url: str
) -> None:
    user(admin_server.address, "mallory").close()
    admin_server.login()
    admin_server.command(
        "ban mallory 1h spam --login-only", r"^banned mallory \(login only\) for 1 h$"
    )
    admin_server.stop()
    restarted = ServerProcess(tmp_path, database_url)
    try:
        client = WireClient(restarted.address)
        client.hello()
        refused = client.error(MessageType.LOGIN, login="mallory", password="correct horse")
        assert refused["code"] == "banned" and refused["reason"] == "spam"
        client.close()
    finally:
        restarted.stop()


def test_kick_by_ip_and_ban_by_login_close_live_sessions(admin_server: ServerProcess) -> None:
    alice = user(admin_server.address, "alice")
    admin_server.login()
    admin_server.command(
        "kick 127.0.0.1 1s short break", r"^kicked alice \(IP 127\.0\.0\.1\) for 1 s$"
    )
    assert any(f.type == MessageType.SANCTIONED for f in alice.expect_closed())
    time.sleep(1.2)
    bob = user(admin_server.address, "bob")  # the IP kick is over
    admin_server.command("ban bob 1h spam", r"^banned bob \(and IP 127\.0\.0\.1\) for 1 h$")
    sanctioned = [f.body for f in bob.expect_closed() if f.type == MessageType.SANCTIONED]
    assert sanctioned == [{"kind": "ban", "until": sanctioned[0]["until"], "reason": "spam"}]
    admin_server.command("unban bob", "lifted 1 ban")
    admin_server.command("sanctions", r"^0 sanction\(s\) in force")
    user(admin_server.address, "bob", register=False).close()


def test_messages_by_login_or_by_ip_are_listed_escaped_and_audited(
    admin_server: ServerProcess,
) -> None:
    admin_server.command("messages --login alice", "error: log in first")
    alice, bob = user(admin_server.address, "alice"), user(admin_server.address, "bob")
    alice.ok(MessageType.SAY, room="Général", text="hello")
    alice.ok(MessageType.DIRECT, to="bob", text="\x1b[31mred\x1b[0m\nsecond line\u202e")
    bob.ok(MessageType.SAY, room="Général", text="hi alice")
    admin_server.login()
    admin_server.send("messages --login alice")
    direct = admin_server.expect(r"^#\d+ ")
    assert direct.endswith(r" to bob alice 127.0.0.1: \x1b[31mred\x1b[0m\nsecond line\u202e")
    assert "\x1b" not in direct and "\u202e" not in direct
    admin_server.expect(r"^#\d+ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d Général alice 127\.0\.0\.1: hello$")
    admin_server.expect(r"^2 message\(s\) by login alice$")
    admin_server.command(
        "messages --ip 127.0.0.1 --room général --limit 1", "Général bob 127.0.0.1: hi alice$"
    )
    admin_server.expect(r"^1 message\(s\) from ip 127\.0\.0\.1$")
    admin_server.command("messages --ip ::ffff:10.0.0.1", r"^0 message\(s\) from ip ::ffff:")
    for bad in ("messages", "messages --login alice --ip 127.0.0.1", "messages --room Général"):
        admin_server.command(bad, "error: give --login or --ip, not both and not neither")
    admin_server.command("messages --login alice --limit lots", "error: --limit takes a number")
    admin_server.command("messages --login", r"error: usage: messages --login LOGIN \| --ip")
    admin_server.command("messages --ip 300.1.2.3", "error: '300.1.2.3' is not an IP address")
    admin_server.command("messages --login nobody", "error: no user named 'nobody'")
    admin_server.command("messages --login alice --room Cuisine", "error: no room named 'Cuisine'")
    admin_server.send("audit 3")
    admin_server.expect(r"chief messages ip ::ffff:a00:1 any room, limit 50$")
    admin_server.expect(r"chief messages ip 127\.0\.0\.1 room Général, limit 1$")
    admin_server.expect(r"chief messages login alice any room, limit 50$")
    alice.close()
    bob.close()


def test_dry_run_names_everyone_the_ip_sanction_would_hit_then_feedback_names_them(
    admin_server: ServerProcess,
) -> None:
    """Issue 13, item 4: a kick by login + IP also hits the others on that IP; say so."""
    user(admin_server.address, "dave").close()  # known from this IP, offline now
    bob, carol = user(admin_server.address, "bob"), user(admin_server.address, "carol")
    admin_server.login()
    admin_server.command("kick bob 5m --dry-run", r"^bob is connected from 127\.0\.0\.1\.$")
    admin_server.expect(r"^Also logged in on that IP, they are disconnected too: carol\.$")
    admin_server.expect(r"could not log in from it: dave\.$")
    admin_server.expect(r"^Nothing applied; add --login-only to sanction bob alone\.$")
    admin_server.command("sanctions", r"^0 sanction\(s\) in force")
    admin_server.command(
        "kick bob 5m flood", r"^kicked bob and carol \(same IP 127\.0\.0\.1\) for 5 min$"
    )
    bob.expect_closed()
    carol.expect_closed()


def test_the_console_speaks_french(tmp_path: Path, database_url: str) -> None:
    created = subprocess.run(
        [sys.executable, str(ROOT / "run_server.py"), "create-admin", "chief", "--password-stdin",
         "--bcrypt-cost", "4", "--data-dir", str(tmp_path), "--db", database_url],
        input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    server = ServerProcess(tmp_path, database_url, language="fr")
    try:
        server.expect("Console d’administration GuiGui")
        server.command("users", "erreur : connectez-vous d’abord")
        server.send("login chief")
        server.send(ADMIN_PASSWORD)
        server.expect("connecté en tant que chief")
        alice = user(server.address, "alice")
        server.command("users", r"^alice\s+127\.0\.0\.1\s+depuis le \d\d/\d\d/\d{4} [\d:]{8}$")
        server.command(
            "kick alice 90s bruit", r"^expulsion de alice \(et l’IP 127\.0\.0\.1\) pour 1 min 30 s$"
        )
        server.expect(
            r"^  n° \d+ expulsion alice 127\.0\.0\.1 jusqu’au \d\d/\d\d/\d{4} [\d:]{8}"
            r" \(dans 1 min \d\d s\), par chief : bruit$"
        )
        alice.expect_closed()
        server.command("help", r"^login \[IDENTIFIANT\]\s+se connecter en administrateur")
    finally:
        server.stop()


def test_export_then_erase_an_account(admin_server: ServerProcess, tmp_path: Path) -> None:
    """GDPR: the admin exports what is kept about a user, then deletes the account."""
    admin_server.command("export alice", "error: log in first")
    alice, bob = user(admin_server.address, "alice"), user(admin_server.address, "bob")
    alice.ok(MessageType.SAY, room="Général", text="mes données")
    admin_server.login()
    admin_server.command("export nobody", "error: .*nobody")
    target = tmp_path / "alice.json"
    admin_server.command(f"export alice {target}", r"alice's data written to .*\(1 messages\)$")
    exported = json.loads(target.read_text(encoding="utf-8"))
    assert exported["messages_sent"][0]["text"] == "mes données"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    admin_server.send("export alice")
    admin_server.expect(r'^  "user": \{$')
    admin_server.command("erase alice", "error: usage: erase LOGIN --yes")
    admin_server.command("erase alice --yes", r"^alice erased: their messages are kept as deleted#")
    alice.expect_closed()
    history = bob.ok(MessageType.HISTORY, room="Général")["messages"]
    assert history[0]["from"].startswith("deleted#")
    admin_server.send("audit 2")
    admin_server.expect(r"chief erase alice deleted#\d+$")
    admin_server.expect(r"chief export alice personal data$")
    bob.close()


def test_the_command_table_and_help_list_the_same_commands() -> None:
    i18n.set_language("en")
    listed = {
        part.split()[0]
        for line in help_text().splitlines()
        if line and not line[0].isspace()
        for part in line.split(" | ")
        if not part.startswith("-")  # "--login LOGIN | --ip ADDRESS": options, not commands
    }
    console = AdminConsole(api=None, lines=iter(()), output=sys.stdout)  # type: ignore[arg-type]
    assert set(console.commands) | {"quit"} == listed
