"""The systemd unit of packaging/: systemd accepts it, and its command serves as a service.

``make install-service`` renders ``packaging/guigui-chat-server.service.in``; here it
is rendered the same way for this checkout, checked by ``systemd-analyze verify``
(no warning either), and its ``ExecStart`` is run as systemd would run it: no
terminal (standard input empty), the settings of ``packaging/server.env.example``
with the database given by ``GUIGUI_DB``, stopped by SIGTERM.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

from guigui.common.protocol import MessageType
from tests.support.missing import missing
from tests.support.wire import Address, WireClient

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "packaging" / "guigui-chat-server.service.in"
ENV_EXAMPLE = ROOT / "packaging" / "server.env.example"


def rendered_unit(tmp_path: Path) -> Path:
    """The unit as ``make install-service`` writes it, for this checkout."""
    unit = tmp_path / "guigui-chat-server.service"
    unit.write_text(TEMPLATE.read_text(encoding="utf-8").replace("@ROOT@", str(ROOT)))
    return unit


def unit_setting(unit: Path, key: str) -> str:
    """The value of one ``Key=value`` line of the unit."""
    for line in unit.read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"no {key}= in {unit}")


def env_file(path: Path) -> dict[str, str]:
    """The variables an ``EnvironmentFile=`` sets (comments and blank lines skipped).

    The file is also read by ``guigui-server`` with the shell's ``.``: values with
    spaces are quoted, which both read the same way.
    """
    variables = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, value = line.split("=", 1)
            variables[name.strip()] = value.strip().removeprefix('"').removesuffix('"')
    return variables


def test_systemd_accepts_the_unit_without_a_warning(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        missing("systemd-analyze is not installed (apt-get install systemd)")
    unit = rendered_unit(tmp_path)
    verify = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert verify.returncode == 0, verify.stderr
    assert verify.stderr.strip() == "" and verify.stdout.strip() == ""


def test_the_units_command_serves_without_a_terminal_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    unit = rendered_unit(tmp_path)
    settings = env_file(ENV_EXAMPLE)
    command = unit_setting(unit, "ExecStart").replace(
        "$GUIGUI_SERVER_ARGS", settings["GUIGUI_SERVER_ARGS"]
    )
    runtime = tmp_path / "run"
    runtime.mkdir()
    command = command.replace("/var/lib/guigui-chat", str(tmp_path / "state"))
    arguments = shlex.split(command.replace("/run/guigui-chat", str(runtime)))
    # This machine's port 6767 may be taken, and bcrypt at cost 12 is slow: test values.
    arguments += ["--port", "0", "--bcrypt-cost", "4"]
    database = tmp_path / "from-the-environment.db"
    process = subprocess.Popen(
        arguments,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=unit_setting(unit, "WorkingDirectory"),
        env={**os.environ, "GUIGUI_DB": f"sqlite:///{database}", "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stderr is not None
        address = None
        for line in process.stderr:
            found = re.search(r"listening on ([\d.]+):(\d+)", line)
            if found:
                address = Address("127.0.0.1", int(found.group(2)))
                assert found.group(1) == "0.0.0.0"
                break
        assert address is not None, f"the service did not start (exit {process.wait()})"
        client = WireClient(address)
        assert client.hello()["max_frame"] > 0
        client.ok(
            MessageType.REGISTER,
            login="alice",
            password="a long enough password",
            first_name="Alice",
            last_name="Martin",
            email="alice@example.com",
        )
        assert database.exists()
        assert (runtime / "admin.sock").is_socket()
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        assert not (runtime / "admin.sock").exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_settings_file_reads_the_same_in_the_shell(tmp_path: Path) -> None:
    """``guigui-server`` sources the file that systemd reads: the shell must agree."""
    shown = subprocess.run(
        ["sh", "-c", f'set -a; . "{ENV_EXAMPLE}"; env'],
        capture_output=True,
        text=True,
        check=True,
    )
    for name, value in env_file(ENV_EXAMPLE).items():
        assert f"{name}={value}\n" in shown.stdout
    assert shown.stderr == ""
