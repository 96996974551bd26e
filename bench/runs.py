"""One run of the load generator against running servers, and how its figures are shown."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal, Protocol

from bench.servers import (
    HOST,
    Figures,
    LoadGen,
    Server,
    WriteCounter,
    cpu_seconds,
    rss_kib,
    thread_cpu_seconds,
)

Kind = Literal["fanout", "reconnect", "stores", "cluster", "uploads"]


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
    uploaders: int = 0
    """Kind "uploads": clients uploading files to the room during the traffic."""
    file_size: int = 0
    """Kind "uploads": bytes per file."""

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
        if self.kind == "cluster":
            text += ", GuiGui alone (SQLite, MariaDB), then 1 and 2 cluster nodes"
        if self.kind == "uploads":
            text += (
                f", GuiGui alone, without uploads then while {self.uploaders} clients upload"
                f" {self.file_size / 2**20:g} MiB files"
            )
        return text


@dataclasses.dataclass
class Result:
    """One scenario's figures for each server (``irc`` None: not comparable) and its notes."""

    scenario: Scenario
    guigui: Figures
    irc: Figures | None
    notes: list[str] = dataclasses.field(default_factory=list)
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)
    """Parts not run (scenario E: "MariaDB"), and why."""
    before: Figures | None = None
    """GuiGui at another revision (``--before``), in the same run; None when not run."""


SETTLE_SECONDS = 0.5
"""Pause between the last login and the traffic, before the server's CPU is read."""


class Alongside(Protocol):
    """Other load that runs over the same window as the traffic (scenario A-files' uploads)."""

    def start(self) -> None:
        """Begin, just before the server's CPU is first read and the traffic starts."""

    def stop(self) -> None:
        """End, once the traffic is done and the server's CPU read again."""


def run_fanout(
    protocol: str,
    servers: Server | Sequence[Server],
    scenario: Scenario,
    directory: Path,
    services: Mapping[str, int] | None = None,
    alongside: Alongside | None = None,
) -> Figures:
    """A fan-out scenario (with its idle connections first) against running servers.

    Several servers are the nodes of one cluster: the load generator spreads its
    clients over them round robin, the server figures are the nodes' sums and
    ``node_cpu_percent`` lists each node's. ``services`` names other processes
    (Redis, MariaDB) whose CPU over the same window is ``<name>_cpu_percent``.
    ``alongside`` is started before that window and stopped after it.
    """
    nodes = [servers] if isinstance(servers, Server) else list(servers)
    pids = [node.pid for node in nodes]
    watched = dict(services or {})
    rss_before = sum(map(rss_kib, pids))
    loadgen = LoadGen(
        ["fanout", protocol, HOST, ",".join(str(node.port) for node in nodes),
         str(scenario.clients), str(scenario.senders), str(scenario.rate), str(scenario.seconds),
         str(scenario.idle)],
        directory,
    )  # fmt: skip
    try:
        rss_idle = rss_before
        if scenario.idle:
            loadgen.expect("IDLE_READY")
            rss_idle = sum(map(rss_kib, pids))
            loadgen.go()
        # The server's CPU is read around the traffic only: not while clients log
        # in or out (each login or logout tells every session, N² for both servers).
        loadgen.expect("READY")
        time.sleep(SETTLE_SECONDS)  # the last logins' presence events drain
        if alongside is not None:
            alongside.start()
        writes = WriteCounter(pids, directory)
        writes.start()
        cpu_before = [cpu_seconds(pid) for pid in [*pids, *watched.values()]]
        threads_before = thread_cpu_seconds(pids[0])
        loadgen.go()
        loadgen.expect("DONE")
        cpu_after = [cpu_seconds(pid) for pid in [*pids, *watched.values()]]
        threads_after = thread_cpu_seconds(pids[0])
        write_calls = writes.stop()
        rss_after = sum(map(rss_kib, pids))
        if alongside is not None:
            alongside.stop()
        loadgen.go()
        figures = loadgen.figures()
    finally:
        loadgen.kill()
    used = [after - before for before, after in zip(cpu_before, cpu_after, strict=True)]
    server_cpu = sum(used[: len(pids)])
    figures["server_cpu_percent"] = 100 * server_cpu / figures["seconds"]
    figures["server_cpu_us_per_delivery"] = 1e6 * server_cpu / max(1, figures["deliveries"])
    if "event-loop" in threads_after and len(nodes) == 1:  # GuiGui's CPU, thread by thread
        threads = {
            name: after - threads_before.get(name, 0.0) for name, after in threads_after.items()
        }
        loop_cpu = threads.get("event-loop", 0.0)
        store_cpu = threads.get("store", 0.0) + threads.get("sqlite-checkpoint", 0.0)
        figures["loop_cpu_us_per_delivery"] = 1e6 * loop_cpu / max(1, figures["deliveries"])
        if figures.get("stored"):
            figures["store_cpu_us_per_message"] = 1e6 * store_cpu / figures["stored"]
    if write_calls is not None:  # perf counted them (None: not on this machine)
        figures["server_writes_per_delivery"] = write_calls / max(1, figures["deliveries"])
    figures["server_rss_kib_per_client"] = (rss_after - rss_idle) / scenario.clients
    if scenario.idle:
        figures["server_rss_kib_per_idle"] = (rss_idle - rss_before) / scenario.idle
    if len(nodes) > 1:
        figures["node_cpu_percent"] = [100 * cpu / figures["seconds"] for cpu in used[: len(pids)]]
    for name, cpu in zip(watched, used[len(pids) :], strict=True):
        figures[f"{name}_cpu_percent"] = 100 * cpu / figures["seconds"]
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


Show = Callable[[Figures], str]
Row = tuple[str, Show, str | None]
"""A figure's label, how to show it, and the key its ratio is computed on (None: no ratio)."""


def count(done: str, of: str) -> Show:
    """Show ``done/of`` ("n/a" where the figures do not have it, e.g. IRC's stored)."""
    return lambda f: "n/a" if f.get(done) is None else f"{f[done]}/{f[of]}"


def number(key: str, form: str) -> Show:
    """Show one figure with a format ("n/a" where missing)."""
    return lambda f: "n/a" if f.get(key) is None else format(f[key], form)


TRAFFIC_ROWS: list[Row] = [
    ("deliveries/s", number("deliveries_per_second", ",.0f"), "deliveries_per_second"),
    ("latency p50 (ms)", number("p50_ms", ".2f"), "p50_ms"),
    ("latency p99 (ms)", number("p99_ms", ".2f"), "p99_ms"),
    ("latency max (ms)", number("max_ms", ".2f"), "max_ms"),
]
"""The rows of the traffic's pace, which every fan-out table shows."""
