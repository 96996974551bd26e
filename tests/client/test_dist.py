"""The single-file client (``make dist-client``), started as a user would start it.

The file is built once per test session (or reused when newer than every source
it bundles), copied into a folder of its own with a ``guigui-chat.json`` preset
beside it (a shared install), and started under Xvfb with an environment that
has no Python variables, a home of its own and another working directory. The
test then logs in through the real window: it finds where the login and password
fields are drawn (asked of the client's Tk with ``send``: geometry only), clicks
and types there with xdotool, and checks that the server sees the user online.
Screenshots: ``build/screenshots/dist-client-*.png``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from guigui.client.connection import ChatConnection
from tests.conftest import RunningServer, start_server
from tests.support.databases import fresh_database
from tests.support.display import ROOT, screenshot
from tests.support.missing import missing

SPEC = ROOT / "packaging" / "guigui-chat.spec"
BUILT = ROOT / "dist" / ("guigui-chat.exe" if sys.platform == "win32" else "guigui-chat")
PASSWORD = "correct horse"

# The client's Tk answers Tk's ``send`` from another Tk on the same display. This
# procedure, defined in the client, lists its viewable entries and labels:
# (class, show or text, x, y, width, height).
ENTRIES_PROC = r"""
proc guigui_entries {w} {
    set found {}
    foreach child [winfo children $w] {
        set class [winfo class $child]
        if {$class in {TEntry TLabel} && [winfo viewable $child]} {
            set what [$child cget [expr {$class eq "TEntry" ? "-show" : "-text"}]]
            lappend found [list $class $what [winfo rootx $child] [winfo rooty $child] \
                [winfo width $child] [winfo height $child]]
        }
        set found [concat $found [guigui_entries $child]]
    }
    return $found
}
"""
# Run by a helper Python (its own Tk): which Tk application belongs to one of the
# given processes, its title, window and entries, as one line of JSON.
PROBE = """
import json, sys, tkinter
proc, pids = sys.argv[1], {int(p) for p in sys.argv[2:]}
root = tkinter.Tk()
root.withdraw()
for name in root.tk.splitlist(root.tk.call("winfo", "interps")):
    try:
        if int(root.tk.call("send", name, "pid")) not in pids:
            continue
        root.tk.call("send", name, proc)
        entries = root.tk.splitlist(root.tk.call("send", name, "guigui_entries ."))
        print(json.dumps({
            "title": str(root.tk.call("send", name, "wm title .")),
            "frame": str(root.tk.call("send", name, "wm frame .")),
            "entries": [
                [str(e[0]), str(e[1])] + [int(v) for v in e[2:]]
                for e in map(root.tk.splitlist, entries)
            ],
        }))
        break
    except tkinter.TclError:
        continue
"""


def newest_source() -> float:
    """When the newest file the bundle is made of was changed."""
    sources = [SPEC, ROOT / "run_client.py", ROOT / "pyproject.toml"]
    sources += [*ROOT.glob("guigui/**/*.py"), *ROOT.glob("guigui/common/locale/*/*.po")]
    return max(path.stat().st_mtime for path in sources)


@pytest.fixture(scope="session")
def built_client() -> Path:
    """``dist/guigui-chat``, built by PyInstaller now unless a fresh one is there."""
    if importlib.util.find_spec("PyInstaller") is None:
        missing(
            "PyInstaller is not installed (pip install -e '.[dev]')",
            "CI must build and start the single-file client",
        )
    if BUILT.exists() and BUILT.stat().st_mtime > newest_source():
        return BUILT
    build = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
    build += ["--distpath", str(BUILT.parent), "--workpath", str(ROOT / "build" / "pyinstaller")]
    result = subprocess.run([*build, str(SPEC)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"PyInstaller failed:\n{result.stderr[-4000:]}"
    return BUILT


@pytest.fixture
def own_display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An Xvfb of the test's own, set as ``DISPLAY``: on it, the only other Tk is the probe's.

    (On the session's display, a Tk left in the test process would never answer ``send``.)
    """
    missing_tools = [tool for tool in ("Xvfb", "xdotool", "import") if shutil.which(tool) is None]
    if missing_tools:
        missing(f"not installed: {', '.join(missing_tools)}", ".ci/run installs them")
    number = 300 + os.getpid() % 100
    while Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
        number += 1
    xvfb = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1280x860x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for("get a display", lambda: Path(f"/tmp/.X11-unix/X{number}").exists(), 10)
        monkeypatch.setenv("DISPLAY", f":{number}")
        yield f":{number}"
    finally:
        xvfb.terminate()
        xvfb.wait(10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    """A real server (on SQLite: the store does not matter here) with the user alice."""
    with fresh_database("sqlite", tmp_path / "data") as url:
        running = start_server(url, tmp_path / "data")
        connection = ChatConnection.connect(running.host, running.port)
        connection.register("alice", PASSWORD, "Alice", "Martin", "alice@example.org")
        connection.close()
        yield running
        running.server.stop(timeout=15)


def probe(display_name: str, pids: list[int]) -> dict[str, object] | None:
    """The title, window and entries of the client's Tk (None until it has a window)."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, ENTRIES_PROC, *map(str, pids)],
        capture_output=True,
        text=True,
        env={**os.environ, "DISPLAY": display_name},
        timeout=30,
        check=False,
    )
    line = result.stdout.strip()
    return json.loads(line) if line else None


def process_tree(pid: int) -> list[int]:
    """``pid`` and its children (the single file runs the program in a child process)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = [pid]
    if children.exists():
        for child in children.read_text().split():
            found += process_tree(int(child))
    return found


def wait_for(what: str, check: Callable[[], object], timeout: float = 60.0) -> object:
    """Call ``check`` until it returns something true; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"the test did not {what} in time"
        time.sleep(0.3)


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, env=os.environ, timeout=30)


def click_and_type(entry: list[object], text: str) -> None:
    """Click in the middle of an entry drawn at (x, y, width, height), then type."""
    _class, _show, x, y, width, height = entry
    assert isinstance(x, int) and isinstance(width, int)
    assert isinstance(y, int) and isinstance(height, int)
    xdotool("mousemove", "--sync", str(x + width // 2), str(y + height // 2))
    xdotool("click", "1")
    xdotool("type", "--delay", "20", text)


@pytest.mark.timeout(900)
def test_the_single_file_client_connects_to_the_preset_server(
    built_client: Path, server: RunningServer, own_display: str, tmp_path: Path
) -> None:
    display = own_display
    install = tmp_path / "shared install"  # a space in the path, as under Windows
    install.mkdir()
    program = install / built_client.name
    shutil.copy2(built_client, program)
    preset = {"_note": "set by IT", "host": server.host, "port": server.port, "language": "fr"}
    (install / "guigui-chat.json").write_text(json.dumps(preset), encoding="utf-8")
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    # A desktop session's environment: no PYTHONPATH, no virtual environment, no config.
    env = {"DISPLAY": display, "HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    client = subprocess.Popen(
        [str(program)],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def login_screen() -> dict[str, object] | None:
            """The client's window once its login screen is drawn (two entries), else None."""
            if client.poll() is not None:
                return None
            found = probe(display, process_tree(client.pid))
            widgets = found.get("entries") if isinstance(found, dict) else None
            if not isinstance(widgets, list):
                return None
            drawn = [widget for widget in widgets if widget[0] == "TEntry"]
            return found if len(drawn) >= 2 else None

        window = wait_for("see the client's login screen", login_screen)
        assert isinstance(window, dict)
        assert window["title"] == "GuiGui Chat"
        frame = int(str(window["frame"]), 16)
        widgets = window["entries"]
        assert isinstance(widgets, list)
        entries = [widget for widget in widgets if widget[0] == "TEntry"]
        assert [entry[1] for entry in entries] == ["", "•"], "the login screen's two fields"
        texts = [str(widget[1]) for widget in widgets if widget[0] == "TLabel"]
        assert any(f"{server.host}:{server.port}" in text for text in texts), texts
        assert "Mot de passe" in texts, "the French catalog is in the bundle"
        screenshot(frame, "dist-client-login")

        login_entry, password_entry = entries
        click_and_type(login_entry, "alice")
        click_and_type(password_entry, PASSWORD)
        xdotool("key", "Return")
        wait_for(
            "see the client logged in",
            lambda: (
                (probe(display, process_tree(client.pid)) or {}).get("title")
                == "GuiGui Chat — alice"
            ),
        )
        screenshot(frame, "dist-client-chat")

        observer = ChatConnection.connect(server.host, server.port)
        observer.register("bob", PASSWORD, "Bob", "Martin", "bob@example.org")
        session = observer.login("bob", PASSWORD)
        observer.close()
        assert "alice" in {presence.login for presence in session.online}

        saved = json.loads((home / ".config" / "guigui" / "client.json").read_text())
        assert saved["last_login"] == "alice"
        assert "host" not in saved, "the preset must not be copied into the user's settings"
    finally:
        client.terminate()
        output, _ = client.communicate(timeout=30)
    assert "Traceback" not in output, output
