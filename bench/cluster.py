"""The cluster scenario: A-max on one GuiGui server, then on one and on two cluster nodes.

Four runs of the same load, each on fresh servers and a fresh database:

- alone, SQLite: the server without ``--cluster``, as scenario A-max runs it;
- alone, MariaDB: the same on a fresh MariaDB database, still without
  ``--cluster``: what the nodes store in, without the cluster;
- 1 node: one ``--cluster`` node on a fresh MariaDB database and the machine's
  Redis;
- 2 nodes: two ``--cluster`` nodes on one fresh MariaDB database and the same
  Redis; the load generator spreads its clients over them round robin (client
  i on node i mod 2), senders included.

With two nodes the load generator tags each message with its sender's node and
counts every delivery as local (reader on the sender's node) or cross-node, so
that the cost of crossing Redis shows as latency; the CPU cost shows as the
nodes' CPU per delivery, one node against two. The CPU of Redis and MariaDB is
read over the same window (they are the machine's, shared with whatever else
runs on it).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from bench.runs import TRAFFIC_ROWS, Result, Row, Scenario, count, number, run_fanout
from bench.servers import (
    REDIS_URL,
    Figures,
    fresh_mariadb,
    guigui_server,
    mariadb_pid,
    redis_pid,
    running,
)
from bench.stored_messages import drop_mysql_database

ALONE_SQLITE = "alone, SQLite"
ALONE_MARIADB = "alone, MariaDB"
ONE_NODE = "1 node"
TWO_NODES = "2 nodes"
COLUMNS = (ALONE_SQLITE, ALONE_MARIADB, ONE_NODE, TWO_NODES)
"""The runs, in the table's order; the last two are ``--cluster`` nodes."""

NODE_COUNTS = {ONE_NODE: 1, TWO_NODES: 2}


def run_cluster(scenario: Scenario, directory: Path) -> Result:
    """The four runs; a column whose MariaDB or Redis is not reachable is skipped, with why."""
    result = Result(scenario, {}, None)
    with running(guigui_server(directory, "alone-sqlite")) as server:
        result.guigui[ALONE_SQLITE] = run_fanout("guigui", server, scenario, directory)
    database_pid = mariadb_pid()
    services = {"mariadb": database_pid} if database_pid else {}
    url, why = fresh_mariadb()
    if url is None:
        return skip(result, COLUMNS[1:], why)
    try:
        with running(guigui_server(directory, "alone-mariadb", url)) as server:
            result.guigui[ALONE_MARIADB] = run_fanout(
                "guigui", server, scenario, directory, services
            )
    finally:
        drop_mysql_database(url)
    redis, why = redis_pid()
    if redis is None:
        return skip(result, (ONE_NODE, TWO_NODES), why)
    services["redis"] = redis
    for column, nodes in NODE_COUNTS.items():
        url, why = fresh_mariadb()
        if url is None:
            return skip(result, (column,), why)
        try:
            result.guigui[column] = run_nodes(nodes, url, scenario, directory, services)
        finally:
            drop_mysql_database(url)
    return result


def run_nodes(
    nodes: int, database: str, scenario: Scenario, directory: Path, services: dict[str, int]
) -> Figures:
    """The load on ``nodes`` cluster nodes sharing ``database`` and the machine's Redis.

    The nodes start one after the other, so that the first has migrated the
    fresh database before the next one opens it.
    """
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(
                running(guigui_server(directory, f"node{nodes}-{index}", database, REDIS_URL))
            )
            for index in range(1, nodes + 1)
        ]
        return run_fanout("guigui", servers, scenario, directory, services)


def skip(result: Result, columns: tuple[str, ...], why: str) -> Result:
    """Mark ``columns`` as not run, and say so."""
    for column in columns:
        result.skipped[column] = why
    result.notes.append(f"{result.scenario.name}: {', '.join(columns)} skipped: {why}")
    print(f"scenario {result.scenario.name}: {', '.join(columns)} skipped: {why}", flush=True)
    return result


# ---- the tables ----------------------------------------------------------------


def node_shares(figures: Figures) -> str:
    """Each node's CPU, "97 + 95" ("" for a single server)."""
    shares = figures.get("node_cpu_percent")
    return " + ".join(f"{share:.0f}" for share in shares) if shares else ""


CLUSTER_ROWS: list[Row] = [
    ("delivered / expected", count("deliveries", "expected"), None),
    ("stored / offered", count("stored", "offered"), None),
    ("clients closed by the server", number("closed", "d"), None),
    *TRAFFIC_ROWS,
    ("servers' CPU, sum (% of a core)", number("server_cpu_percent", ".0f"), "server_cpu_percent"),
    ("each node's CPU (% of a core)", node_shares, None),
    ("servers' CPU µs / delivery", number("server_cpu_us_per_delivery", ".2f"),
     "server_cpu_us_per_delivery"),
    ("Redis CPU (% of a core)", number("redis_cpu_percent", ".0f"), None),
    ("MariaDB CPU (% of a core)", number("mariadb_cpu_percent", ".0f"), None),
    ("servers' RSS KiB / client", number("server_rss_kib_per_client", ".1f"), None),
    ("connect + log in (s)", number("ready_seconds", ".2f"), None),
    ("load generator CPU (s)", number("loadgen_cpu_seconds", ".2f"), None),
]  # fmt: skip


def cluster_table(result: Result) -> str:
    """Each figure of every run side by side, and 2 nodes over 1 node where that says something."""
    runs = result.guigui
    lines = [
        f"| figure | {' | '.join(COLUMNS)} | {TWO_NODES} / {ONE_NODE} |",
        f"|---|{'---:|' * (len(COLUMNS) + 1)}",
    ]
    for label, show, key in CLUSTER_ROWS:
        cells = [show(runs[column]) if column in runs else "skipped" for column in COLUMNS]
        ratio = ""
        one, two = runs.get(ONE_NODE, {}), runs.get(TWO_NODES, {})
        if key and one.get(key) and two.get(key) is not None:
            ratio = f"{two[key] / one[key]:.2f}"
        lines.append(f"| {label} | {' | '.join(cells)} | {ratio} |")
    return "\n".join(lines)


KINDS = [
    ("local (reader on the sender's node)", "local"),
    ("cross-node (reader on the other node)", "remote"),
]


def crossing_table(figures: Figures) -> str:
    """Local against cross-node deliveries of the two-node run: how many, and their latency."""
    lines = [
        f"| delivery ({TWO_NODES}) | deliveries | latency p50 (ms) | p99 (ms) | max (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, kind in KINDS:
        lines.append(
            f"| {label} | {figures[f'{kind}_deliveries']:,} | {figures[f'{kind}_p50_ms']:.2f}"
            f" | {figures[f'{kind}_p99_ms']:.2f} | {figures[f'{kind}_max_ms']:.2f} |"
        )
    ratios = [
        ratio(figures, f"remote_{figure}", f"local_{figure}")
        for figure in ("p50_ms", "p99_ms", "max_ms")
    ]
    lines.append(f"| cross-node / local | | {' | '.join(ratios)} |")
    return "\n".join(lines)


def ratio(figures: Figures, above: str, below: str) -> str:
    """``above / below`` with two decimals, or "" when ``below`` is 0."""
    return f"{figures[above] / figures[below]:.2f}" if figures[below] else ""


def crossing_cpu(runs: dict[str, Figures]) -> str:
    """The nodes' CPU beyond what one node spends per delivery, charged to what crossed.

    Each stored message crosses to the other node once (one event through
    Redis), then fans out there: the extra CPU is given per cross-node
    delivery and per message.
    """
    one, two = runs[ONE_NODE], runs[TWO_NODES]
    crossing = two["remote_deliveries"]
    if not crossing or not two.get("stored"):
        return "No delivery crossed nodes: the CPU cost of crossing is not measured."
    extra_us = (two["server_cpu_us_per_delivery"] - one["server_cpu_us_per_delivery"]) * two[
        "deliveries"
    ]
    redis_us = 1e4 * two.get("redis_cpu_percent", 0) * two["seconds"]
    return (
        f"CPU: the two nodes spent {two['server_cpu_us_per_delivery']:.2f} µs per delivery in"
        f" all, one node {one['server_cpu_us_per_delivery']:.2f} µs. Charged to the cross-node"
        f" deliveries alone ({crossing:,} of {two['deliveries']:,}), the difference is"
        f" {extra_us / crossing:+.2f} µs of the nodes' CPU per cross-node delivery, that is"
        f" {extra_us / two['stored']:+.0f} µs per message (each crosses to the other node once,"
        f" then fans out there); Redis spent {redis_us / crossing:.2f} µs per cross-node"
        f" delivery, {redis_us / two['stored']:.1f} µs per message."
    )


CLUSTER_NOTES = [
    "Each run starts its servers afresh; the MariaDB runs each have a fresh database"
    " (created and dropped by the benchmark, `GUIGUI_TEST_MYSQL` or root on"
    " 127.0.0.1:3306), the cluster nodes share the machine's Redis"
    f" ({REDIS_URL}).",
    "The nodes, the load generator, MariaDB and Redis share this machine's cores: the"
    " figures compare costs (CPU per delivery, latency), not how far a cluster of real"
    " machines scales.",
    "Servers' CPU is the sum of the nodes' (read from /proc over the traffic only, as for"
    " the other scenarios); Redis and MariaDB CPU are those of the machine's servers over the"
    " same window, anything else using them included.",
    "Local and cross-node deliveries: with several ports the load generator writes each"
    " text as `t<send time>p<sender's node index>` (client i is on node i mod 2); a reader"
    " on that node counts the delivery as local, a reader on the other node as cross-node.",
]


def cluster_report(result: Result) -> str:
    """The cluster scenario's section of the results: its tables and notes."""
    parts = [f"## Cluster: {result.scenario.describe()}", cluster_table(result)]
    notes = list(CLUSTER_NOTES)
    runs = result.guigui
    if TWO_NODES in runs and "remote_deliveries" in runs[TWO_NODES]:
        parts.append(crossing_table(runs[TWO_NODES]))
        if ONE_NODE in runs:
            notes.append(crossing_cpu(runs))
    notes.extend(result.notes)
    parts.append("\n".join(f"- {note}" for note in notes))
    return "\n\n".join(parts)
