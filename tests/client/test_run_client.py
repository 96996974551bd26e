"""``run_client.py``'s command line, run as a user runs it: a real process (defect 13).

``--help`` prints help and opens no window; without a display the client says
so in one line and exits non-zero, without a traceback; ``--show-settings``
tells a technician where each setting comes from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from guigui.client.launcher import EXIT_NO_DISPLAY

ROOT = Path(__file__).resolve().parents[2]


def run_client(
    tmp_path: Path, *args: str, display: str | None = None, **variables: str
) -> subprocess.CompletedProcess[str]:
    """``python run_client.py ARGS`` with its own config dir and no system preset."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DISPLAY", "WAYLAND_DISPLAY", "GUIGUI_SERVER")
    }
    env["GUIGUI_CONFIG_DIR"] = str(tmp_path / "config")
    env["GUIGUI_SYSTEM_PRESET"] = str(tmp_path / "no-system-preset.json")
    env.update(variables)
    if display is not None:
        env["DISPLAY"] = display
    return subprocess.run(
        [sys.executable, str(ROOT / "run_client.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_help_prints_the_options_and_opens_no_window(tmp_path: Path) -> None:
    """Before the fix, --help opened the window (here: a traceback, as there is no display)."""
    result = run_client(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: run_client.py")
    for option in ("--server", "--show-settings", "--cli", "GUIGUI_SERVER", "DEPLOYMENT.md"):
        assert option in result.stdout
    assert result.stderr == ""


def test_without_a_display_one_line_and_a_failure(tmp_path: Path) -> None:
    result = run_client(tmp_path)
    assert result.returncode == EXIT_NO_DISPLAY
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("run_client.py: no display: set DISPLAY")
    assert "run_client.py --cli" in result.stderr


def test_a_display_that_does_not_answer_is_one_line_too(tmp_path: Path) -> None:
    result = run_client(tmp_path, display=":4242")
    assert result.returncode == EXIT_NO_DISPLAY
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert 'couldn\'t connect to display ":4242"' in result.stderr


def test_cli_runs_the_command_line_client(tmp_path: Path) -> None:
    result = run_client(tmp_path, "--cli", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: guigui-cli")


def test_show_settings_says_where_each_setting_comes_from(tmp_path: Path) -> None:
    system = tmp_path / "system.json"
    system.write_text(json.dumps({"host": "chat.example.com", "language": "fr"}))
    result = run_client(
        tmp_path, "--show-settings", GUIGUI_SYSTEM_PRESET=str(system), GUIGUI_SERVER="env:7001"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert 'host = "env"    # GUIGUI_SERVER' in lines
    assert "port = 7001    # GUIGUI_SERVER" in lines
    assert f'language = "fr"    # {system}' in lines
    assert 'theme = "light"    # default' in lines


def test_server_option_and_bad_preset(tmp_path: Path) -> None:
    system = tmp_path / "system.json"
    system.write_text('{"host": "chat.example.com", "port": 99999}')
    result = run_client(
        tmp_path, "--show-settings", "--server", "[::1]:7002", GUIGUI_SYSTEM_PRESET=str(system)
    )
    assert result.returncode == 0
    assert 'host = "::1"    # command line' in result.stdout.splitlines()
    assert result.stderr == (
        f"run_client.py: preset ignored: {system}: "
        "'port' must be a whole number from 1 to 65535, not 99999\n"
    )


def test_a_bad_server_option_is_a_usage_error(tmp_path: Path) -> None:
    result = run_client(tmp_path, "--server", "chat:port")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--server='chat:port'" in result.stderr


def test_cli_uses_the_preset_server(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run_client.py"),
            "--cli",
            "login",
            "alice",
            "--password-stdin",
        ],
        input="secret\n",
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("GUIGUI_")},
            "GUIGUI_CONFIG_DIR": str(tmp_path / "config"),
            "GUIGUI_SYSTEM_PRESET": str(tmp_path / "none.json"),
            "GUIGUI_SERVER": "127.0.0.1:1",
        },
        timeout=60,
        check=False,
    )
    assert result.returncode == 3  # the command-line client's "cannot reach"
    assert "127.0.0.1:1" in result.stderr
