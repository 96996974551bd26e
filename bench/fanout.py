"""Fan-out benchmark: GuiGui and ngIRCd side by side, with the same C load generator.

    python -m bench.fanout [--quick] [--scenarios A,A-max,B,C,D,E] [--output FILE]

Builds ``bench/loadgen`` (``loadgen.c``) with gcc and runs each scenario against
ngIRCd (anti-flood penalties off, no connection caps, no DNS/Ident/PAM) and
GuiGui (SQLite, message and connection limits off, bcrypt cost 4 for the
logins), both on loopback and started afresh for every scenario, with their
soft limit on open files raised to the hard limit. It reads each server's CPU
from ``/proc/PID/stat`` over the traffic only (from every client logged in to
the last delivery, not the logins and logouts) and its memory from
``/proc/PID/status``, prints one
table with the GuiGui/ngIRCd ratio of each figure and writes
``bench/RESULTS.md`` (``--quick`` writes nothing).

Scenarios:

- A: 100 clients in one room, 5 of them sending 1,000 msgs/s in total, 10 s.
- A-max: the same with 20,000 msgs/s offered.
- B: 1,000 clients, 10 senders, 100 msgs/s.
- C: A while 10,000 idle connections are open (GuiGui: HELLO answered, not
  logged in; IRC: registered, no JOIN); the server's memory per idle
  connection is read once they are all up, before A starts.
- D: 1,000 clients logged in; the server restarts (SIGTERM, then the same
  command on the same port and data); the time until every client is back
  (GuiGui: HELLO and RESUME with its session token; IRC has no RESUME, so
  NICK/USER/JOIN again).
- E: A-max on GuiGui with each store, SQLite and MariaDB: stored messages per
  second. ngIRCd stores nothing.

GuiGui answers a SAY with OK once the message is stored, so in every GuiGui
scenario the senders' OKs count the stored messages ("stored / offered").
``--quick`` runs a small version of every scenario, to check that it all works.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from bench.stored_messages import drop_mysql_database, mysql_database
from guigui.server.config import DEFAULT_BCRYPT_COST
from guigui.server.open_files import open_file_ceiling, raise_open_file_limit

ROOT = Path(__file__).resolve().parents[1]
LOADGEN = ROOT / "bench" / "loadgen"
TICKS = os.sysconf("SC_CLK_TCK")
BCRYPT_COST = 4
HOST = "127.0.0.1"

NGIRCD_CONF = """[Global]
Name = bench.invalid
Info = GuiGui benchmark peer
Listen = 127.0.0.1
Ports = {port}
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxPenaltyTime = 0
PingTimeout = 600
PongTimeout = 600
[Options]
DNS = no
Ident = no
PAM = no
[Channel]
Name = #bench
"""

Kind = Literal["fanout", "reconnect", "stores"]
Figures = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Scenario:
    """What one scenario does: the load generator's mode and its numbers."""

    name: str
    kind: Kind
    clients: int
    senders: int = 0
    rate: int = 0
    seconds: float = 0
    idle: int = 0

    def describe(self) -> str:
        """One line for the console."""
        if self.kind == "reconnect":
            return f"{self.clients} clients logged in, server restart, all reconnect at once"
        text = (
            f"{self.clients} clients, {self.senders} senders, {self.rate:,} msgs/s offered,"
            f" {self.seconds:g} s"
        )
        if self.idle:
            text += f", {self.idle:,} idle connections"
        if self.kind == "stores":
            text += ", GuiGui on SQLite and on MariaDB"
        return text


def by_name(*scenarios: Scenario) -> dict[str, Scenario]:
    """Scenarios keyed by their name, in the order given."""
    return {scenario.name: scenario for scenario in scenarios}


SCENARIOS = by_name(
    Scenario("A", "fanout", 100, 5, 1000, 10),
    Scenario("A-max", "fanout", 100, 5, 20000, 10),
    Scenario("B", "fanout", 1000, 10, 100, 10),
    Scenario("C", "fanout", 100, 5, 1000, 10, idle=10000),
    Scenario("D", "reconnect", 1000),
    Scenario("E", "stores", 100, 5, 20000, 10),
)
QUICK = by_name(  # the same scenarios, small: to check that they run
    Scenario("A", "fanout", 20, 2, 200, 2),
    Scenario("A-max", "fanout", 20, 2, 2000, 2),
    Scenario("B", "fanout", 100, 4, 50, 2),
    Scenario("C", "fanout", 20, 2, 200, 2, idle=200),
    Scenario("D", "reconnect", 50),
    Scenario("E", "stores", 20, 2, 500, 2),
)


# ---- processes -----------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def build_loadgen() -> None:
    """Compile the load generator when missing or older than its source."""
    source = ROOT / "bench" / "loadgen.c"
    if LOADGEN.exists() and LOADGEN.stat().st_mtime >= source.stat().st_mtime:
        return
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(LOADGEN), str(source)], check=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid: int) -> int:
    """Resident memory of a process, in KiB."""
    found = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(found.group(1)) if found else 0


class Server:
    """A server process of the benchmark: its command, its port, its log file.

    ``restart`` runs the very same command again, so the server comes back on
    the same port with the same data. Its output is appended to the log.
    """

    def __init__(self, name: str, command: list[str], port: int, log: Path) -> None:
        self.name = name
        self.command = command
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The running process's id."""
        assert self.process is not None, f"{self.name} is not running"
        return self.process.pid

    def start(self, timeout: float = 30.0) -> None:
        """Start the process and wait until it accepts connections."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=ROOT, preexec_fn=raise_open_file_limit,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with status {self.process.returncode}")
            with socket.socket() as probe:
                if probe.connect_ex((HOST, self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} does not listen on port {self.port}")

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (a clean stop), then wait for the process to end."""
        if self.process is None:
            return
        process, self.process = self.process, None
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RuntimeError(f"{self.name} did not stop within {timeout:g} s") from None

    def restart(self) -> None:
        """Stop cleanly, then start the same command again (same port, same data)."""
        self.stop()
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log."""
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def guigui_server(directory: Path, name: str = "guigui", database: str | None = None) -> Server:
    """GuiGui with its limits off (the load generator is one IP), on SQLite unless told."""
    port = free_port()
    command = [
        sys.executable, str(ROOT / "run_server.py"), "--headless", "--port", str(port),
        "--bcrypt-cost", str(BCRYPT_COST), "--message-rate", "0", "--max-connections-per-ip", "0",
        "--registrations-per-ip-per-hour", "0", "--data-dir", str(directory / name),
        "--log-level", "WARNING",
    ]  # fmt: skip
    if database:
        command += ["--db", database]
    return Server(name, command, port, directory / f"{name}.log")


def ngircd_server(directory: Path) -> Server:
    """ngIRCd in the foreground with the benchmark's configuration."""
    binary = shutil.which("ngircd") or "/usr/sbin/ngircd"
    port = free_port()
    conf = directory / "ngircd.conf"
    conf.write_text(NGIRCD_CONF.format(port=port))
    return Server("ngircd", [binary, "-n", "-f", str(conf)], port, directory / "ngircd.log")


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """The server started, then stopped; a failure meanwhile shows the end of its log."""
    try:
        server.start()
        yield server
    except Exception as error:
        raise RuntimeError(
            f"{error}\n--- end of {server.log}:\n{server.log_tail()}\n---"
        ) from error
    finally:
        server.stop()


class LoadGen:
    """A running load generator: it announces steps on stdout and waits for a line on stdin."""

    def __init__(self, arguments: list[str], directory: Path) -> None:
        self.stderr = directory / "loadgen.stderr"
        with self.stderr.open("w") as stderr:
            self.process = subprocess.Popen(
                [str(LOADGEN), *arguments], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=stderr, text=True,
            )  # fmt: skip

    def _failed(self, what: str) -> RuntimeError:
        self.process.kill()
        self.process.wait()
        return RuntimeError(f"loadgen {what}: {self.stderr.read_text(errors='replace').strip()}")

    def expect(self, announcement: str) -> None:
        """Wait until the load generator announces this step."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if line != announcement:
            raise self._failed(f"said {line!r} instead of {announcement!r}")

    def go(self) -> None:
        """Let it go on."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def figures(self, timeout: float = 600.0) -> Figures:
        """Its final JSON line, once it has ended."""
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise self._failed(f"still running after {timeout:g} s") from None
        if self.process.returncode != 0:
            raise self._failed(f"failed (status {self.process.returncode})")
        result: Figures = json.loads(out.strip().splitlines()[-1])
        return result

    def kill(self) -> None:
        """End it if it still runs (after a failure elsewhere)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


# ---- scenarios -----------------------------------------------------------------

SETTLE_SECONDS = 0.5
"""Pause between the last login and the traffic, before the server's CPU is read."""


def run_fanout(protocol: str, server: Server, scenario: Scenario, directory: Path) -> Figures:
    """A fan-out scenario (with its idle connections first) against one running server."""
    pid = server.pid
    rss_before = rss_kib(pid)
    loadgen = LoadGen(
        ["fanout", protocol, HOST, str(server.port), str(scenario.clients),
         str(scenario.senders), str(scenario.rate), str(scenario.seconds), str(scenario.idle)],
        directory,
    )  # fmt: skip
    try:
        rss_idle = rss_before
        if scenario.idle:
            loadgen.expect("IDLE_READY")
            rss_idle = rss_kib(pid)
            loadgen.go()
        # The server's CPU is read around the traffic only: not while clients log
        # in or out (each login or logout tells every session, N² for both servers).
        loadgen.expect("READY")
        time.sleep(SETTLE_SECONDS)  # the last logins' presence events drain
        cpu_before = cpu_seconds(pid)
        loadgen.go()
        loadgen.expect("DONE")
        server_cpu = cpu_seconds(pid) - cpu_before
        rss_after = rss_kib(pid)
        loadgen.go()
        figures = loadgen.figures()
    finally:
        loadgen.kill()
    figures["server_cpu_percent"] = 100 * server_cpu / figures["seconds"]
    figures["server_cpu_us_per_delivery"] = 1e6 * server_cpu / max(1, figures["deliveries"])
    figures["server_rss_kib_per_client"] = (rss_after - rss_idle) / scenario.clients
    if scenario.idle:
        figures["server_rss_kib_per_idle"] = (rss_idle - rss_before) / scenario.idle
    return figures


def run_reconnect(protocol: str, server: Server, scenario: Scenario, directory: Path) -> Figures:
    """Log the clients in, restart the server, and time their return."""
    loadgen = LoadGen(
        ["reconnect", protocol, HOST, str(server.port), str(scenario.clients)], directory
    )
    try:
        loadgen.expect("LOGGED_IN")
        loadgen.go()  # the restart signal: loadgen starts its clock
        server.restart()
        return loadgen.figures()
    finally:
        loadgen.kill()


def fresh_mariadb() -> tuple[str | None, str]:
    """A new database on the machine's MariaDB and "", or None and why it is not reachable."""
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        url = mysql_database()
    return url, said.getvalue().strip().removesuffix(": skipping it")


@dataclasses.dataclass
class Result:
    """One scenario's figures for each server (``irc`` None: not comparable) and its notes."""

    scenario: Scenario
    guigui: Figures
    irc: Figures | None
    notes: list[str] = dataclasses.field(default_factory=list)
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)
    """Parts not run (scenario E: "MariaDB"), and why."""


def run_scenario(scenario: Scenario, directory: Path) -> Result:
    """One scenario on fresh servers."""
    directory.mkdir()
    if scenario.kind == "stores":
        return run_stores(scenario, directory)
    notes = []
    if scenario.idle:
        allowed = open_file_ceiling() - scenario.clients - 100
        if allowed < scenario.idle:
            notes.append(
                f"{scenario.name}: {allowed:,} idle connections instead of {scenario.idle:,}"
                f" (the limit on open files is {open_file_ceiling():,})"
            )
            scenario = dataclasses.replace(scenario, idle=allowed)
    run = run_reconnect if scenario.kind == "reconnect" else run_fanout
    with running(guigui_server(directory)) as guigui:
        mine = run("guigui", guigui, scenario, directory)
    with running(ngircd_server(directory)) as ngircd:
        theirs = run("irc", ngircd, scenario, directory)
    return Result(scenario, mine, theirs, notes)


def run_stores(scenario: Scenario, directory: Path) -> Result:
    """Scenario E: the same load on GuiGui with SQLite, then with MariaDB (if reachable)."""
    result = Result(scenario, {}, None)
    with running(guigui_server(directory, "guigui-sqlite")) as server:
        result.guigui["SQLite"] = run_fanout("guigui", server, scenario, directory)
    url, why = fresh_mariadb()
    if url is None:
        result.skipped["MariaDB"] = why
        result.notes.append(f"{scenario.name}: the MariaDB part was skipped: {why}")
        print(f"scenario {scenario.name}: MariaDB part skipped: {why}", flush=True)
        return result
    try:
        with running(guigui_server(directory, "guigui-mariadb", url)) as server:
            result.guigui["MariaDB"] = run_fanout("guigui", server, scenario, directory)
    finally:
        drop_mysql_database(url)
    return result


# ---- the table -----------------------------------------------------------------

Show = Callable[[Figures], str]
Row = tuple[str, Show, str | None]
"""A figure's label, how to show it, and the key its ratio is computed on (None: no ratio)."""

STORED = "¹"
"""Footnote mark: ngIRCd stores nothing."""
NO_RESUME = "²"
"""Footnote mark: IRC has no RESUME."""


def count(done: str, of: str) -> Show:
    """Show ``done/of`` ("n/a" where the figures do not have it, e.g. IRC's stored)."""
    return lambda f: "n/a" if f.get(done) is None else f"{f[done]}/{f[of]}"


def number(key: str, form: str) -> Show:
    """Show one figure with a format ("n/a" where missing)."""
    return lambda f: "n/a" if f.get(key) is None else format(f[key], form)


FANOUT_ROWS: list[Row] = [
    ("delivered / expected", count("deliveries", "expected"), None),
    (f"stored / offered {STORED}", count("stored", "offered"), None),
    ("clients closed by the server", number("closed", "d"), None),
    ("deliveries/s", number("deliveries_per_second", ",.0f"), "deliveries_per_second"),
    ("latency p50 (ms)", number("p50_ms", ".2f"), "p50_ms"),
    ("latency p99 (ms)", number("p99_ms", ".2f"), "p99_ms"),
    ("latency max (ms)", number("max_ms", ".2f"), "max_ms"),
    ("server CPU (% of a core)", number("server_cpu_percent", ".0f"), "server_cpu_percent"),
    (
        "server CPU µs / delivery",
        number("server_cpu_us_per_delivery", ".2f"),
        "server_cpu_us_per_delivery",
    ),
    (
        "server RSS KiB / client",
        number("server_rss_kib_per_client", ".1f"),
        "server_rss_kib_per_client",
    ),
    ("connect + log in (s)", number("ready_seconds", ".2f"), "ready_seconds"),
    ("load generator CPU (s)", number("loadgen_cpu_seconds", ".2f"), "loadgen_cpu_seconds"),
]
IDLE_ROWS: list[Row] = [
    ("idle connections open / opened", count("idle_open", "idle"), None),
    (
        "server RSS KiB / idle connection",
        number("server_rss_kib_per_idle", ".2f"),
        "server_rss_kib_per_idle",
    ),
    ("idle connections set up (s)", number("idle_setup_seconds", ".2f"), "idle_setup_seconds"),
]
RECONNECT_ROWS: list[Row] = [
    (f"back / clients {NO_RESUME}", count("back", "clients"), None),
    ("failed", number("failed", "d"), None),
    (f"all back, from the server up (s) {NO_RESUME}", number("back_seconds", ".2f"),
     "back_seconds"),
    (f"all back, from the restart signal (s) {NO_RESUME}", number("total_seconds", ".2f"),
     "total_seconds"),
    ("server down: signal to first connect (s)", number("down_seconds", ".2f"), "down_seconds"),
    ("log in before the restart (s)", number("login_seconds", ".2f"), "login_seconds"),
]  # fmt: skip


def store_rows(store: str, scenario: Scenario) -> list[Row]:
    """Scenario E's rows for one store (its figures are ``figures[store]``)."""

    def of(show: Show) -> Show:
        return lambda f: show(f[store])

    return [
        (f"{store}: delivered / expected", of(count("deliveries", "expected")), None),
        (f"{store}: stored / offered", of(count("stored", "offered")), None),
        (f"{store}: clients closed by the server", of(number("closed", "d")), None),
        (
            f"{store}: stored msgs/s (of {scenario.rate:,} offered)",
            of(number("stored_per_second", ",.0f")),
            None,
        ),
        (f"{store}: latency p50 (ms)", of(number("p50_ms", ".2f")), None),
        (f"{store}: latency p99 (ms)", of(number("p99_ms", ".2f")), None),
        (f"{store}: server CPU (% of a core)", of(number("server_cpu_percent", ".0f")), None),
    ]


def rows_of(result: Result) -> list[Row]:
    """The rows a scenario shows."""
    scenario = result.scenario
    if scenario.kind == "reconnect":
        return RECONNECT_ROWS
    if scenario.kind == "stores":
        rows = store_rows("SQLite", scenario)
        if "MariaDB" in result.skipped:
            skipped = f"skipped: {result.skipped['MariaDB']}".replace("|", "/")
            return [*rows, ("MariaDB", lambda _f: skipped, None)]
        return rows + store_rows("MariaDB", scenario)
    return IDLE_ROWS + FANOUT_ROWS if scenario.idle else FANOUT_ROWS


def table(results: list[Result]) -> str:
    """A Markdown table: each figure for GuiGui, ngIRCd and their ratio, per scenario."""
    lines = ["| scenario | figure | GuiGui | ngIRCd | GuiGui/ngIRCd |", "|---|---|---:|---:|---:|"]
    for result in results:
        mine, theirs = result.guigui, result.irc
        for label, show, key in rows_of(result):
            ratio = ""
            if key and theirs is not None and theirs.get(key) and mine.get(key) is not None:
                ratio = f"{mine[key] / theirs[key]:.2f}"
            other = show(theirs) if theirs is not None else f"n/a {STORED}"
            lines.append(f"| {result.scenario.name} | {label} | {show(mine)} | {other} | {ratio} |")
    return "\n".join(lines)


def notes(results: list[Result]) -> str:
    """The footnotes of the table, and what each scenario had to say."""
    lines = [
        f"{STORED} ngIRCd stores nothing: its stored figures are n/a. GuiGui answers a SAY"
        " with OK once the message is stored; the senders count those OKs. Stored msgs/s is"
        " the OKs over the time until the last OK.",
    ]
    if any(r.scenario.kind == "reconnect" for r in results):
        lines.append(
            f"{NO_RESUME} IRC has no RESUME: in D the IRC clients reconnect with NICK/USER and"
            " JOIN again, the GuiGui clients with HELLO and RESUME (their session token). All"
            " connect at once. ngIRCd listens with a backlog of 10: most connections of the"
            " burst overflow it, the kernel drops their handshake and the clients' kernels"
            " resend it with exponential back-off (1, 2, 4, 8, 16, 32 s), hence its long tail."
            " Failed: refused, closed, or not back within 60 s."
        )
    lines.append(
        f"GuiGui ran with bcrypt cost {BCRYPT_COST} for the logins (the default is"
        f" {DEFAULT_BCRYPT_COST}). Each scenario starts both servers afresh."
    )
    for result in results:
        lines.extend(result.notes)
    return "\n".join(f"- {line}" for line in lines)


def main() -> None:
    """Run the scenarios, print the table and (not with --quick) write it to --output."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a small version of each scenario, to check it works"
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="e.g. A,C,D")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    names = args.scenarios.split(",")
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; choose among {','.join(SCENARIOS)}")
    build_loadgen()
    chosen = [(QUICK if args.quick else SCENARIOS)[name] for name in names]
    print(
        f"GuiGui runs with bcrypt cost {BCRYPT_COST} for the logins"
        f" (the default is {DEFAULT_BCRYPT_COST})",
        flush=True,
    )
    results = []
    with tempfile.TemporaryDirectory() as temporary:
        for scenario in chosen:
            print(f"scenario {scenario.name}: {scenario.describe()}", flush=True)
            results.append(run_scenario(scenario, Path(temporary) / scenario.name))
    report = f"{table(results)}\n\n{notes(results)}"
    print(report)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"
    if not args.quick:
        args.output.write_text(
            "# Fan-out benchmark: GuiGui and ngIRCd\n\n"
            f"Machine: {machine}. Both servers on loopback, one C load generator"
            " (`bench/loadgen.c`); written by `python -m bench.fanout`.\n\n"
            f"{report}\n{kept_section(args.output)}"
        )


KEPT_HEADING = "## Measured changes"
"""The part of the results file that a new run keeps: before/after figures of past changes."""


def kept_section(path: Path) -> str:
    """The ``KEPT_HEADING`` section of ``path`` and what follows it, or nothing."""
    if not path.exists():
        return ""
    text = path.read_text()
    start = text.find(f"\n{KEPT_HEADING}")
    return "" if start < 0 else text[start:]


if __name__ == "__main__":
    main()
