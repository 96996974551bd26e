"""The command-line client end to end, against a real server."""

from __future__ import annotations

import io
import json
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from guigui.client.cli import main
from guigui.client.connection import ChatConnection
from tests.conftest import RunningServer

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(
    running_server: RunningServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Run:
    """``cli("alice", "say", "Général", "hi")``: run a command as that user's terminal."""

    def run(user: str, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        session = tmp_path / f"{user}.json"
        status = main(
            ["--host", running_server.host, "--port", str(running_server.port),
             "--session-file", str(session), *argv]
        )  # fmt: skip
        out, err = capsys.readouterr()
        return status, out, err

    return run


def register_and_login(cli: Run, login: str) -> None:
    status, out, err = cli(
        login, "register", login, "--first-name", "Ada", "--last-name", "Lovelace",
        "--email", f"{login}@example.org", "--password-stdin", stdin="correct horse\n",
    )  # fmt: skip
    assert status == 0, err
    assert f"registered {login}" in out
    status, out, err = cli(login, "login", login, "--password-stdin", stdin="correct horse\n")
    assert status == 0, err


def test_the_walk_through_of_the_readme(cli: Run, tmp_path: Path) -> None:
    register_and_login(cli, "alice")
    assert stat.S_IMODE((tmp_path / "alice.json").stat().st_mode) == 0o600
    status, out, _ = cli("alice", "rooms")
    assert status == 0
    assert out.splitlines()[0].split() == ["Général", "open", "member"]
    status, out, _ = cli("alice", "join", "Blabla")
    assert (status, out.strip()) == (0, "joined Blabla")
    status, out, _ = cli("alice", "join", "Informatique")
    assert status == 0 and "pending" in out
    status, out, _ = cli("alice", "rooms")
    assert "Informatique   approval    pending" in out
    for n in range(5):
        assert cli("alice", "say", "Général", f"message {n}", "😀")[0] == 0
    status, out, _ = cli("alice", "history", "Général", "--limit", "2")
    lines = out.splitlines()
    assert lines[0].endswith("alice: message 3 😀") and lines[1].endswith("alice: message 4 😀")
    before = lines[2].split()[-1]
    assert lines[2] == f"older messages: --before {before}"
    status, out, _ = cli("alice", "history", "Général", "--limit", "10", "--before", before)
    assert [line.split(": ", 1)[1] for line in out.splitlines()] == [
        "message 0 😀", "message 1 😀", "message 2 😀",
    ]  # fmt: skip
    register_and_login(cli, "bob")
    status, out, _ = cli("alice", "dm", "bob", "On déjeune ?")
    assert status == 0 and "(dm alice→bob) alice: On déjeune ?" in out
    status, out, _ = cli("bob", "history", "--with", "alice")
    assert "On déjeune ?" in out
    status, out, _ = cli("bob", "who")
    assert out.split() == ["bob", "online"]


def test_json_output(cli: Run) -> None:
    register_and_login(cli, "alice")
    status, out, _ = cli("alice", "--json", "say", "Général", "hello")
    assert status == 0
    printed = json.loads(out)
    assert printed["event"] == "message" and printed["text"] == "hello"
    assert printed["from"] == "alice" and printed["room"] == "Général"


def test_errors_are_one_line_with_the_code(cli: Run) -> None:
    register_and_login(cli, "alice")
    status, _, err = cli("alice", "say", "Nowhere", "hi")
    assert status == 1 and err.strip().startswith("error: no_such_room:")
    status, _, err = cli("eve", "login", "alice", "--password-stdin", stdin="wrong password\n")
    assert status == 1 and "bad_credentials" in err
    status, _, err = cli("nobody", "rooms")
    assert status == 1 and "not logged in: run login first" in err
    status, _, err = cli("alice", "history")
    assert status == 2


def test_logout_forgets_the_session(cli: Run, tmp_path: Path) -> None:
    register_and_login(cli, "alice")
    token = json.loads((tmp_path / "alice.json").read_text())["token"]
    assert cli("alice", "logout")[0] == 0
    assert not (tmp_path / "alice.json").exists()
    (tmp_path / "alice.json").write_text(json.dumps({"token": token}))
    status, _, err = cli("alice", "rooms")
    assert status == 1 and "bad_token" in err


def test_unreachable_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse\n"))
    status = main(["--host", "127.0.0.1", "--port", "1", "--session-file", str(tmp_path / "s"),
                   "register", "x", "--first-name", "a", "--last-name", "b", "--email", "a@b.fr",
                   "--password-stdin"])  # fmt: skip
    assert status == 3
    assert "cannot reach the server" in capsys.readouterr().err


def test_tail_prints_live_events(
    cli: Run,
    running_server: RunningServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_and_login(cli, "alice")
    register_and_login(cli, "bob")
    argv = ["--host", running_server.host, "--port", str(running_server.port),
            "--session-file", str(tmp_path / "bob.json"), "--json",
            "tail", "--count", "3", "--timeout", "20"]  # fmt: skip
    results: list[int] = []
    while running_server.server.sessions:  # the login commands' sessions end first
        time.sleep(0.02)
    tail = threading.Thread(target=lambda: results.append(main(argv)))
    tail.start()
    while not running_server.server.sessions:  # then the tail's session opens
        time.sleep(0.02)
    sender = ChatConnection.connect(running_server.host, running_server.port)
    sender.login("alice", "correct horse")
    sender.say("Général", "live one")
    sender.set_status("busy")
    tail.join(25)
    sender.close()
    assert results == [0]
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [event["event"] for event in events] == ["presence", "message", "presence"]
    assert events[1]["text"] == "live one"
    assert events[2] == {"event": "presence", "login": "alice", "status": "busy"}


HOSTILE_TEXT = "red \x1b[31m then \x9b2J and gpj.exe\u202e done"
SHOWN_TEXT = "red \\x1b[31m then \\x9b2J and gpj.exe\\u202e done"
RAW_CONTROLS = ("\x1b", "\x9b", "\u202e")


def test_history_shows_control_characters_escaped(cli: Run) -> None:
    register_and_login(cli, "alice")
    status, out, _ = cli("alice", "say", "Général", HOSTILE_TEXT)
    assert status == 0 and out.rstrip().endswith(f"alice: {SHOWN_TEXT}")
    status, out, _ = cli("alice", "history", "Général")
    assert status == 0 and out.rstrip().endswith(f"alice: {SHOWN_TEXT}")
    assert not any(control in out for control in RAW_CONTROLS)
    status, out, _ = cli("alice", "--json", "history", "Général")
    assert status == 0 and not any(control in out for control in RAW_CONTROLS)
    assert json.loads(out)["text"] == HOSTILE_TEXT
    status, _, err = cli("alice", "join", "Nowhere\x1b]0;pwned\x07\u202e")
    assert status == 1 and not any(control in err for control in (*RAW_CONTROLS, "\x07"))


@pytest.mark.parametrize("as_json", [False, True])
def test_tail_shows_control_characters_escaped(
    cli: Run,
    running_server: RunningServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    as_json: bool,
) -> None:
    register_and_login(cli, "alice")
    register_and_login(cli, "bob")
    argv = ["--host", running_server.host, "--port", str(running_server.port),
            "--session-file", str(tmp_path / "bob.json"), *(["--json"] if as_json else []),
            "tail", "--count", "2", "--timeout", "20"]  # fmt: skip
    results: list[int] = []
    while running_server.server.sessions:  # the login commands' sessions end first
        time.sleep(0.02)
    tail = threading.Thread(target=lambda: results.append(main(argv)))
    tail.start()
    while not running_server.server.sessions:  # then the tail's session opens
        time.sleep(0.02)
    sender = ChatConnection.connect(running_server.host, running_server.port)
    sender.login("alice", "correct horse")
    sender.say("Général", HOSTILE_TEXT)
    tail.join(25)
    sender.close()
    assert results == [0]
    out = capsys.readouterr().out
    assert not any(control in out for control in RAW_CONTROLS)
    last = out.splitlines()[-1]
    if as_json:
        assert json.loads(last)["text"] == HOSTILE_TEXT
    else:
        assert last.endswith(f"alice: {SHOWN_TEXT}")


def test_without_a_terminal_nor_password_stdin_it_says_how_to_give_the_password(
    cli: Run,
) -> None:
    for command in (["login", "alice"], ["register", "alice", "--first-name", "A"]):
        if command[0] == "register":
            command += ["--last-name", "B", "--email", "alice@example.org"]
        status, _, err = cli("alice", *command, stdin="")
        assert status == 2
        assert "--password-stdin" in err and "Traceback" not in err
