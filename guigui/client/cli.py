"""The command-line client: ``python -m guigui.client.cli COMMAND ...``.

``login`` saves a resume token in the user's config directory; every other
command (but ``register``) reconnects with RESUME, so a script can run one
command per line. With several servers (``--server host:port,host:port``, or a
name with several DNS records), each command uses the first that answers.
Exit status: 0 done, 1 the server refused (the error code is printed), 2 bad
usage, 3 the server cannot be reached, 130 a transfer interrupted by Ctrl-C
(the same command again goes on where it stopped).

Everything printed goes through ``show``: the server's strings (messages,
logins, names, room names, errors) are other people's input, so the characters
a terminal would act on (ANSI escapes, C1 and bidi controls) are shown escaped.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import queue
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar

from guigui.client.addresses import AddressError, AddressRing, ServerAddress, parse_addresses
from guigui.client.connection import ChatConnection, ConnectionLost, RequestFailed
from guigui.client.transfers import DownloadCorrupt, Upload, describe_file
from guigui.client.trust import TrustPolicy
from guigui.common.codec import Frame
from guigui.common.messages import (
    AccessDecision,
    MessageEvent,
    PresenceEvent,
    Sanctioned,
    SessionOk,
    Shutdown,
)
from guigui.common.objects import ChatMessage
from guigui.common.protocol import DEFAULT_PORT
from guigui.common.validation import is_terminal_control, printable_for_terminal

T = TypeVar("T")

EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 1, 2, 3, 130
RECONNECTIONS = 3
"""Times a transfer reconnects and goes on after a lost connection before giving up."""


class CliError(Exception):
    """A failure to report in one line, with the exit status to use."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def config_dir() -> Path:
    """``$GUIGUI_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/guigui``, else ``~/.config/guigui``."""
    if os.environ.get("GUIGUI_CONFIG_DIR"):
        return Path(os.environ["GUIGUI_CONFIG_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "guigui"


# ---- output ------------------------------------------------------------------


def show(text: str, file: TextIO | None = None) -> None:
    """Print ``text`` (on standard output by default) with its terminal controls escaped."""
    print(printable_for_terminal(text), file=file if file is not None else sys.stdout, flush=True)


def json_line(data: dict[str, Any]) -> str:
    """``data`` as one line of JSON in which no character is a terminal control.

    ``json.dumps`` escapes the C0 controls itself but, with ``ensure_ascii=False``
    (kept so that "Général" stays readable), writes DEL, C1 and bidi controls
    raw: those are written as ``\\uXXXX`` too, which decodes to the same text.
    """
    line = json.dumps(data, ensure_ascii=False)
    return "".join(
        f"\\u{ord(character):04x}" if is_terminal_control(character) else character
        for character in line
    )


class Output:
    """Prints results for people, or one JSON object per line with ``--json``."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def emit(self, text: str, data: dict[str, Any]) -> None:
        """Print one result."""
        show(json_line(data) if self.as_json else text)

    def message(self, message: ChatMessage) -> None:
        """Print a chat message as ``#id [HH:MM] where sender: text``."""
        clock = datetime.fromtimestamp(message.ts / 1000).strftime("%H:%M")
        where = f"#{message.room}" if message.room else f"(dm {message.sender}→{message.recipient})"
        attached = ""
        if message.file is not None:
            file = message.file
            attached = f" [file {file.id}: {file.name}, {human_size(file.size)}, {file.type}]"
        self.emit(
            f"#{message.id} [{clock}] {where} {message.sender}: {message.text}{attached}",
            {"event": "message", **message.to_json()},
        )


def human_size(size: int) -> str:
    """``48213`` as ``47.1 KB``: bytes in powers of 1024, one decimal."""
    value = float(size)
    for unit in ("bytes", "KB", "MB"):
        if value < 1024 or unit == "MB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


class ProgressLine:
    """A transfer's progress on standard error: rewritten in place on a terminal.

    Elsewhere (a log, a pipe) one line every 25 %, so that a log stays short.
    """

    def __init__(self, name: str, quiet: bool) -> None:
        self.name = name
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._quarter = -1

    def __call__(self, done: int, total: int) -> None:
        """Show ``done`` of ``total`` bytes."""
        if self.quiet:
            return
        percent = 100 if total == 0 else done * 100 // total
        text = f"{self.name}: {percent:3d} % ({human_size(done)} of {human_size(total)})"
        if self.tty:
            end = "\n" if done >= total else ""
            sys.stderr.write("\r" + printable_for_terminal(text) + end)
            sys.stderr.flush()
        elif percent // 25 > self._quarter:
            self._quarter = percent // 25
            show(text, sys.stderr)


# ---- the saved session -------------------------------------------------------


def load_session(path: Path) -> dict[str, Any]:
    """The saved session (host, port, login, token), or ``CliError`` when there is none."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError("not logged in: run login first", EXIT_REFUSED) from None
    except (OSError, ValueError) as error:
        raise CliError(f"cannot read {path}: {error}", EXIT_REFUSED) from None
    return data


def save_session(path: Path, data: dict[str, Any]) -> None:
    """Save the session, readable by the user only (it holds a token)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(data, file)


def server_addresses(args: argparse.Namespace) -> list[ServerAddress]:
    """The servers to try, in order: ``--server``, else ``--host`` (one or more) and ``--port``."""
    text = args.server if args.server is not None else args.host
    try:
        return parse_addresses(text, args.port)
    except AddressError as error:
        option = "--server" if args.server is not None else "--host"
        raise CliError(f"{option}: {error}", EXIT_USAGE) from None


@contextmanager
def connected(args: argparse.Namespace) -> Iterator[ChatConnection]:
    """A connection to the server named by the arguments, closed afterwards."""
    trust = TrustPolicy(
        cafile=args.cafile,
        known_servers=config_dir() / "known_servers.json",
        on_new_server=lambda server, fingerprint: show(
            f"new server {server}: certificate fingerprint {fingerprint} (pinned)", sys.stderr
        ),
    )
    servers = AddressRing(args.addresses)
    try:
        connection = ChatConnection.connect_any(servers, tls=args.tls, trust=trust)
    except (OSError, ConnectionLost) as error:
        raise CliError(f"cannot reach the server at {servers}: {error}", EXIT_UNREACHABLE) from None
    try:
        yield connection
    finally:
        connection.close()


@contextmanager
def resumed(args: argparse.Namespace) -> Iterator[tuple[ChatConnection, SessionOk]]:
    """A connection with the saved session resumed."""
    saved = load_session(args.session_file)
    with connected(args) as connection:
        yield connection, connection.resume(str(saved["token"]))


def read_password(from_stdin: bool, confirm: bool) -> str:
    """A password from standard input or from a prompt (twice when ``confirm``)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        # getpass would fall back to reading a pipe with a warning, or fail on
        # /dev/null with a traceback: say how to give the password instead.
        raise CliError(
            "no terminal to ask the password on: pass it on standard input with --password-stdin",
            EXIT_USAGE,
        )
    try:
        password = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Again: ") != password:
            raise CliError("the two passwords differ", EXIT_USAGE)
    except EOFError:
        raise CliError("no password given", EXIT_USAGE) from None
    return password


# ---- commands ----------------------------------------------------------------


def cmd_register(args: argparse.Namespace, out: Output) -> None:
    """Create an account."""
    password = read_password(args.password_stdin, confirm=True)
    with connected(args) as connection:
        user = connection.register(
            args.login, password, args.first_name, args.last_name, args.email
        )
    out.emit(f"registered {user.login}", {"registered": user.to_json()})


def cmd_login(args: argparse.Namespace, out: Output) -> None:
    """Log in and save the resume token."""
    password = read_password(args.password_stdin, confirm=False)
    with connected(args) as connection:
        session = connection.login(args.login, password)
    save_session(
        args.session_file,
        {"host": args.host, "port": args.port, "login": session.user.login, "token": session.token},
    )
    out.emit(f"logged in as {session.user.login}", {"logged_in": session.user.login})


def cmd_logout(args: argparse.Namespace, out: Output) -> None:
    """Revoke the token and forget the session."""
    with resumed(args) as (connection, _):
        connection.logout()
    args.session_file.unlink(missing_ok=True)
    out.emit("logged out", {"logged_out": True})


def cmd_rooms(args: argparse.Namespace, out: Output) -> None:
    """List the rooms with this user's standing in each."""
    with resumed(args) as (connection, _):
        rooms = connection.rooms()
    for room in rooms:
        mark = "member" if room.member else "pending" if room.pending else ""
        out.emit(f"{room.name:<14} {room.access:<11} {mark}".rstrip(), room.to_json())


def cmd_join(args: argparse.Namespace, out: Output) -> None:
    """Join a room (or ask to)."""
    with resumed(args) as (connection, _):
        reply = connection.join(args.room)
    if reply.status == "pending":
        text = f"request #{reply.request_id} to join {args.room} is pending an admin's decision"
    else:
        text = f"joined {args.room}"
    details = {k: v for k, v in reply.to_json().items() if k != "id"}
    out.emit(text, {"room": args.room, **details})


def cmd_leave(args: argparse.Namespace, out: Output) -> None:
    """Leave a room."""
    with resumed(args) as (connection, _):
        connection.leave(args.room)
    out.emit(f"left {args.room}", {"left": args.room})


def cmd_say(args: argparse.Namespace, out: Output) -> None:
    """Send a message to a room."""
    with resumed(args) as (connection, _):
        message = connection.say(args.room, " ".join(args.text), args.nonce)
    out.message(message)


def cmd_dm(args: argparse.Namespace, out: Output) -> None:
    """Send a direct message."""
    with resumed(args) as (connection, _):
        message = connection.direct(args.login, " ".join(args.text), args.nonce)
    out.message(message)


def cmd_history(args: argparse.Namespace, out: Output) -> None:
    """Print a page of history, oldest first."""
    if (args.room is None) == (args.with_user is None):
        raise CliError("give a ROOM or --with LOGIN (one of them)", EXIT_USAGE)
    with resumed(args) as (connection, _):
        messages, more = connection.history(args.room, args.with_user, args.before, args.limit)
    for message in messages:
        out.message(message)
    if more and messages:
        out.emit(
            f"older messages: --before {messages[0].id}", {"more": True, "before": messages[0].id}
        )


def cmd_status(args: argparse.Namespace, out: Output) -> None:
    """Set this user's status."""
    with resumed(args) as (connection, _):
        connection.set_status(args.status)
    out.emit(f"status: {args.status}", {"status": args.status})


def cmd_who(args: argparse.Namespace, out: Output) -> None:
    """List who is online."""
    with resumed(args) as (_, session):
        online = session.online
    for presence in online:
        out.emit(f"{presence.login:<20} {presence.status}", presence.to_json())


def _transfer(args: argparse.Namespace, work: Callable[[ChatConnection], T], what: str) -> T:
    """Run ``work`` on a resumed session; after a lost connection, again on a new one.

    The upload (or download) goes on where the server (or the ``.part``
    file) stands. Ctrl-C stops it where it is, to be taken up by the same
    command.
    """
    for attempt in range(RECONNECTIONS + 1):
        try:
            with resumed(args) as (connection, _):
                return work(connection)
        except ConnectionLost as error:
            if attempt == RECONNECTIONS:
                raise
            show(f"{what}: connection lost ({error}); going on after reconnecting", sys.stderr)
            time.sleep(min(2**attempt, 5))
        except KeyboardInterrupt:
            raise CliError(
                f"{what}: interrupted; the same command goes on where it stopped", EXIT_INTERRUPTED
            ) from None
    raise AssertionError("unreachable")


def cmd_send_file(args: argparse.Namespace, out: Output) -> None:
    """Upload a file to a room or to a user, with an optional caption."""
    if (args.room is None) == (args.to is None):
        raise CliError("give a ROOM or --to LOGIN (one of them)", EXIT_USAGE)
    try:
        source = describe_file(args.file, args.name)
    except OSError as error:
        raise CliError(f"cannot read {args.file}: {error.strerror}", EXIT_USAGE) from None
    state = Upload(source)
    progress = ProgressLine(source.name, args.quiet or out.as_json)
    nonce = args.nonce or f"file-{uuid.uuid4().hex}"  # one message, however many reconnections
    message = _transfer(
        args,
        lambda connection: connection.upload_file(
            state, room=args.room, to=args.to, text=args.text, nonce=nonce, progress=progress
        ),
        source.name,
    )
    out.message(message)


def cmd_get_file(args: argparse.Namespace, out: Output) -> None:
    """Download a file by its id into a directory (or to a path), checking its SHA-256."""
    destination: Path = args.output if args.output is not None else args.directory
    if args.output is None and not destination.is_dir():
        raise CliError(f"{destination} is not a directory", EXIT_USAGE)
    progress = ProgressLine(f"file {args.file_id}", args.quiet or out.as_json)
    try:
        path = _transfer(
            args,
            lambda connection: connection.download_file(
                args.file_id, destination, overwrite=args.force, progress=progress
            ),
            f"file {args.file_id}",
        )
    except FileExistsError as error:
        raise CliError(f"{error}: --force replaces it", EXIT_REFUSED) from None
    except DownloadCorrupt as error:
        raise CliError(f"the file received is damaged: {error}", EXIT_REFUSED) from None
    except OSError as error:
        raise CliError(f"cannot write the file: {error}", EXIT_USAGE) from None
    size = path.stat().st_size
    out.emit(
        f"saved {path} ({human_size(size)}, SHA-256 checked)",
        {"saved": str(path), "file": args.file_id, "size": size},
    )


def describe_event(event: Any, out: Output) -> None:
    """Print one live event."""
    if isinstance(event, MessageEvent):
        out.message(event.message)
    elif isinstance(event, PresenceEvent):
        out.emit(f"* {event.login} is {event.status}", {"event": "presence", **event.to_json()})
    elif isinstance(event, AccessDecision):
        verdict = "granted" if event.granted else "refused"
        out.emit(
            f"* access to {event.room} {verdict}", {"event": "access_decision", **event.to_json()}
        )
    elif isinstance(event, Sanctioned):
        if event.until is None:
            until = "permanently"
        else:
            until = f"until {datetime.fromtimestamp(event.until / 1000):%Y-%m-%d %H:%M}"
        out.emit(
            f"* you were {event.kind}ed {until}: {event.reason}",
            {"event": "sanctioned", **event.to_json()},
        )
    elif isinstance(event, Shutdown):
        out.emit(
            f"* the server stops in {event.in_seconds} s: {event.reason}",
            {"event": "shutdown", **event.to_json()},
        )
    elif isinstance(event, Frame):
        out.emit(f"* {event.body}", {"event": "other", "type": event.type, "body": event.body})


def cmd_tail(args: argparse.Namespace, out: Output) -> None:
    """Print live events until Ctrl-C, ``--count`` events or ``--timeout`` seconds."""
    rooms = set(args.rooms)
    seen = 0
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    with resumed(args) as (connection, _):
        if not out.as_json:
            show("listening (Ctrl-C to stop)", sys.stderr)
        while args.count is None or seen < args.count:
            wait = 0.5 if deadline is None else deadline - time.monotonic()
            if wait <= 0:
                break
            try:
                event = connection.events.get(timeout=min(wait, 0.5))
            except queue.Empty:
                if connection.closed:
                    raise CliError("the server closed the connection", EXIT_UNREACHABLE) from None
                continue
            if rooms and isinstance(event, MessageEvent) and event.message.room not in rooms:
                continue
            describe_event(event, out)
            seen += 1


COMMANDS = {
    "register": cmd_register,
    "login": cmd_login,
    "logout": cmd_logout,
    "rooms": cmd_rooms,
    "join": cmd_join,
    "leave": cmd_leave,
    "say": cmd_say,
    "dm": cmd_dm,
    "history": cmd_history,
    "status": cmd_status,
    "who": cmd_who,
    "tail": cmd_tail,
    "send-file": cmd_send_file,
    "get-file": cmd_get_file,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command-line client."""
    parser = argparse.ArgumentParser(prog="guigui-cli", description="GuiGui Chat from a terminal")
    parser.add_argument(
        "--host",
        default=os.environ.get("GUIGUI_HOST", "127.0.0.1"),
        help="the server's name or address, or several separated by commas",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("GUIGUI_PORT", DEFAULT_PORT)),
        help="the port of the servers that name none",
    )
    parser.add_argument(
        "--server",
        metavar="HOST:PORT,...",
        help="the server, or a cluster's servers tried in turn (instead of --host and --port)",
    )
    parser.add_argument(
        "--session-file",
        type=Path,
        default=None,
        help="where the login's resume token is kept (default: the config dir)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--tls", action="store_true", help="connect with TLS")
    parser.add_argument(
        "--cafile",
        help="with --tls: the CA that signed the server's certificate"
        " (default: trust the first certificate seen, then refuse any other)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    register = commands.add_parser("register", help="create an account")
    register.add_argument("login")
    register.add_argument("--first-name", required=True)
    register.add_argument("--last-name", required=True)
    register.add_argument("--email", required=True)
    register.add_argument("--password-stdin", action="store_true")

    login = commands.add_parser("login", help="log in and remember the session")
    login.add_argument("login")
    login.add_argument("--password-stdin", action="store_true")

    commands.add_parser("logout", help="log out and forget the session")
    commands.add_parser("rooms", help="list the rooms")
    commands.add_parser("join", help="join a room (or ask to)").add_argument("room")
    commands.add_parser("leave", help="leave a room").add_argument("room")

    say = commands.add_parser("say", help="send a message to a room")
    say.add_argument("room")
    say.add_argument("text", nargs="+")
    say.add_argument("--nonce", help="deduplication key: sending again stores it once")

    dm = commands.add_parser("dm", help="send a direct message")
    dm.add_argument("login")
    dm.add_argument("text", nargs="+")
    dm.add_argument("--nonce")

    history = commands.add_parser("history", help="read a page of history")
    history.add_argument("room", nargs="?")
    history.add_argument("--with", dest="with_user", metavar="LOGIN")
    history.add_argument("--before", type=int, metavar="ID")
    history.add_argument("--limit", type=int)

    commands.add_parser("status", help="set your status").add_argument(
        "status", choices=["online", "away", "busy"]
    )
    commands.add_parser("who", help="who is online")

    tail = commands.add_parser("tail", help="print live messages and events")
    tail.add_argument("rooms", nargs="*", metavar="ROOM")
    tail.add_argument("--count", type=int)
    tail.add_argument("--timeout", type=float)

    send_file = commands.add_parser(
        "send-file",
        help="send a file to a room or a user",
        description="Send a file to a room (ROOM) or to a user (--to LOGIN). Its SHA-256 and"
        " type are read from the content first; progress goes to standard error. A lost"
        " connection is taken up where the server stands, and so is the same command run"
        " again after Ctrl-C.",
    )
    send_file.add_argument("file", type=Path, metavar="FILE", help="the file to send")
    send_file.add_argument("room", nargs="?", metavar="ROOM", help="the room to send it to")
    send_file.add_argument("--to", metavar="LOGIN", help="send it to this user instead")
    send_file.add_argument("--text", metavar="CAPTION", help="a caption shown with the file")
    send_file.add_argument("--name", help="the name others see (default: the file's own)")
    send_file.add_argument("--nonce", help="deduplication key: sending again stores it once")
    send_file.add_argument("--quiet", action="store_true", help="no progress on standard error")

    get_file = commands.add_parser(
        "get-file",
        help="download a file by its id",
        description="Download a file (its id is shown as [file ID: ...] by history and tail)"
        " into DIRECTORY under its own name, or to --output PATH. It is written to"
        " NAME.part until its SHA-256 is checked; an existing file is kept unless --force.",
    )
    get_file.add_argument("file_id", type=int, metavar="FILE_ID", help="the file's id")
    get_file.add_argument(
        "directory",
        nargs="?",
        type=Path,
        default=Path("."),
        metavar="DIRECTORY",
        help="where to save it (default: the current directory)",
    )
    get_file.add_argument("--output", type=Path, metavar="PATH", help="save it as this file")
    get_file.add_argument("--force", action="store_true", help="replace an existing file")
    get_file.add_argument("--quiet", action="store_true", help="no progress on standard error")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.session_file is None:
        args.session_file = config_dir() / "cli-session.json"
    out = Output(args.json)
    try:
        args.addresses = server_addresses(args)  # a wrong entry is a usage error, said first
        COMMANDS[args.command](args, out)
    except RequestFailed as error:
        show(f"error: {error.code}: {error.message}", sys.stderr)
        return EXIT_REFUSED
    except CliError as error:
        show(f"error: {error}", sys.stderr)
        return error.status
    except (ConnectionLost, TimeoutError) as error:
        show(f"error: {error}", sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
