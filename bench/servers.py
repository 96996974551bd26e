"""The benchmark's processes: the servers it starts, the load generator, /proc readings.

Every server runs on loopback with its soft limit on open files raised to the
hard limit, its output appended to a log file; ``running`` starts one and
stops it, showing the end of its log when something failed meanwhile.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.stored_messages import mysql_database
from guigui.server.open_files import raise_open_file_limit

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

Figures = dict[str, Any]
"""A run's figures: the load generator's JSON, and what the driver adds to it."""


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


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) of each thread of ``pid``, summed by the thread's OS name.

    GuiGui names its threads for the OS (``guigui/server/thread_names.py``):
    ``event-loop``, ``store``, ``sqlite-checkpoint``, ``bcrypt_0``...
    """
    used: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICKS
    return used


def rss_kib(pid: int) -> int:
    """Resident memory of a process, in KiB."""
    found = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(found.group(1)) if found else 0


WRITE_CALLS = (
    "syscalls:sys_enter_write",
    "syscalls:sys_enter_writev",
    "syscalls:sys_enter_sendto",
    "syscalls:sys_enter_sendmsg",
)
"""The system calls that hand output to the kernel (GuiGui uses send, ngIRCd write)."""


class WriteCounter:
    """Counts the write system calls of some processes, with perf's tracepoints.

    ``start`` before the traffic, ``stop`` after it: the number of calls, or
    None where perf cannot count them here (not installed, no tracepoints, not
    permitted). Tracepoints count in the kernel: the servers are not slowed the
    way strace's ptrace would slow them.
    """

    def __init__(self, pids: list[int], directory: Path) -> None:
        self.pids = pids
        self.output = directory / "perf-writes.csv"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Begin counting (nothing happens without perf)."""
        perf = shutil.which("perf")
        if perf is None:
            return
        with self.output.open("wb") as output:
            self.process = subprocess.Popen(
                [perf, "stat", "-x,", "-e", ",".join(WRITE_CALLS),
                 "-p", ",".join(map(str, self.pids))],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=output,
            )  # fmt: skip
        time.sleep(0.2)  # perf attaches before the traffic starts

    def stop(self) -> int | None:
        """Stop counting; the calls counted, or None if they could not be."""
        if self.process is None:
            return None
        self.process.send_signal(2)  # SIGINT: perf prints its counts and exits
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return None
        total = 0
        for line in self.output.read_text(errors="replace").splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[2] in WRITE_CALLS:
                if not fields[0].isdigit():  # "<not supported>", "<not counted>"
                    return None
                total += int(fields[0])
        return total


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


def guigui_server(
    directory: Path,
    name: str = "guigui",
    database: str | None = None,
    cluster: str | None = None,
    root: Path = ROOT,
    options: Sequence[str] = (),
) -> Server:
    """GuiGui with its limits off (the load generator is one IP), on SQLite unless told.

    With ``cluster`` (a Redis URL) it is a node of a cluster named ``name``;
    ``root`` is the source tree it runs from (another revision's, for the
    "before" column: see ``bench.revisions``); ``options`` are more
    command-line options.
    """
    port = free_port()
    command = [
        sys.executable, str(root / "run_server.py"), "--headless", "--port", str(port),
        "--bcrypt-cost", str(BCRYPT_COST), "--message-rate", "0", "--max-connections-per-ip", "0",
        "--registrations-per-ip-per-hour", "0", "--data-dir", str(directory / name),
        "--log-level", "WARNING",
    ]  # fmt: skip
    if database:
        command += ["--db", database]
    if cluster:
        command += ["--cluster", cluster, "--node-name", name]
    command += options
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

    name = "loadgen"
    """What its errors call it."""

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
        return RuntimeError(
            f"{self.name} {what}: {self.stderr.read_text(errors='replace').strip()}"
        )

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


def fresh_mariadb() -> tuple[str | None, str]:
    """A new database on the machine's MariaDB and "", or None and why it is not reachable."""
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        url = mysql_database()
    return url, said.getvalue().strip().removesuffix(": skipping it")


REDIS_URL = "redis://127.0.0.1:6379/0"
"""The machine's Redis, which the cluster scenario's nodes share."""


def redis_pid(url: str = REDIS_URL) -> tuple[int | None, str]:
    """The process id of the Redis server at ``url`` and "", or None and why it is not reachable.

    It asks ``INFO server`` in RESP over a plain socket: a few bytes, no client library.
    """
    found = re.fullmatch(r"redis://([^:/]+)(?::(\d+))?(?:/\d*)?", url)
    if found is None:
        return None, f"not a redis:// URL: {url}"
    address = (found.group(1), int(found.group(2) or 6379))
    try:
        with socket.create_connection(address, timeout=5) as link:
            link.sendall(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
            reply = b""
            while b"process_id:" not in reply or not reply.endswith(b"\r\n"):
                chunk = link.recv(65536)
                if not chunk:
                    break
                reply += chunk
    except OSError as error:
        return None, f"Redis not reachable at {address[0]}:{address[1]} ({error})"
    pid = re.search(rb"process_id:(\d+)", reply)
    if pid is None:
        return None, f"Redis at {address[0]}:{address[1]} did not answer INFO: {reply[:80]!r}"
    return int(pid.group(1)), ""


def mariadb_pid() -> int | None:
    """The process id of the machine's MariaDB server, if one runs here."""
    for name in ("mariadbd", "mysqld"):
        found = subprocess.run(["pgrep", "-xo", name], capture_output=True, text=True)
        if found.returncode == 0:
            return int(found.stdout.split()[0])
    return None
