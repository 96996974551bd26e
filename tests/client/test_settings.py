"""The client's settings: presets a technician sets, and the user's own choices over them.

What a sysadmin expects (docs/DEPLOYMENT.md): the preset is the default of a
new user, a user who chose another server keeps it, the preset never lands in
the user's file (so changing the preset reaches everyone else), a lock wins
over everything, and a bad preset is a one-line message, not a traceback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from guigui.client.presets import (
    Preset,
    PresetError,
    parse_preset,
    parse_server,
    read_presets,
)
from guigui.client.settings import ClientSettings
from guigui.common.protocol import DEFAULT_PORT

ROOT = Path(__file__).resolve().parents[2]
COMPANY = Preset("/etc/guigui-chat/client.json", {"host": "chat.example.com", "port": 7000})


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_new_user_gets_the_preset_server(tmp_path: Path) -> None:
    settings = ClientSettings.load(tmp_path / "client.json", presets=[COMPANY])
    assert (settings.host, settings.port) == ("chat.example.com", 7000)
    assert settings.origins["host"] == COMPANY.source
    assert settings.origins["theme"] == "default"


def test_the_preset_is_not_copied_into_the_users_file(tmp_path: Path) -> None:
    """A user who never chose a server follows the preset when the technician changes it."""
    user_file = tmp_path / "client.json"
    settings = ClientSettings.load(user_file, presets=[COMPANY])
    settings.last_login = "alice"
    settings.theme = "dark"
    settings.save(user_file)
    saved = json.loads(user_file.read_text())
    assert "host" not in saved and "port" not in saved
    assert saved["last_login"] == "alice" and saved["theme"] == "dark"

    moved = Preset(COMPANY.source, {"host": "chat2.example.com"})
    again = ClientSettings.load(user_file, presets=[moved])
    assert (again.host, again.port, again.theme) == ("chat2.example.com", DEFAULT_PORT, "dark")


def test_a_user_who_chose_a_server_keeps_it(tmp_path: Path) -> None:
    user_file = tmp_path / "client.json"
    settings = ClientSettings.load(user_file, presets=[COMPANY])
    settings.host = "home.example.org"
    settings.save(user_file)
    again = ClientSettings.load(user_file, presets=[COMPANY])
    assert (again.host, again.port) == ("home.example.org", 7000)
    assert again.origins["host"] == again.origins["port"] == "your settings"
    assert json.loads(user_file.read_text())["port"] == 7000  # the address is one choice


def test_a_file_of_an_older_client_does_not_hide_the_preset(tmp_path: Path) -> None:
    """Older clients wrote every setting, defaults included: those were never chosen."""
    old = {"host": "127.0.0.1", "port": DEFAULT_PORT, "tls": False, "cafile": "", "theme": "dark"}
    user_file = write(tmp_path / "client.json", {**old, "language": "auto", "last_login": "bob"})
    settings = ClientSettings.load(user_file, presets=[COMPANY])
    assert (settings.host, settings.port) == ("chat.example.com", 7000)
    assert (settings.theme, settings.last_login) == ("dark", "bob")


def test_a_lock_wins_over_the_users_choice_and_keeps_it(tmp_path: Path) -> None:
    user_file = write(tmp_path / "client.json", {"format": 2, "host": "home.example.org"})
    locked = Preset("/etc/guigui-chat/client.json", {"host": "chat.example.com"}, True)
    settings = ClientSettings.load(user_file, presets=[locked])
    assert settings.host == "chat.example.com" and settings.server_locked
    assert not settings.use_server("elsewhere", 1)
    settings.host = "typed.anyway"  # the form is disabled; even so, nothing is saved
    settings.last_login = "carol"
    settings.save(user_file)
    saved = json.loads(user_file.read_text())
    assert saved["host"] == "home.example.org" and saved["last_login"] == "carol"
    unlocked = ClientSettings.load(user_file, presets=[COMPANY])
    assert unlocked.host == "home.example.org"


def test_later_presets_override_earlier_ones(tmp_path: Path) -> None:
    beside = Preset("guigui-chat.json", {"port": 7100, "language": "fr"})
    environment = parse_server("env.example.com")
    settings = ClientSettings.load(tmp_path / "none.json", presets=[COMPANY, beside, environment])
    assert (settings.host, settings.port, settings.language) == (
        "env.example.com",
        DEFAULT_PORT,
        "fr",
    )


def test_the_command_line_server_is_for_this_run_only(tmp_path: Path) -> None:
    user_file = tmp_path / "client.json"
    settings = ClientSettings.load(user_file, presets=[COMPANY])
    assert settings.use_server("test.example.com", 7001)
    settings.save(user_file)
    assert "host" not in json.loads(user_file.read_text())
    assert settings.origins["host"] == "command line"


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("chat.example.com", "chat.example.com", DEFAULT_PORT),
        ("chat.example.com:7000", "chat.example.com", 7000),
        ("[2001:db8::1]:7000", "2001:db8::1", 7000),
        ("2001:db8::1", "2001:db8::1", DEFAULT_PORT),
    ],
)
def test_guigui_server_forms(text: str, host: str, port: int) -> None:
    assert parse_server(text).values == {"host": host, "port": port}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"host": "chat", "port": 70000}', "'port' must be a whole number from 1 to 65535"),
        ('{"hots": "chat"}', "unknown setting 'hots'"),
        ('{"host": "chat",}', "not valid JSON"),
        ('["chat"]', "must hold a JSON object"),
        ('{"theme": "pink"}', "'theme' must be one of light, dark"),
        ('{"lock_server": true}', "'lock_server' needs a 'host'"),
        ('{"tls": "yes"}', "'tls' must be true or false"),
    ],
)
def test_a_bad_preset_file_is_explained_in_one_line(text: str, says: str) -> None:
    with pytest.raises(PresetError) as raised:
        parse_preset(text, "/etc/guigui-chat/client.json")
    message = str(raised.value)
    assert message.startswith("/etc/guigui-chat/client.json: ")
    assert says in message and "\n" not in message


def test_comments_are_keys_that_start_with_an_underscore() -> None:
    preset = parse_preset('{"_note": "set by IT", "host": "chat", "lock_server": true}', "f")
    assert preset.values == {"host": "chat"} and preset.lock_server


def test_bad_presets_are_skipped_with_a_problem_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = write(tmp_path / "system.json", {"host": "chat.example.com", "port": "7000"})
    monkeypatch.setenv("GUIGUI_SYSTEM_PRESET", str(system))
    presets, problems = read_presets({"GUIGUI_SERVER": "chat:port"})
    assert [p for p in presets if p.source in (str(system), "GUIGUI_SERVER")] == []
    assert len(problems) == 2
    assert problems[0].startswith(f"preset ignored: {system}: 'port'")
    assert "GUIGUI_SERVER='chat:port'" in problems[1]


def test_a_damaged_user_file_gives_the_preset_and_a_problem(tmp_path: Path) -> None:
    user_file = tmp_path / "client.json"
    user_file.write_text("{not json", encoding="utf-8")
    settings = ClientSettings.load(user_file, presets=[COMPANY])
    assert settings.host == "chat.example.com"
    assert settings.problems and str(user_file) in settings.problems[0]


DOCS = [ROOT / "docs" / "DEPLOYMENT.md", ROOT / "docs" / "fr" / "DEPLOIEMENT.md"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_the_presets_the_docs_show_are_valid(doc: Path) -> None:
    blocks = re.findall(r"```json\n(.*?)```", doc.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks
    for block in blocks:
        assert parse_preset(block, str(doc)).values["host"] == "chat.example.com"
    example = ROOT / "packaging" / "client.json.example"
    assert parse_preset(example.read_text(encoding="utf-8"), str(example)).values


def test_the_french_deployment_guide_has_the_same_sections() -> None:
    english, french = (
        [
            line.count("#")
            for line in doc.read_text(encoding="utf-8").splitlines()
            if line.startswith("#")
        ]
        for doc in DOCS
    )
    assert english == french
