"""Fan-out benchmark: GuiGui and ngIRCd side by side, with the same C load generator.

    python -m bench.fanout [--quick] [--scenarios A,B]

Builds ``bench/loadgen`` (``loadgen.c``) with gcc, starts ngIRCd (anti-flood
penalties off, no connection caps, no DNS/Ident/PAM) and GuiGui (SQLite,
message and connection limits off, bcrypt cost 4 for the logins) on loopback,
runs each scenario against both, reads each server's CPU from
``/proc/PID/stat`` and its memory from ``/proc/PID/status``, prints one table
with the GuiGui/ngIRCd ratio of each figure and writes ``bench/RESULTS.md``.

Scenarios so far: A (100 clients, 5 senders, 1,000 msgs/s), A-max (the same
with 20,000 msgs/s offered), B (1,000 clients, 10 senders, 100 msgs/s).
"""

from __future__ import annotations

import argparse
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOADGEN = ROOT / "bench" / "loadgen"
TICKS = os.sysconf("SC_CLK_TCK")

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


@dataclass(frozen=True)
class Scenario:
    """How many clients, senders and messages per second, for how long."""

    name: str
    clients: int
    senders: int
    rate: int
    seconds: float


SCENARIOS = {
    "A": Scenario("A", 100, 5, 1000, 10),
    "A-max": Scenario("A-max", 100, 5, 20000, 10),
    "B": Scenario("B", 1000, 10, 100, 10),
}
QUICK = {"A": Scenario("A", 20, 2, 200, 2)}


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
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


def wait_port(port: int, timeout: float = 30.0) -> None:
    """Until something accepts connections on the port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def start_guigui(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    """GuiGui on SQLite with its limits off (the load generator is one IP)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run_server.py"), "--headless", "--port", str(port),
         "--bcrypt-cost", "4", "--message-rate", "0", "--max-connections-per-ip", "0",
         "--registrations-per-ip-per-hour", "0", "--data-dir", str(directory / "guigui"),
         "--log-level", "WARNING"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip
    wait_port(port)
    return process, port


def start_ngircd(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    """ngIRCd in the foreground with the benchmark's configuration."""
    binary = shutil.which("ngircd") or "/usr/sbin/ngircd"
    port = free_port()
    conf = directory / "ngircd.conf"
    conf.write_text(NGIRCD_CONF.format(port=port))
    process = subprocess.Popen(
        [binary, "-n", "-f", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_port(port)
    return process, port


def run(protocol: str, port: int, pid: int, scenario: Scenario) -> dict[str, Any]:
    """One scenario against one server: the load generator's figures plus the server's."""
    rss_before = rss_kib(pid)
    cpu_before = cpu_seconds(pid)
    done = subprocess.run(
        [str(LOADGEN), protocol, "127.0.0.1", str(port), str(scenario.clients),
         str(scenario.senders), str(scenario.rate), str(scenario.seconds)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"loadgen {protocol} failed: {done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout)
    server_cpu = cpu_seconds(pid) - cpu_before
    figures["server_cpu_percent"] = 100 * server_cpu / figures["seconds"]
    figures["server_cpu_us_per_delivery"] = 1e6 * server_cpu / max(1, figures["deliveries"])
    figures["server_rss_kib_per_client"] = (rss_kib(pid) - rss_before) / scenario.clients
    return figures


Row = tuple[str, Callable[[dict[str, Any]], str], str | None]
ROWS: list[Row] = [
    ("delivered / expected", lambda f: f"{f['deliveries']}/{f['expected']}", None),
    ("deliveries/s", lambda f: f"{f['deliveries_per_second']:,.0f}", "deliveries_per_second"),
    ("latency p50 (ms)", lambda f: f"{f['p50_ms']:.2f}", "p50_ms"),
    ("latency p99 (ms)", lambda f: f"{f['p99_ms']:.2f}", "p99_ms"),
    ("latency max (ms)", lambda f: f"{f['max_ms']:.2f}", "max_ms"),
    ("server CPU (% of a core)", lambda f: f"{f['server_cpu_percent']:.0f}", "server_cpu_percent"),
    (
        "server CPU µs / delivery",
        lambda f: f"{f['server_cpu_us_per_delivery']:.2f}",
        "server_cpu_us_per_delivery",
    ),
    (
        "server RSS KiB / client",
        lambda f: f"{f['server_rss_kib_per_client']:.1f}",
        "server_rss_kib_per_client",
    ),
    ("connect + log in (s)", lambda f: f"{f['ready_seconds']:.2f}", "ready_seconds"),
    ("load generator CPU (s)", lambda f: f"{f['loadgen_cpu_seconds']:.2f}", "loadgen_cpu_seconds"),
]


def table(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    """A Markdown table: each figure for GuiGui, ngIRCd and their ratio, per scenario."""
    lines = ["| scenario | figure | GuiGui | ngIRCd | GuiGui/ngIRCd |", "|---|---|---:|---:|---:|"]
    for name, pair in results.items():
        guigui, irc = pair["guigui"], pair["irc"]
        for label, show, key in ROWS:
            ratio = ""
            if key and irc[key]:
                ratio = f"{guigui[key] / irc[key]:.2f}"
            lines.append(f"| {name} | {label} | {show(guigui)} | {show(irc)} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    """Run the scenarios and write bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a small scenario A, to check it works"
    )
    parser.add_argument("--scenarios", default="A,A-max,B")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    build_loadgen()
    chosen = QUICK if args.quick else {n: SCENARIOS[n] for n in args.scenarios.split(",")}
    print("GuiGui runs with bcrypt cost 4 for the logins (the default is 12)", flush=True)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        guigui, guigui_port = start_guigui(directory)
        ngircd, ngircd_port = start_ngircd(directory)
        try:
            for name, scenario in chosen.items():
                print(f"scenario {name}: {scenario}", flush=True)
                results[name] = {
                    "guigui": run("guigui", guigui_port, guigui.pid, scenario),
                    "irc": run("irc", ngircd_port, ngircd.pid, scenario),
                }
        finally:
            for process in (guigui, ngircd):
                process.terminate()
                process.wait(30)
    report = table(results)
    print(report)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"
    if not args.quick:
        args.output.write_text(
            "# Fan-out benchmark: GuiGui and ngIRCd\n\n"
            f"Machine: {machine}. Both servers on loopback, one C load generator"
            " (`bench/loadgen.c`); written by `python -m bench.fanout`.\n\n"
            f"{report}\n"
        )


if __name__ == "__main__":
    main()
