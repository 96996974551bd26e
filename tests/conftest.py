"""Fixtures shared by the whole suite: a real server on an ephemeral port.

bcrypt runs at cost 4 in tests (the default is 12, about 0.3 s a hash): the
header of every pytest run says so.

Two checks span the whole session:

- the server's thread rule (docs/SECURITY.md) is enforced: ``GUIGUI_DEBUG_THREADS=1``
  makes the loop's own entry points raise when called from another thread;
- no frame a server sends may be longer than the ``max_frame`` it announced: the
  tests' own client measures every frame it receives (``tests.support.wire``),
  the end of the run reports the largest, and any frame over its bound fails the run.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from guigui.server.chat_server import ChatServer
from guigui.server.config import ServerConfig
from guigui.server.loop import DEBUG_THREADS_VARIABLE
from tests.support.databases import STORE_KINDS, fresh_database
from tests.support.display import release_tk
from tests.support.wire import SERVER_FRAMES, Address, WireClient

TEST_BCRYPT_COST = 4

# The thread rule, checked in every test: a loop-only entry point of a server's
# event loop (in this process, or in a run_server.py it starts, which inherits
# the environment) raises when another thread calls it while the loop runs.
os.environ[DEBUG_THREADS_VARIABLE] = "1"


def pytest_report_header() -> str:
    """Say that tests lower the bcrypt cost and check the thread rule."""
    return (
        f"guigui: bcrypt cost lowered to {TEST_BCRYPT_COST} in tests (server default: 12);"
        f" {DEBUG_THREADS_VARIABLE}=1 (loop-only calls from other threads raise)"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """After a test that drew windows, free its Tk objects here, in the main thread.

    pytest keeps a test's fixture values until its teardown is over; a window
    among them is a reference cycle that only the garbage collector frees, and
    that may run next in any thread (a server's loop thread in the next test),
    where freeing Tk objects raises or aborts (``release_tk``).
    """
    yield
    if "display" in getattr(item, "fixturenames", ()):
        release_tk()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any test client received a frame over its server's ``max_frame``.

    Every test may have passed: such a frame is a server bug whichever test provoked it.
    """
    if SERVER_FRAMES.oversized and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report the largest frame a server sent during the run, and every one over its bound."""
    frames = SERVER_FRAMES
    oversized = frames.oversized
    terminalreporter.section("frames sent by the servers", red=bool(oversized), bold=True)
    if not frames.frames:
        terminalreporter.write_line("no test client received a frame")
        return
    terminalreporter.write_line(
        f"largest of {frames.frames} frames: {frames.largest} bytes, its server's max_frame "
        f"{frames.largest_bound} ({frames.largest_test})"
    )
    if not oversized:
        terminalreporter.write_line("no frame over the max_frame its server announced")
        return
    terminalreporter.write_line(
        f"FAILED: {len(oversized)} frame(s) over the max_frame their server announced:", red=True
    )
    for frame in oversized:
        size = "too large to decode" if frame.size is None else f"{frame.size} bytes"
        terminalreporter.write_line(
            f"  {frame.test}: {size} > max_frame {frame.bound}: {frame.frame}", red=True
        )


@dataclasses.dataclass
class RunningServer:
    """A started server and what tests need to reach it."""

    server: ChatServer
    host: str
    port: int
    data_dir: Path
    database_url: str

    @property
    def address(self) -> Address:
        """Host and port, for ``WireClient``."""
        return Address(self.host, self.port)


def make_test_config(database_url: str, **overrides: object) -> ServerConfig:
    """A server configuration for tests: ephemeral port, low bcrypt cost."""
    config = ServerConfig(
        database_url=database_url,
        host="127.0.0.1",
        port=0,
        bcrypt_cost=TEST_BCRYPT_COST,
        # Every test client comes from 127.0.0.1 and many send fast: the per-IP and
        # per-connection limits are off here, and on in the tests of the limits.
        message_rate=0,
        registrations_per_ip_per_hour=0,
        max_connections_per_ip=0,
    )
    return dataclasses.replace(config, **overrides)  # type: ignore[arg-type]


def start_server(database_url: str, data_dir: Path, **overrides: object) -> RunningServer:
    """Start a real server on an ephemeral port."""
    overrides.setdefault("files_dir", str(data_dir / "files"))
    server = ChatServer(make_test_config(database_url, **overrides))
    server.start()
    host, port = server.address
    return RunningServer(server, host, port, data_dir, database_url)


@pytest.fixture(params=STORE_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database for the test: every test using it runs on SQLite and on MariaDB."""
    with fresh_database(request.param, tmp_path / "data") as url:
        yield url


@pytest.fixture
def server_factory(database_url: str, tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Start servers with settings of the test's choice, all on the test's database.

    Servers started one after the other share the database: that is a restart.
    """
    started: list[RunningServer] = []

    def factory(**overrides: object) -> RunningServer:
        running = start_server(database_url, tmp_path / "data", **overrides)
        started.append(running)
        return running

    yield factory
    for running in started:
        running.server.stop(timeout=15)


@pytest.fixture
def running_server(
    request: pytest.FixtureRequest, server_factory: Callable[..., RunningServer]
) -> RunningServer:
    """A real server on an ephemeral port, in a fresh data dir.

    Default test settings, or those a ``server_settings`` mark gives: with
    ``@pytest.mark.server_settings(max_text=500)`` on a test, ``running_server``,
    ``connect`` and ``logged_in`` all use that server.
    """
    mark = request.node.get_closest_marker("server_settings")
    return server_factory(**(mark.kwargs if mark is not None else {}))


@pytest.fixture
def connect(running_server: RunningServer) -> Iterator[Callable[[], WireClient]]:
    """Open raw protocol connections to ``running_server`` (closed at the end)."""
    clients: list[WireClient] = []

    def factory() -> WireClient:
        client = WireClient(running_server.address)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def logged_in(connect: Callable[[], WireClient]) -> Callable[[str], WireClient]:
    """``logged_in("alice")``: a new connection, registered (if needed) and logged in."""
    registered: set[str] = set()

    def factory(login: str) -> WireClient:
        client = connect()
        client.hello()
        if login not in registered:
            client.register(login)
            registered.add(login)
        client.login(login)
        return client

    return factory
