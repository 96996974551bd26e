"""The admin console: the admin API as text commands on standard input.

Used when the server runs headless (``--headless``, or no display). It reads
one command per line, calls ``AdminAPI`` and prints the result; it holds no
chat logic. ``help`` lists the commands.
"""

from __future__ import annotations

import getpass
import shlex
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TextIO

from guigui.common.protocol import SanctionKind
from guigui.server.admin.api import AdminAPI, AdminError
from guigui.server.admin.search import (
    DEFAULT_SEARCH_LIMIT,
    FoundMessage,
    MessageSearch,
    one_line,
)
from guigui.server.core.sanctions import parse_duration
from guigui.server.store import SanctionRecord

TIMEOUT = 30.0

HELP = """\
login [LOGIN]                      log in as an admin (the password is asked next)
logout                             log out
status                             address, uptime, connections, messages stored
users                              connected users: login, IP, time connected
rooms                              rooms and their members (* = online)
requests                           pending access requests
accept ID | refuse ID              decide a request (the user is told at once)
kick LOGIN|IP DURATION [REASON]    kick for 30s, 10m, 1h, 2d... (a login: with its IPs)
ban LOGIN|IP [DURATION|permanent] [REASON] [--login-only]
                                   ban (a login: with its IPs, unless --login-only)
sanctions                          sanctions in force
unban LOGIN|IP | unkick LOGIN|IP   lift bans or kicks
stop [SECONDS] [REASON]            warn every client, count down, then stop (default 10 s)
audit [N]                          the last N admin actions (default 20)
messages --login LOGIN | --ip ADDRESS [--room ROOM] [--limit N]
                                   messages one login sent, or sent from one IP,
                                   newest first (default 50, at most 500; audited)
help                               this list
quit                               leave the console (the server keeps running)"""


def _when(ms: int | None) -> str:
    if ms is None:
        return "permanent"
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def describe_sanction(sanction: SanctionRecord) -> str:
    """One line for a sanction."""
    target = " ".join(part for part in (sanction.login, sanction.ip) if part)
    return (
        f"#{sanction.id} {sanction.kind} {target} until {_when(sanction.until)}"
        f" by {sanction.created_by}: {sanction.reason or '-'}"
    )


class AdminConsole:
    """Reads commands from ``lines`` and writes results to ``output``."""

    def __init__(
        self,
        api: AdminAPI,
        lines: Iterator[str],
        output: TextIO,
        ask_password: Callable[[], str] | None = None,
    ) -> None:
        self.api = api
        self.lines = lines
        self.output = output
        self.ask_password = ask_password or self._next_line_as_password

    def _next_line_as_password(self) -> str:
        return next(self.lines, "").rstrip("\r\n")

    def say(self, text: str) -> None:
        """Print a line of output."""
        print(text, file=self.output, flush=True)

    def run(self) -> None:
        """Execute lines until end of input or ``quit``."""
        self.say("GuiGui admin console: 'login' to begin, 'help' for the commands")
        for line in self.lines:
            if not self.execute(line):
                return

    def execute(self, line: str) -> bool:
        """Run one command line; False means leave the console."""
        try:
            words = shlex.split(line)
        except ValueError as error:
            self.say(f"error: {error}")
            return True
        if not words:
            return True
        command, args = words[0].lower(), words[1:]
        if command in ("quit", "exit"):
            return False
        handler = getattr(self, f"do_{command}", None)
        if handler is None:
            self.say(f"error: unknown command {command!r} (help lists them)")
            return True
        try:
            handler(args)
        except (AdminError, ValueError, LookupError) as error:
            self.say(f"error: {error}")
        except TimeoutError:
            self.say("error: the server did not answer in time")
        except Exception as error:  # a database failure, shown in words
            self.say(f"error: {error}")
        return True

    # ---- commands --------------------------------------------------------------

    def do_help(self, args: list[str]) -> None:
        """List the commands."""
        self.say(HELP)

    def do_login(self, args: list[str]) -> None:
        """Log in."""
        login = args[0] if args else input("Login: ")
        password = self.ask_password()
        who = self.api.login(login, password).result(TIMEOUT)
        self.say(f"logged in as {who}")

    def do_logout(self, args: list[str]) -> None:
        """Log out."""
        self.api.logout().result(TIMEOUT)
        self.say("logged out")

    def do_status(self, args: list[str]) -> None:
        """Live figures."""
        status = self.api.status().result(TIMEOUT)
        self.say(
            f"listening on {status.address}, up {status.uptime_seconds:.0f} s,"
            f" {status.connections} connections, {status.sessions} sessions,"
            f" {status.messages_stored} messages stored; admin: {status.admin or '(none)'}"
        )

    def do_users(self, args: list[str]) -> None:
        """Connected users."""
        users = self.api.users().result(TIMEOUT)
        for user in users:
            since = datetime.fromtimestamp(user.connected_at).strftime("%H:%M:%S")
            self.say(f"{user.login:<20} {user.ip:<39} since {since}")
        self.say(f"{len(users)} session(s)")

    def do_rooms(self, args: list[str]) -> None:
        """Rooms and members."""
        for room in self.api.rooms().result(TIMEOUT):
            members = ", ".join(f"{m}*" if m in room.online else m for m in room.members)
            self.say(f"{room.name} ({room.access}): {members or '-'}")

    def do_requests(self, args: list[str]) -> None:
        """Pending requests."""
        pending = self.api.requests().result(TIMEOUT)
        for request in pending:
            asked = _when(request.created_at)
            self.say(f"#{request.id} {request.login} asks for {request.room} ({asked})")
        self.say(f"{len(pending)} pending request(s)")

    def _decide(self, args: list[str], granted: bool) -> None:
        if len(args) != 1 or not args[0].lstrip("#").isdigit():
            raise ValueError("give the request's number, as listed by 'requests'")
        request = self.api.decide(int(args[0].lstrip("#")), granted).result(TIMEOUT)
        verdict = "accepted" if granted else "refused"
        self.say(f"{verdict} #{request.id}: {request.login} for {request.room}")

    def do_accept(self, args: list[str]) -> None:
        """Accept a request."""
        self._decide(args, True)

    def do_refuse(self, args: list[str]) -> None:
        """Refuse a request."""
        self._decide(args, False)

    def do_kick(self, args: list[str]) -> None:
        """Kick for a duration."""
        if len(args) < 2:
            raise ValueError("usage: kick LOGIN|IP DURATION [REASON]")
        records = self.api.kick(args[0], parse_duration(args[1]), " ".join(args[2:])).result(
            TIMEOUT
        )
        for record in records:
            self.say(f"kicked: {describe_sanction(record)}")

    def do_ban(self, args: list[str]) -> None:
        """Ban, timed or permanent."""
        login_only = "--login-only" in args
        args = [arg for arg in args if arg != "--login-only"]
        if not args:
            raise ValueError("usage: ban LOGIN|IP [DURATION|permanent] [REASON] [--login-only]")
        seconds: int | None = None
        reason_words = args[1:]
        if len(args) > 1:
            if args[1].lower() == "permanent":
                reason_words = args[2:]
            else:
                try:
                    seconds = parse_duration(args[1])
                    reason_words = args[2:]
                except ValueError:
                    seconds = None  # no duration given: the word starts the reason
        future = self.api.ban(args[0], seconds, " ".join(reason_words), login_only=login_only)
        for record in future.result(TIMEOUT):
            self.say(f"banned: {describe_sanction(record)}")

    def do_sanctions(self, args: list[str]) -> None:
        """Sanctions in force."""
        sanctions = self.api.sanctions().result(TIMEOUT)
        for sanction in sanctions:
            self.say(describe_sanction(sanction))
        self.say(f"{len(sanctions)} sanction(s) in force")

    def _lift(self, args: list[str], kind: SanctionKind) -> None:
        if len(args) != 1:
            raise ValueError(f"usage: un{kind} LOGIN|IP")
        lifted = self.api.lift(args[0], kind).result(TIMEOUT)
        self.say(f"lifted {len(lifted)} {kind}(s) on {args[0]}")

    def do_unban(self, args: list[str]) -> None:
        """Lift bans."""
        self._lift(args, SanctionKind.BAN)

    def do_unkick(self, args: list[str]) -> None:
        """Lift kicks."""
        self._lift(args, SanctionKind.KICK)

    def do_stop(self, args: list[str]) -> None:
        """Stop with a countdown."""
        seconds = 10
        if args and args[0].isdigit():
            seconds, args = int(args[0]), args[1:]
        self.api.stop(seconds, " ".join(args)).result(TIMEOUT)
        self.say(f"stopping in {seconds} s; clients are warned")

    def do_audit(self, args: list[str]) -> None:
        """The audit log."""
        limit = int(args[0]) if args and args[0].isdigit() else 20
        for line in self.api.audit(limit).result(TIMEOUT):
            when = _when(line.ts)
            self.say(
                f"{when} {line.admin_login} {line.action} {line.target} {line.details}".rstrip()
            )

    def do_messages(self, args: list[str]) -> None:
        """Messages by a login or from an IP, newest first."""
        search = parse_messages_args(args)
        found = self.api.messages(
            login=search.login, ip=search.ip, room=search.room, limit=search.limit
        ).result(TIMEOUT)
        for message in found:
            self.say(describe_message(message))
        self.say(f"{len(found)} message(s) {'by' if search.login else 'from'} {search.target}")


MESSAGES_USAGE = "usage: messages --login LOGIN | --ip ADDRESS [--room ROOM] [--limit N]"
_MESSAGES_OPTIONS = ("--login", "--ip", "--room", "--limit")


def parse_messages_args(args: list[str]) -> MessageSearch:
    """The search a ``messages`` command line asks for; ``ValueError`` with the usage if bad."""
    options: dict[str, str] = {}
    words = iter(args)
    for word in words:
        value = next(words, None)
        if word not in _MESSAGES_OPTIONS or value is None or word in options:
            raise ValueError(MESSAGES_USAGE)
        options[word] = value
    if ("--login" in options) == ("--ip" in options):
        raise ValueError(f"give --login or --ip, not both and not neither; {MESSAGES_USAGE}")
    limit = options.get("--limit", str(DEFAULT_SEARCH_LIMIT))
    if not limit.isdecimal():
        raise ValueError(f"--limit takes a number; {MESSAGES_USAGE}")
    return MessageSearch.checked(
        options.get("--login"), options.get("--ip"), options.get("--room"), int(limit)
    )


def describe_message(message: FoundMessage) -> str:
    """One line for a message found: id, time, room or recipient, login, IP, text (escaped)."""
    return (
        f"#{message.id} {_when(message.ts)} {message.place} {message.login}"
        f" {message.ip or '-'}: {one_line(message.text)}"
    )


def stdin_lines() -> Iterator[str]:
    """Lines of standard input, until its end."""
    yield from sys.stdin


def terminal_password() -> str:
    """Ask for the password without echo (on a terminal)."""
    return getpass.getpass("Password: ")
