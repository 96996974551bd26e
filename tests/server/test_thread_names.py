"""The server's threads carry their names for the OS too (``top -H``, the benchmark)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from guigui.server.thread_names import name_os_thread
from tests.support.wire import WireClient

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")


def os_names() -> set[str]:
    """The OS names of this process's threads."""
    return {task.read_text().strip() for task in Path("/proc/self/task").glob("*/comm")}


def test_a_thread_gets_the_name_given_cut_to_15_bytes() -> None:
    seen: list[str] = []

    def run() -> None:
        name_os_thread("a-very-long-thread-name")
        seen.append(Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == ["a-very-long-thr"]


def test_without_a_name_a_thread_takes_its_python_name() -> None:
    seen: list[str] = []

    def run() -> None:
        name_os_thread()
        seen.append(Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip())

    thread = threading.Thread(target=run, name="python-name")
    thread.start()
    thread.join()
    assert seen == ["python-name"]


def test_a_running_server_shows_its_loop_and_store_threads(
    connect: Callable[[], WireClient],
) -> None:
    connect().hello()  # the server is up and serving
    assert {"event-loop", "store"} <= os_names()
