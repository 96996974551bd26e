"""How many messages per second each store sustains, through the real server.

    python -m bench.stored_messages [--messages 20000] [--clients 20] [--window 64]

For each store (SQLite in a temporary directory; MariaDB in a temporary
database, when reachable) it starts ``run_server.py`` in its own process,
logs in ``--clients`` users and has each pipeline DIRECT messages (up to
``--window`` unanswered) to a user who is offline, so that what is measured is
storing, not fan-out: every OK means the message is committed. Group commit
lets one transaction hold every message waiting in the store worker's queue.

bcrypt runs at cost 4 here (logins are not what is measured).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from pathlib import Path

from guigui.common.codec import FrameDecoder, encode_frame
from guigui.common.protocol import MessageType

ROOT = Path(__file__).resolve().parents[1]
BCRYPT_COST = 4
PASSWORD = "bench password"


@dataclass
class Result:
    """One store's figures."""

    store: str
    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        """Stored messages per second."""
        return self.messages / self.seconds


def start_server(url: str, log_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``run_server.py`` on a free port, logging to ``log_path``; the process and its port."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "run_server.py"), "--port", "0", "--db", url,
             "--bcrypt-cost", str(BCRYPT_COST), "--message-rate", "0", "--headless"],
            stderr=log,
            cwd=ROOT,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"listening on [\d.]+:(\d+)", log_path.read_text(errors="replace"))
        if found:
            return process, int(found.group(1))
        if process.poll() is not None:
            raise RuntimeError(f"the server exited; see {log_path}")
        time.sleep(0.05)
    raise RuntimeError("the server did not start listening")


class Client:
    """A blocking protocol client, just enough for the benchmark."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.decoder = FrameDecoder(1 << 20)
        self.next_id = 1

    def send(self, message_type: int, **fields: object) -> None:
        """Send one request with the next id, without waiting for its answer."""
        self.sock.sendall(encode_frame(message_type, {"id": self.next_id, **fields}))
        self.next_id += 1

    def replies(self, count: int) -> int:
        """Read until ``count`` replies (OK or ERROR) arrived; returns how many were OK."""
        ok = seen = 0
        while seen < count:
            frame = self.decoder.next_frame()
            if frame is None:
                self.decoder.feed(self.sock.recv(1 << 16))
                continue
            if frame.type in (MessageType.OK, MessageType.ERROR):
                seen += 1
                ok += frame.type == MessageType.OK
        return ok

    def call(self, message_type: int, **fields: object) -> None:
        """Send one request and wait for its answer, which must be OK."""
        self.send(message_type, **fields)
        if self.replies(1) != 1:
            raise RuntimeError(f"request {message_type} failed")


def prepare_users(port: int, logins: list[str]) -> None:
    """Register the senders and the offline recipient."""
    client = Client(port)
    client.call(MessageType.HELLO, version=1, client="bench/1")
    for login in [*logins, "sink"]:
        client.call(
            MessageType.REGISTER, login=login, password=PASSWORD, first_name="Bench",
            last_name="Mark", email=f"{login}@bench.invalid",
        )  # fmt: skip
    client.sock.close()


def sender_process(
    port: int, logins: list[str], per_client: int, window: int, barrier: Barrier
) -> None:
    """Log the clients in, wait for the start signal, then pipeline DIRECT messages."""
    clients = []
    for login in logins:
        client = Client(port)
        client.call(MessageType.HELLO, version=1, client="bench/1")
        client.call(MessageType.LOGIN, login=login, password=PASSWORD)
        clients.append(client)
    barrier.wait()
    remaining = {id(c): per_client for c in clients}
    in_flight = {id(c): 0 for c in clients}
    text = "x" * 100
    while any(remaining.values()) or any(in_flight.values()):
        for client in clients:
            key = id(client)
            burst = min(window - in_flight[key], remaining[key])
            for _ in range(burst):
                client.send(MessageType.DIRECT, to="sink", text=text, nonce=uuid.uuid4().hex)
            remaining[key] -= burst
            in_flight[key] += burst
            if in_flight[key]:
                if client.replies(in_flight[key]) != in_flight[key]:
                    raise RuntimeError("a message was refused")
                in_flight[key] = 0
    barrier.wait()


def run_store(name: str, url: str, messages: int, clients: int, window: int) -> Result:
    """Measure one store."""
    log_path = Path(tempfile.gettempdir()) / f"guigui-bench-{name.lower()}.log"
    process, port = start_server(url, log_path)
    try:
        logins = [f"sender{n}" for n in range(clients)]
        prepare_users(port, logins)
        workers = 2
        per_client = messages // clients
        barrier = multiprocessing.Barrier(workers + 1)
        groups = [logins[n::workers] for n in range(workers)]
        procs = [
            multiprocessing.Process(
                target=sender_process, args=(port, group, per_client, window, barrier)
            )
            for group in groups
        ]
        for proc in procs:
            proc.start()
        barrier.wait()
        started = time.perf_counter()
        barrier.wait()
        elapsed = time.perf_counter() - started
        for proc in procs:
            proc.join()
            if proc.exitcode != 0:
                raise RuntimeError(f"a sender process failed ({proc.exitcode})")
        return Result(name, per_client * clients, elapsed)
    finally:
        process.terminate()
        process.wait(30)


def mysql_database() -> str | None:
    """A fresh database on the machine's MariaDB, or None when it is not reachable."""
    try:
        import pymysql

        server_url = os.environ.get("GUIGUI_TEST_MYSQL", "mysql://root@127.0.0.1:3306")
        from guigui.server.store.mysql_store import MySQLSettings

        settings = MySQLSettings.from_url(f"{server_url}/mysql")
        connection = settings.connect(with_database=False)
    except pymysql.err.MySQLError as error:
        print(f"MariaDB not reachable ({error}): skipping it", file=sys.stderr)
        return None
    name = f"guigui_bench_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    connection.close()
    return f"{server_url}/{name}"


def drop_mysql_database(url: str) -> None:
    """Drop the benchmark's database."""
    from guigui.server.store.mysql_store import MySQLSettings

    settings = MySQLSettings.from_url(url)
    connection = settings.connect(with_database=False)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{settings.database}`")
    connection.close()


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--window", type=int, default=64)
    args = parser.parse_args()
    print(f"bcrypt cost lowered to {BCRYPT_COST} for this benchmark (server default: 12)")
    results = []
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'guigui.db'}"
        results.append(run_store("SQLite", url, args.messages, args.clients, args.window))
    mysql_url = mysql_database()
    if mysql_url:
        try:
            results.append(
                run_store("MariaDB", mysql_url, args.messages, args.clients, args.window)
            )
        finally:
            drop_mysql_database(mysql_url)
    print(f"\n{args.clients} clients, up to {args.window} unanswered messages each\n")
    print("| store | messages stored | seconds | stored messages/s |")
    print("|---|---:|---:|---:|")
    for result in results:
        print(f"| {result.store} | {result.messages} | {result.seconds:.2f} | {result.rate:,.0f} |")


if __name__ == "__main__":
    main()
