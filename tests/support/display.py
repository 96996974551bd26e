"""A display for GUI tests: the tests start Xvfb themselves.

Without Xvfb the GUI tests are skipped, except in CI (``CI=true``), where that
is a failure (``.ci/run`` installs xvfb).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.missing import missing

ROOT = Path(__file__).resolve().parents[2]
DOCS_IMAGES = ROOT / "docs" / "img"
SCREENSHOTS = (
    DOCS_IMAGES
    if os.environ.get("GUIGUI_SCREENSHOTS") == "docs"
    else ROOT / "build" / "screenshots"
)
"""Where GUI tests save their screenshots: ``build/screenshots/`` (a test run leaves the
working tree clean), or ``docs/img/`` with ``GUIGUI_SCREENSHOTS=docs`` (``make screenshots``)."""


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    """A private Xvfb display (``:NN``), set as ``DISPLAY`` for the session."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        missing("Xvfb is not installed (apt-get install xvfb)")
    number = 90 + os.getpid() % 100
    while Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
        number += 1
    name = f":{number}"
    process = subprocess.Popen(
        [xvfb, name, "-screen", "0", "1280x860x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if time.monotonic() > deadline or process.poll() is not None:
            pytest.fail("Xvfb did not start")
        time.sleep(0.05)
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = name
    yield name
    if previous is None:
        os.environ.pop("DISPLAY", None)
    else:
        os.environ["DISPLAY"] = previous
    process.terminate()
    process.wait(10)


def screenshot(window_id: int, name: str) -> Path:
    """Save a PNG of one window under ``SCREENSHOTS`` (imagemagick's ``import``)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    subprocess.run(
        ["import", "-window", hex(window_id), str(path)],
        check=True,
        capture_output=True,
        env=os.environ,
    )
    return path


def release_tk() -> None:
    """Free every Tk object of the windows a test closed, now, in this (the Tk) thread.

    ttkbootstrap keeps module-level references to the last window: its Style
    singleton, its font cache and its publisher's subscribers. A closed window
    then stays alive until one of those is replaced, and is freed by whichever
    thread drops the last reference or runs the garbage collector next, often a
    server's loop thread in a later test; Tk objects freed off their own thread
    raise ("main thread is not in main loop") or abort the interpreter
    ("Tcl_AsyncDelete: async handler deleted by the wrong thread"). Call this
    after ``destroy()``.
    """
    import gc
    import tkinter

    from ttkbootstrap.internal import publisher
    from ttkbootstrap.style import engine
    from ttkbootstrap.utils import fonts

    engine.Style.instance = None
    fonts._font_cache.clear()
    subscribers = publisher.Publisher._Publisher__subscribers  # type: ignore[attr-defined]
    subscribers.clear()
    tkinter._default_root = None  # type: ignore[attr-defined]
    gc.collect()
