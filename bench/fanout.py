"""Fan-out benchmark: GuiGui and ngIRCd side by side, with the same C load generator.

    python -m bench.fanout [--quick] [--scenarios A,A-max,B,C,D,E,A-files,cluster]
                           [--output FILE] [--before REV]

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
- A-files: A on GuiGui alone, without uploads, then (on a fresh server) while
  two more clients upload 25 MiB files to the room in a loop: the chat's
  latency with and without, and the MiB/s uploaded. It has its own table
  (bench/uploads.py); ngIRCd has no files.
- cluster: A-max on GuiGui alone (SQLite, then MariaDB), then on one and on two
  ``--cluster`` nodes sharing a MariaDB database and the machine's Redis, the
  clients spread over the nodes; local against cross-node deliveries. It has
  its own tables (bench/cluster.py); ngIRCd is not part of it.

GuiGui answers a SAY with OK once the message is stored, so in every GuiGui
scenario the senders' OKs count the stored messages ("stored / offered").
``--quick`` runs a small version of every scenario, to check that it all works.
``--before REV`` adds a column: GuiGui at that git revision, in the same run
(``bench/revisions.py``), for an issue's before / after.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import platform
import tempfile
from pathlib import Path

from bench.cluster import cluster_report, run_cluster
from bench.revisions import checked_out, describe
from bench.runs import (
    TRAFFIC_ROWS,
    Result,
    Row,
    Scenario,
    Show,
    count,
    number,
    run_fanout,
    run_reconnect,
)
from bench.servers import (
    BCRYPT_COST,
    ROOT,
    build_loadgen,
    fresh_mariadb,
    guigui_server,
    ngircd_server,
    running,
)
from bench.stored_messages import drop_mysql_database
from bench.uploads import run_uploads, uploads_report
from guigui.common.protocol import DEFAULT_MAX_FILE
from guigui.server.config import DEFAULT_BCRYPT_COST
from guigui.server.open_files import open_file_ceiling


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
    Scenario("A-files", "uploads", 100, 5, 1000, 10, uploaders=2, file_size=DEFAULT_MAX_FILE),
    Scenario("cluster", "cluster", 100, 5, 20000, 10),
)
QUICK = by_name(  # the same scenarios, small: to check that they run
    Scenario("A", "fanout", 20, 2, 200, 2),
    Scenario("A-max", "fanout", 20, 2, 2000, 2),
    Scenario("B", "fanout", 100, 4, 50, 2),
    Scenario("C", "fanout", 20, 2, 200, 2, idle=200),
    Scenario("D", "reconnect", 50),
    Scenario("E", "stores", 20, 2, 500, 2),
    Scenario("A-files", "uploads", 20, 2, 200, 2, uploaders=2, file_size=2**20),
    Scenario("cluster", "cluster", 20, 2, 2000, 2),
)
SECTIONS = frozenset({"cluster", "uploads"})
"""Kinds of scenario with a section of their own, not rows of the main table."""


def run_scenario(scenario: Scenario, directory: Path, before: Path | None = None) -> Result:
    """One scenario on fresh servers; with ``before`` (a source tree), GuiGui from it too."""
    directory.mkdir()
    if scenario.kind == "stores":
        return run_stores(scenario, directory)
    if scenario.kind == "cluster":
        return run_cluster(scenario, directory)
    if scenario.kind == "uploads":
        return run_uploads(scenario, directory)
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
    earlier = None
    if before is not None:
        with running(guigui_server(directory, "guigui-before", root=before)) as old:
            earlier = run("guigui", old, scenario, directory)
    with running(guigui_server(directory)) as guigui:
        mine = run("guigui", guigui, scenario, directory)
    with running(ngircd_server(directory)) as ngircd:
        theirs = run("irc", ngircd, scenario, directory)
    return Result(scenario, mine, theirs, notes, before=earlier)


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

STORED = "¹"
"""Footnote mark: ngIRCd stores nothing."""
NO_RESUME = "²"
"""Footnote mark: IRC has no RESUME."""
WRITES = "³"
"""Footnote mark: write calls counted with perf's tracepoints (n/a without perf)."""
THREADS = "⁴"
"""Footnote mark: GuiGui's CPU by thread (ngIRCd has one)."""


FANOUT_ROWS: list[Row] = [
    ("delivered / expected", count("deliveries", "expected"), None),
    (f"stored / offered {STORED}", count("stored", "offered"), None),
    ("clients closed by the server", number("closed", "d"), None),
    *TRAFFIC_ROWS,
    ("server CPU (% of a core)", number("server_cpu_percent", ".0f"), "server_cpu_percent"),
    (
        "server CPU µs / delivery",
        number("server_cpu_us_per_delivery", ".2f"),
        "server_cpu_us_per_delivery",
    ),
    (
        f"loop thread CPU µs / delivery {THREADS}",
        number("loop_cpu_us_per_delivery", ".2f"),
        None,
    ),
    (
        f"store threads CPU µs / message stored {THREADS}",
        number("store_cpu_us_per_message", ".1f"),
        None,
    ),
    (
        f"server write calls / delivery {WRITES}",
        number("server_writes_per_delivery", ".2f"),
        "server_writes_per_delivery",
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


BEFORE = "⁵"
"""Footnote mark: GuiGui at an earlier revision, in the same run (``--before``)."""


def table(results: list[Result], before: str | None = None) -> str:
    """A Markdown table: each figure for GuiGui, ngIRCd and their ratio, per scenario.

    With ``before`` (a revision's name), a first column gives GuiGui at that
    revision, measured in the same run. The cluster and files scenarios are not
    in it: each has a section of its own (``report``).
    """
    header = ["scenario", "figure", "GuiGui", "ngIRCd", "GuiGui/ngIRCd"]
    if before:
        header.insert(2, f"GuiGui before {BEFORE}")
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]
    for result in results:
        if result.scenario.kind in SECTIONS:
            continue
        mine, theirs = result.guigui, result.irc
        for label, show, key in rows_of(result):
            ratio = ""
            if key and theirs is not None and theirs.get(key) and mine.get(key) is not None:
                ratio = f"{mine[key] / theirs[key]:.2f}"
            other = show(theirs) if theirs is not None else f"n/a {STORED}"
            cells = [result.scenario.name, label, show(mine), other, ratio]
            if before:
                cells.insert(2, show(result.before) if result.before is not None else "")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


BCRYPT_NOTE = (
    f"with bcrypt cost {BCRYPT_COST} for the logins (the default is {DEFAULT_BCRYPT_COST})."
)


def notes(results: list[Result], before: str | None = None) -> str:
    """The footnotes of the table, and what each scenario had to say."""
    lines = [
        f"{STORED} ngIRCd stores nothing: its stored figures are n/a. GuiGui answers a SAY"
        " with OK once the message is stored; the senders count those OKs. Stored msgs/s is"
        " the OKs over the time until the last OK.",
    ]
    lines.append(
        f"{WRITES} The calls that hand output to the kernel (write, writev, send, sendmsg),"
        " counted during the traffic by perf's tracepoints (in the kernel: the servers are"
        " not slowed); n/a where perf cannot count them. One per delivery means one system"
        " call per reader per message."
    )
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
        f"{THREADS} GuiGui's CPU thread by thread (/proc/PID/task, its threads named for the"
        " OS): the event loop's per delivery (reading, checking, fan-out, send() calls), and"
        " the store worker's and the SQLite checkpointer's per message stored (the group"
        " commits, whose GIL time competes with the loop's). ngIRCd has one thread: n/a."
    )
    if before:
        lines.append(
            f"{BEFORE} GuiGui at {before}, checked out and run in this same run, with the"
            " same settings, before GuiGui now and ngIRCd (bench/revisions.py); blank for the"
            " scenarios it did not run."
        )
    lines.append(f"GuiGui ran {BCRYPT_NOTE} Each scenario starts both servers afresh.")
    for result in results:
        if result.scenario.kind not in SECTIONS:  # their notes are in their own sections
            lines.extend(result.notes)
    return "\n".join(f"- {line}" for line in lines)


def report(results: list[Result], before: str | None = None) -> str:
    """The scenarios' table and notes, then the files and cluster sections, if each was run."""
    parts = []
    if any(result.scenario.kind not in SECTIONS for result in results):
        parts.append(f"{table(results, before)}\n\n{notes(results, before)}")
    for result in results:
        if result.scenario.kind == "uploads":
            parts.append(uploads_report(result, f"GuiGui runs {BCRYPT_NOTE}"))
        elif result.scenario.kind == "cluster":
            parts.append(cluster_report(result))
    return "\n\n".join(parts)


def main() -> None:
    """Run the scenarios, print the table and (not with --quick) write it to --output."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a small version of each scenario, to check it works"
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="e.g. A,C,D")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument(
        "--before",
        metavar="REV",
        help="also run GuiGui as it was at this git revision (fan-out and reconnect scenarios)",
    )
    args = parser.parse_args()
    names = args.scenarios.split(",")
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; choose among {','.join(SCENARIOS)}")
    build_loadgen()
    chosen = [(QUICK if args.quick else SCENARIOS)[name] for name in names]
    print(f"GuiGui runs {BCRYPT_NOTE}", flush=True)
    results = []
    before = describe(args.before) if args.before else None
    if args.before and before is None:
        parser.error(f"--before {args.before}: git knows no such revision here")
    with tempfile.TemporaryDirectory() as temporary, contextlib.ExitStack() as stack:
        old_tree = None
        if args.before:
            old_tree = stack.enter_context(checked_out(args.before, Path(temporary) / "before"))
            print(f"GuiGui before: {before}", flush=True)
        for scenario in chosen:
            print(f"scenario {scenario.name}: {scenario.describe()}", flush=True)
            results.append(run_scenario(scenario, Path(temporary) / scenario.name, old_tree))
    text = report(results, before)
    print(text)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"
    if not args.quick:
        args.output.write_text(
            "# Fan-out benchmark: GuiGui and ngIRCd\n\n"
            f"Machine: {machine}. Both servers on loopback, one C load generator"
            " (`bench/loadgen.c`); written by `python -m bench.fanout`.\n\n"
            f"{text}\n{kept_section(args.output)}"
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
