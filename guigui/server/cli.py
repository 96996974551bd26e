"""Command line of the server: ``python run_server.py [serve options] | SUBCOMMAND ...``.

Without a subcommand it runs the chat server until SIGINT or SIGTERM, which
stop it cleanly (pending messages stored, pending writes flushed).

Exit status: 0 done, 1 the command failed (database, file, bad value),
2 the command line cannot work as given (argparse's usage errors, or a
password to ask for with no terminal to ask it on).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import getpass
import logging
import os
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path

from guigui.common.i18n import set_language
from guigui.common.protocol import DEFAULT_FILE_QUOTA, DEFAULT_MAX_FILE
from guigui.common.validation import login_problem, password_problem
from guigui.server.admin.api import AdminAPI
from guigui.server.admin.console import AdminConsole, stdin_lines, terminal_password
from guigui.server.admin.console_socket import (
    ADMIN_SOCKET_VARIABLE,
    DEFAULT_ADMIN_SOCKET,
    ConsoleSocketServer,
    relay,
)
from guigui.server.chat_server import ChatServer
from guigui.server.clock import now_ms
from guigui.server.config import DEFAULT_BCRYPT_COST, ServerConfig, default_data_dir
from guigui.server.demo_data import DEMO_PASSWORD, DemoDataRefused, load_demo_data
from guigui.server.hashing import hash_password
from guigui.server.open_files import raise_open_file_limit
from guigui.server.signals import SignalWatcher
from guigui.server.store import (
    DuplicateKey,
    StoreError,
    default_database_url,
    missing_database,
    open_store,
    shared_by_several_servers,
)
from guigui.server.store.backup import BackupError, check_backup, restore_backup, write_backup
from guigui.server.store.provisioning import (
    DEFAULT_APP_HOSTS,
    init_database,
    needs_app_password,
)
from guigui.server.tls import generate_self_signed

log = logging.getLogger("guigui.server")

DATABASE_URL_VARIABLE = "GUIGUI_DB"
"""The environment variable that gives the database URL when ``--db`` does not: a
service keeps the password out of its command line (and of ``ps``) this way."""


def _storage_options(*, after_a_command: bool = False) -> argparse.ArgumentParser:
    """The options that say where the data is, shared by the server and its commands.

    They are accepted before and after a command (``run_server.py --db URL init-db``
    and ``run_server.py init-db --db URL``). After a command they have no default
    (``SUPPRESS``): argparse would otherwise let the command's default overwrite
    the value given before it, and ``--db URL create-admin`` would create the admin
    in the default database.
    """
    options = argparse.ArgumentParser(add_help=False)

    def default(value: object) -> object:
        return argparse.SUPPRESS if after_a_command else value

    options.add_argument(
        "--data-dir",
        type=Path,
        default=default(default_data_dir()),
        help="directory of the embedded database (default: ./data)",
    )
    options.add_argument(
        "--db",
        metavar="URL",
        default=default(os.environ.get(DATABASE_URL_VARIABLE) or None),
        help=f"database URL (default: ${DATABASE_URL_VARIABLE}, else sqlite:///<data-dir>/guigui.db)",
    )
    options.add_argument(
        "--bcrypt-cost",
        type=int,
        default=default(DEFAULT_BCRYPT_COST),
        help=f"bcrypt cost factor (default {DEFAULT_BCRYPT_COST}; lower only for tests)",
    )
    options.add_argument("--log-level", default=default("INFO"), help="DEBUG, INFO, WARNING...")
    return options


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``run_server.py``."""
    storage = _storage_options()
    storage_after_a_command = _storage_options(after_a_command=True)
    parser = argparse.ArgumentParser(
        prog="run_server.py", description="GuiGui Chat server", parents=[storage]
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=None, help="port (0 = any free port)")
    parser.add_argument(
        "--heartbeat", type=float, default=None, help="seconds of silence before a PING"
    )
    parser.add_argument(
        "--message-rate",
        type=float,
        default=None,
        help="messages per second per connection (default 10; 0: no limit)",
    )
    parser.add_argument(
        "--max-connections-per-ip", type=int, default=None, help="default 64; 0: no limit"
    )
    parser.add_argument(
        "--registrations-per-ip-per-hour", type=int, default=None, help="default 20; 0: no limit"
    )
    parser.add_argument(
        "--retention-days",
        type=int,
        default=None,
        metavar="DAYS",
        help="delete messages older than DAYS days, checked every hour (default: keep all)",
    )
    parser.add_argument(
        "--max-file-mb",
        type=float,
        default=None,
        metavar="MB",
        help=f"largest file a user may send, in MiB (default {DEFAULT_MAX_FILE // 2**20})",
    )
    parser.add_argument(
        "--file-quota-mb",
        type=float,
        default=None,
        metavar="MB",
        help=f"MiB of files one user may keep (default {DEFAULT_FILE_QUOTA // 2**20})",
    )
    parser.add_argument(
        "--max-uploads",
        type=int,
        default=None,
        metavar="N",
        help="uploads one user may have in progress at once (default 8)",
    )
    parser.add_argument("--tls-cert", help="PEM certificate: clients must then use TLS")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument(
        "--cluster",
        metavar="redis://HOST:PORT/DB",
        help="run as one node of a cluster: live events through this Redis, with the other"
        " nodes on the same --db (MariaDB); see docs/CLUSTER.md",
    )
    parser.add_argument(
        "--node-name",
        default="",
        help="this node's name in the cluster (default: HOST:PORT)",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="no admin window: the admin console reads commands on standard input",
    )
    parser.add_argument(
        "--admin-socket",
        type=Path,
        metavar="PATH",
        help="also serve the admin console on this Unix socket (mode 0660), for"
        " 'run_server.py console' (a server run as a service)",
    )
    parser.add_argument(
        "--language",
        choices=("auto", "fr", "en"),
        default="auto",
        help="language of the admin panel and console (default auto: the system's locale)",
    )
    commands = parser.add_subparsers(dest="command")
    console = commands.add_parser(
        "console", help="the admin console of a running server, through its --admin-socket"
    )
    console.add_argument(
        "--socket",
        type=Path,
        default=Path(os.environ.get(ADMIN_SOCKET_VARIABLE) or DEFAULT_ADMIN_SOCKET),
        help=f"the server's --admin-socket (default: ${ADMIN_SOCKET_VARIABLE},"
        f" else {DEFAULT_ADMIN_SOCKET})",
    )
    admin = commands.add_parser(
        "create-admin",
        parents=[storage_after_a_command],
        help="create an admin account of the server side",
    )
    admin.add_argument("login")
    admin.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    cert = commands.add_parser(
        "gen-cert", help="make a self-signed TLS certificate for the server (for a LAN)"
    )
    cert.add_argument("--cert", type=Path, default=Path("data/server.crt"))
    cert.add_argument("--key", type=Path, default=Path("data/server.key"))
    cert.add_argument(
        "names", nargs="*", default=["localhost", "127.0.0.1"], help="host names and IPs"
    )
    init = commands.add_parser(
        "init-db",
        parents=[storage_after_a_command],
        help="create the database, its tables and (MySQL) the 'administrateur' account",
    )
    init.add_argument(
        "--app-password-stdin",
        action="store_true",
        help="read the password of the MySQL account 'administrateur' from standard input",
    )
    init.add_argument(
        "--app-host",
        action="append",
        dest="app_hosts",
        metavar="HOST",
        help="host part of the 'administrateur' account (repeatable;"
        " default: localhost and 127.0.0.1)",
    )
    demo = commands.add_parser(
        "demo-data",
        parents=[storage_after_a_command],
        help="fill a test store with a small demo company (users, rooms, conversations)",
    )
    demo.add_argument(
        "--force",
        action="store_true",
        help="load even if the store holds users of its own (demo users share a known password)",
    )
    backup = commands.add_parser(
        "backup",
        parents=[storage_after_a_command],
        help="copy every row of the database into FILE (gzip'd JSON lines), while it serves",
    )
    backup.add_argument("file", type=Path, metavar="FILE")
    restore = commands.add_parser(
        "restore",
        parents=[storage_after_a_command],
        help="fill an empty database from a backup FILE (from SQLite or MariaDB alike)",
    )
    restore.add_argument("file", type=Path, metavar="FILE")
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace every row of a database that already holds data",
    )
    return parser


class UsageError(Exception):
    """The command cannot run as given; the message says what to do instead."""


def database_url(args: argparse.Namespace) -> str:
    """The database URL the arguments ask for."""
    return str(args.db) if args.db else default_database_url(args.data_dir)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "create-admin":
            return create_admin(args)
        if args.command == "init-db":
            return init_db(args)
        if args.command == "console":
            set_language(args.language)  # the console's own words, as the server's
            return relay(args.socket)
        if args.command == "demo-data":
            return demo_data(args)
        if args.command == "backup":
            return backup_command(args)
        if args.command == "restore":
            return restore_command(args)
        if args.command == "gen-cert":
            print(f"fingerprint (SHA-256): {generate_self_signed(args.cert, args.key, args.names)}")
            print(f"start with: --tls-cert {args.cert} --tls-key {args.key}")
            return 0
        return serve(args)
    except UsageError as error:
        print(f"run_server.py {args.command}: error: {error}", file=sys.stderr)
        return 2
    except (StoreError, ValueError, OSError) as error:
        log.error("%s", error)
        return 1


def serve(args: argparse.Namespace) -> int:
    """Run the server until a signal stops it."""
    config = ServerConfig(
        database_url=database_url(args),
        host=args.host,
        bcrypt_cost=args.bcrypt_cost,
        files_dir=str(args.data_dir / "files"),
    )
    if args.max_file_mb is not None:
        config = dataclasses.replace(config, max_file=int(args.max_file_mb * 2**20))
    if args.file_quota_mb is not None:
        config = dataclasses.replace(config, file_quota=int(args.file_quota_mb * 2**20))
    if args.max_uploads is not None:
        config = dataclasses.replace(config, max_uploads=args.max_uploads)
    if args.port is not None:
        config = dataclasses.replace(config, port=args.port)
    if args.heartbeat is not None:
        config = dataclasses.replace(config, heartbeat=args.heartbeat)
    if args.message_rate is not None:
        config = dataclasses.replace(config, message_rate=args.message_rate)
    if args.max_connections_per_ip is not None:
        config = dataclasses.replace(config, max_connections_per_ip=args.max_connections_per_ip)
    if args.registrations_per_ip_per_hour is not None:
        config = dataclasses.replace(
            config, registrations_per_ip_per_hour=args.registrations_per_ip_per_hour
        )
    if args.retention_days is not None:
        config = dataclasses.replace(config, message_retention_days=args.retention_days)
    if args.tls_cert:
        config = dataclasses.replace(config, tls_cert=args.tls_cert, tls_key=args.tls_key)
    cluster = None
    if args.cluster:
        if not shared_by_several_servers(config.database_url):
            raise ValueError("--cluster needs a database the nodes share: --db mysql://...")
        from guigui.server.cluster.node import ClusterNode

        config = dataclasses.replace(config, cluster_url=args.cluster, node_name=args.node_name)
        cluster = ClusterNode
    if config.bcrypt_cost < DEFAULT_BCRYPT_COST:
        log.warning("bcrypt cost lowered to %d: for tests and benchmarks only", config.bcrypt_cost)
    log.info("open-file limit: %d (about as many clients)", raise_open_file_limit())
    server = ChatServer(config, cluster=cluster)

    def on_signal(signum: int) -> None:
        # On the watcher's thread, not in a signal handler: logging and
        # request_stop may take their locks here (see guigui.server.signals).
        log.info("signal %d: stopping", signum)
        server.request_stop()

    # Watched before the server listens: from its first client on, a signal
    # stops it cleanly (one that comes before the loop runs waits for it).
    signals = SignalWatcher(on_signal)
    signals.install()
    console_socket: ConsoleSocketServer | None = None
    try:
        if args.admin_socket:
            # Before the server listens: a socket another server holds stops this
            # one here, before it has served anyone.
            console_socket = ConsoleSocketServer(server, args.admin_socket)
            console_socket.start()
        server.start()
        # What exists now (modules, the loaded users and rooms) lives as long as the
        # process: keep it out of the cyclic GC's full collections, which otherwise
        # rescan it all and pause the loop (measured: 7.8 ms per full collection
        # after start, 0.0 ms after the freeze). Done here, by the process's owner,
        # not in ChatServer: a test process runs many servers one after another.
        gc.freeze()
        set_language(args.language)
        api = AdminAPI(server)
        if not args.headless and os.environ.get("DISPLAY"):
            from guigui.server.admin.panel import run_panel  # Tk only where there is a display

            run_panel(server, api)  # Tk in the main thread until the window closes
        else:
            ask = terminal_password if sys.stdin.isatty() else None
            console = AdminConsole(api, stdin_lines(), sys.stdout, ask)
            threading.Thread(target=console.run, name="admin-console", daemon=True).start()
        server.wait()
    finally:
        signals.uninstall()
        if console_socket is not None:
            console_socket.close()
    return 0


def _read_password(from_stdin: bool, stdin_option: str) -> str:
    """A password from standard input's first line, or asked twice on the terminal.

    ``UsageError`` when it must be asked but standard input is no terminal
    (a pipe, a service, /dev/null): say how to pass it instead of failing on
    an empty read.
    """
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError(
            f"no terminal to ask the password on: pass it on standard input with {stdin_option}"
        )
    try:
        first = getpass.getpass("Password: ")
        again = getpass.getpass("Again: ")
    except EOFError:
        raise UsageError(f"no password given (or pass it with {stdin_option})") from None
    if again != first:
        raise ValueError("the two passwords differ")
    return first


def init_db(args: argparse.Namespace) -> int:
    """Create the database and what the server needs in it; safe to run twice."""
    url = database_url(args)
    app_password = None
    if needs_app_password(url):
        app_password = _read_password(args.app_password_stdin, "--app-password-stdin")
        problem = password_problem(app_password)
        if problem:
            raise ValueError(f"password of 'administrateur': {problem}")
    print(init_database(url, app_password, args.app_hosts or DEFAULT_APP_HOSTS))
    return 0


def create_admin(args: argparse.Namespace) -> int:
    """Create an admin account with a password read from a prompt or stdin."""
    problem = login_problem(args.login)
    if problem:
        raise ValueError(f"login: {problem}")
    password = _read_password(args.password_stdin, "--password-stdin")
    problem = password_problem(password)
    if problem:
        raise ValueError(f"password: {problem}")
    store = open_store(database_url(args))
    try:
        store.migrate()
        store.create_admin(args.login, hash_password(password, args.bcrypt_cost), now_ms())
    except DuplicateKey:
        log.error("an admin named %r already exists", args.login)
        return 1
    finally:
        store.close()
    print(f"admin {args.login!r} created")
    return 0


def demo_data(args: argparse.Namespace) -> int:
    """Load the demo company into the store (missing parts only) and say what was done."""
    store = open_store(database_url(args))
    try:
        store.migrate()
        report = load_demo_data(store, args.bcrypt_cost, now_ms(), date.today(), force=args.force)
    except DemoDataRefused as refused:
        print(f"run_server.py demo-data: {refused}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(report.summary())
    print(f"every demo user's password: {DEMO_PASSWORD}  (for example: cdupont / {DEMO_PASSWORD})")
    if not report.already_present:
        print("restart the server if it was running: it reads users and rooms at start")
    return 0


def backup_command(args: argparse.Namespace) -> int:
    """Write a backup of the database into ``args.file`` (the server may be running)."""
    url = database_url(args)
    missing = missing_database(url)
    if missing is not None:
        print(f"run_server.py backup: error: no database at {missing}", file=sys.stderr)
        return 1
    store = open_store(url)
    try:
        summary = write_backup(store, args.file)
    except BackupError as error:
        print(f"run_server.py backup: error: {error}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(
        f"backup written: {summary.path} (schema version {summary.header.schema_version};"
        f" rows: {summary.describe_rows()})"
    )
    return 0


def restore_command(args: argparse.Namespace) -> int:
    """Fill the database from a backup; exit 1, with nothing changed, when it cannot."""
    try:
        check_backup(args.file)  # before opening the store: a bad file leaves no trace at all
    except (BackupError, OSError) as error:
        print(f"run_server.py restore: error: {error}", file=sys.stderr)
        return 1
    store = open_store(database_url(args))
    try:
        summary = restore_backup(store, args.file, force=args.force, checked=True)
    except BackupError as error:
        print(f"run_server.py restore: error: {error}", file=sys.stderr)
        return 1
    finally:
        store.close()
    if summary.replaced:
        replaced = ", ".join(f"{table} {count}" for table, count in summary.replaced.items())
        print(f"replaced what the database held (rows: {replaced})")
    written = datetime.fromtimestamp(summary.header.created_at / 1000, UTC)
    print(
        f"restored {summary.path} (taken {written:%Y-%m-%d %H:%M:%S} UTC, schema version"
        f" {summary.header.schema_version}, from {summary.header.dialect}; rows:"
        f" {summary.describe_rows()})"
    )
    return 0
