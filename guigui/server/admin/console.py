"""The admin console: the admin API as text commands on standard input.

Used when the server runs headless (``--headless``, or no display). It reads
one command per line, calls ``AdminAPI`` and prints the result, in the admin's
language (French or English, ``guigui.common.i18n``), dates as the admin reads
them (``moments``); it holds no chat logic. ``help`` lists the commands. The
command words stay English in both languages (they are typed, like options).
"""

from __future__ import annotations

import getpass
import shlex
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from guigui.common.i18n import _
from guigui.common.protocol import SanctionKind
from guigui.server.admin import moments
from guigui.server.admin.api import AdminAPI
from guigui.server.admin.file_list import (
    DEFAULT_FILE_LIMIT,
    describe_file,
    size_words,
    storage_words,
)
from guigui.server.admin.search import (
    DEFAULT_SEARCH_LIMIT,
    FoundMessage,
    MessageSearch,
    one_line,
)
from guigui.server.admin.wording import (
    access_name,
    cluster_line,
    describe_result,
    describe_sanction,
    place,
    preview_lines,
)
from guigui.server.core.sanctions import parse_duration
from guigui.server.moderation import SanctionResult
from guigui.server.personal_data import export_json, write_export

TIMEOUT = 30.0


def help_text() -> str:
    """The list of commands, in the admin's language."""
    return _("""\
login [LOGIN]                      log in as an admin (the password is asked next)
logout                             log out
status                             address, uptime, connections, messages stored
users                              connected users: login, IP, time connected
rooms                              rooms and their members (* = online)
requests                           pending access requests
accept ID | refuse ID              decide a request (the user is told at once)
kick LOGIN|IP DURATION [REASON] [--login-only] [--dry-run]
                                   kick for 30s, 10m, 1h, 2d... (a login: with its IPs,
                                   unless --login-only); --dry-run: whom it would hit
ban LOGIN|IP [DURATION|permanent] [REASON] [--login-only] [--dry-run]
                                   ban (a login: with its IPs, unless --login-only)
sanctions                          sanctions in force
unban LOGIN|IP | unkick LOGIN|IP   lift bans or kicks
stop [--cluster] [SECONDS] [REASON] warn every client, count down, then stop (default 10 s);
                                   --cluster: every node of the cluster
audit [N]                          the last N admin actions (default 20)
messages --login LOGIN | --ip ADDRESS [--room ROOM] [--limit N]
                                   messages one login sent, or sent from one IP,
                                   newest first (default 50, at most 500; audited)
export LOGIN [FILE]                everything kept about a user, as JSON (GDPR; audited);
                                   FILE is written by the server, in its own directories
erase LOGIN --yes                  delete an account's personal data; its messages stay,
                                   as deleted#ID (GDPR; audited; cannot be undone)
files [LOGIN]                      files kept, newest first: number, date, owner, where,
                                   size, type, name (LOGIN: that user's only); storage used
delete-file ID --yes               delete a file: nobody can download it any more
                                   (audited; cannot be undone)
help                               this list
quit                               leave the console (the server keeps running)""")


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
        self.commands = self.command_table()
        """Command word to method; ``execute`` looks a command up here and nowhere else."""

    def command_table(self) -> dict[str, Callable[[list[str]], None]]:
        """Each command word and the method that runs it (``quit`` and ``exit`` aside).

        Bound methods, so a subclass's override (``SocketConsole.do_login``) is
        the one that runs. ``help_text`` lists the same words for the admin.
        """
        return {
            "help": self.do_help,
            "login": self.do_login,
            "logout": self.do_logout,
            "status": self.do_status,
            "users": self.do_users,
            "rooms": self.do_rooms,
            "requests": self.do_requests,
            "accept": self.do_accept,
            "refuse": self.do_refuse,
            "kick": self.do_kick,
            "ban": self.do_ban,
            "sanctions": self.do_sanctions,
            "unban": self.do_unban,
            "unkick": self.do_unkick,
            "stop": self.do_stop,
            "audit": self.do_audit,
            "messages": self.do_messages,
            "export": self.do_export,
            "erase": self.do_erase,
            "files": self.do_files,
            "delete-file": self.do_delete_file,
        }

    def _next_line_as_password(self) -> str:
        return next(self.lines, "").rstrip("\r\n")

    def say(self, text: str) -> None:
        """Print a line of output."""
        print(text, file=self.output, flush=True)

    def run(self) -> None:
        """Execute lines until end of input or ``quit``."""
        self.say(_("GuiGui admin console: 'login' to begin, 'help' for the commands"))
        for line in self.lines:
            if not self.execute(line):
                return

    def execute(self, line: str) -> bool:
        """Run one command line; False means leave the console."""
        try:
            words = shlex.split(line)
        except ValueError as error:
            self.say(_("error: {error}").format(error=error))
            return True
        if not words:
            return True
        command, args = words[0].lower(), words[1:]
        if command in ("quit", "exit"):
            return False
        handler = self.commands.get(command)
        if handler is None:
            self.say(
                _("error: unknown command {command} (help lists them)").format(
                    command=repr(command)
                )
            )
            return True
        try:
            handler(args)
        except TimeoutError:
            self.say(_("error: the server did not answer in time"))
        except Exception as error:  # AdminError, a bad value, a database failure: in words
            self.say(_("error: {error}").format(error=error))
        return True

    # ---- commands --------------------------------------------------------------

    def do_help(self, args: list[str]) -> None:
        """List the commands."""
        self.say(help_text())

    def do_login(self, args: list[str]) -> None:
        """Log in."""
        login = args[0] if args else input(_("Login: "))
        password = self.ask_password()
        who = self.api.login(login, password).result(TIMEOUT)
        self.say(_("logged in as {admin}").format(admin=who))

    def do_logout(self, args: list[str]) -> None:
        """Log out."""
        self.api.logout().result(TIMEOUT)
        self.say(_("logged out"))

    def do_status(self, args: list[str]) -> None:
        """Live figures."""
        status = self.api.status().result(TIMEOUT)
        self.say(
            _(
                "listening on {address}, up {uptime}, {connections} connections,"
                " {sessions} sessions, {messages} messages stored; admin: {admin}"
            ).format(
                address=status.address,
                uptime=moments.span(status.uptime_seconds),
                connections=status.connections,
                sessions=status.sessions,
                messages=status.messages_stored,
                admin=status.admin or _("(none)"),
            )
        )
        if status.cluster is not None:
            self.say(cluster_line(status.cluster))
        if status.admin is not None:
            usage = self.api.storage().result(TIMEOUT)
            self.say(
                _("storage used: {storage}").format(storage=storage_words(usage.files, usage.bytes))
            )

    def do_users(self, args: list[str]) -> None:
        """Connected users."""
        users = self.api.users().result(TIMEOUT)
        for user in users:
            if user.node:
                where = _("on node {node}").format(node=user.node)
                self.say(f"{user.login:<20} {where}")
                continue
            since = moments.moment(user.connected_at * 1000)
            self.say(
                _("{login} {ip} since {moment}").format(
                    login=f"{user.login:<20}", ip=f"{user.ip:<39}", moment=since
                )
            )
        self.say(_("{count} session(s)").format(count=len(users)))

    def do_rooms(self, args: list[str]) -> None:
        """Rooms and members."""
        for room in self.api.rooms().result(TIMEOUT):
            members = ", ".join(f"{m}*" if m in room.online else m for m in room.members)
            self.say(f"{room.name} ({access_name(room.access)}): {members or '-'}")

    def do_requests(self, args: list[str]) -> None:
        """Pending requests."""
        pending = self.api.requests().result(TIMEOUT)
        for request in pending:
            self.say(
                _("#{number} {login} asks for {room} ({moment})").format(
                    number=request.id,
                    login=request.login,
                    room=request.room,
                    moment=moments.moment(request.created_at),
                )
            )
        self.say(_("{count} pending request(s)").format(count=len(pending)))

    def _decide(self, args: list[str], granted: bool) -> None:
        if len(args) != 1 or not args[0].lstrip("#").isdigit():
            raise ValueError(_("give the request's number, as listed by 'requests'"))
        request = self.api.decide(int(args[0].lstrip("#")), granted).result(TIMEOUT)
        template = (
            _("accepted #{number}: {login} for {room}")
            if granted
            else _("refused #{number}: {login} for {room}")
        )
        self.say(template.format(number=request.id, login=request.login, room=request.room))

    def do_accept(self, args: list[str]) -> None:
        """Accept a request."""
        self._decide(args, True)

    def do_refuse(self, args: list[str]) -> None:
        """Refuse a request."""
        self._decide(args, False)

    def do_kick(self, args: list[str]) -> None:
        """Kick for a duration (``--dry-run``: say whom it would hit, apply nothing)."""
        flags, args = _flags(args)
        if len(args) < 2:
            raise ValueError(_("usage: kick LOGIN|IP DURATION [REASON] [--login-only] [--dry-run]"))
        seconds = parse_duration(args[1])
        if "--dry-run" in flags:
            self._preview(args[0])
            return
        future = self.api.kick(
            args[0], seconds, " ".join(args[2:]), login_only="--login-only" in flags
        )
        self._applied(future.result(TIMEOUT))

    def do_ban(self, args: list[str]) -> None:
        """Ban, timed or permanent (``--dry-run``: say whom it would hit, apply nothing)."""
        flags, args = _flags(args)
        if not args:
            raise ValueError(
                _("usage: ban LOGIN|IP [DURATION|permanent] [REASON] [--login-only] [--dry-run]")
            )
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
        if "--dry-run" in flags:
            self._preview(args[0])
            return
        future = self.api.ban(
            args[0], seconds, " ".join(reason_words), login_only="--login-only" in flags
        )
        self._applied(future.result(TIMEOUT))

    def _preview(self, target: str) -> None:
        """Whom a login + IP sanction on ``target`` would hit; nothing is applied."""
        preview = self.api.preview(target).result(TIMEOUT)
        for line in preview_lines(preview):
            self.say(line)
        if preview.login is not None and preview.ips:
            self.say(_("Nothing applied; add --login-only to sanction {login} alone.").format(
                login=preview.login
            ))  # fmt: skip
        else:
            self.say(_("Nothing applied."))

    def _applied(self, result: SanctionResult) -> None:
        """Whom the sanction hit, then one line per sanction stored."""
        self.say(describe_result(result))
        for record in result.records:
            self.say(f"  {describe_sanction(record)}")

    def do_sanctions(self, args: list[str]) -> None:
        """Sanctions in force."""
        sanctions = self.api.sanctions().result(TIMEOUT)
        for sanction in sanctions:
            self.say(describe_sanction(sanction))
        self.say(_("{count} sanction(s) in force").format(count=len(sanctions)))

    def _lift(self, args: list[str], kind: SanctionKind) -> None:
        if len(args) != 1:
            raise ValueError(_("usage: {command} LOGIN|IP").format(command=f"un{kind}"))
        lifted = self.api.lift(args[0], kind).result(TIMEOUT)
        template = (
            _("lifted {count} kick(s) on {target}")
            if kind is SanctionKind.KICK
            else _("lifted {count} ban(s) on {target}")
        )
        self.say(template.format(count=len(lifted), target=args[0]))

    def do_unban(self, args: list[str]) -> None:
        """Lift bans."""
        self._lift(args, SanctionKind.BAN)

    def do_unkick(self, args: list[str]) -> None:
        """Lift kicks."""
        self._lift(args, SanctionKind.KICK)

    def do_stop(self, args: list[str]) -> None:
        """Stop with a countdown."""
        whole_cluster = bool(args) and args[0] == "--cluster"
        if whole_cluster:
            args = args[1:]
        seconds = 10
        if args and args[0].isdigit():
            seconds, args = int(args[0]), args[1:]
        self.api.stop(seconds, " ".join(args), whole_cluster=whole_cluster).result(TIMEOUT)
        if whole_cluster:
            self.say(
                _("the whole cluster stops in {seconds} s; clients are warned").format(
                    seconds=seconds
                )
            )
            return
        self.say(_("stopping in {seconds} s; clients are warned").format(seconds=seconds))

    def do_audit(self, args: list[str]) -> None:
        """The audit log."""
        limit = int(args[0]) if args and args[0].isdigit() else 20
        for line in self.api.audit(limit).result(TIMEOUT):
            when = moments.moment(line.ts)
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
        if search.login is not None:
            summary = _("{count} message(s) by login {login}").format(
                count=len(found), login=search.login
            )
        else:
            summary = _("{count} message(s) from ip {ip}").format(count=len(found), ip=search.ip)
        self.say(summary)

    def do_export(self, args: list[str]) -> None:
        """Everything kept about a user, as JSON: printed, or written to a file."""
        if len(args) not in (1, 2):
            raise ValueError(_("usage: export LOGIN [FILE]"))
        data = self.api.export_user(args[0]).result(TIMEOUT)
        if len(args) == 1:
            self.say(export_json(data))
            return
        path = Path(args[1])
        write_export(data, path)
        self.say(
            _("{login}'s data written to {path} ({count} messages)").format(
                login=data["user"]["login"],
                path=path.resolve(),
                count=len(data["messages_sent"]),
            )
        )

    def do_erase(self, args: list[str]) -> None:
        """Delete an account's personal data, keeping its messages."""
        if len(args) != 2 or args[1] != "--yes":
            raise ValueError(
                _("usage: erase LOGIN --yes (it cannot be undone: export the data first)")
            )
        placeholder = self.api.erase_user(args[0]).result(TIMEOUT)
        self.say(
            _("{login} erased: their messages are kept as {placeholder}").format(
                login=args[0], placeholder=placeholder
            )
        )

    def do_files(self, args: list[str]) -> None:
        """Files kept, newest first (one user's only, given a login), then the storage used."""
        if len(args) > 1:
            raise ValueError(_("usage: files [LOGIN]"))
        owner = args[0] if args else None
        listed = self.api.files(owner).result(TIMEOUT)
        for file in listed:
            self.say(describe_file(file))
        if owner is None:
            summary = _("{count} file(s)").format(count=len(listed))
        else:
            summary = _("{count} file(s) sent by {login}").format(count=len(listed), login=owner)
        if len(listed) == DEFAULT_FILE_LIMIT:
            summary += _(" (the newest {limit} only)").format(limit=DEFAULT_FILE_LIMIT)
        self.say(summary)
        usage = self.api.storage().result(TIMEOUT)
        self.say(
            _("storage used: {storage}").format(storage=storage_words(usage.files, usage.bytes))
        )

    def do_delete_file(self, args: list[str]) -> None:
        """Delete a file, by the number ``files`` lists."""
        if len(args) != 2 or args[1] != "--yes" or not args[0].lstrip("#").isdecimal():
            raise ValueError(
                _(
                    "usage: delete-file ID --yes (the file's number, as listed by 'files';"
                    " it cannot be undone)"
                )
            )
        file = self.api.delete_file(int(args[0].lstrip("#"))).result(TIMEOUT)
        self.say(
            _("deleted file #{number} {name} ({size}), sent by {login}").format(
                number=file.id,
                name=one_line(file.name),
                size=size_words(file.size),
                login=file.owner,
            )
        )


def _messages_usage() -> str:
    return _("usage: messages --login LOGIN | --ip ADDRESS [--room ROOM] [--limit N]")


_MESSAGES_OPTIONS = ("--login", "--ip", "--room", "--limit")
_FLAGS = ("--login-only", "--dry-run")


def _flags(args: list[str]) -> tuple[set[str], list[str]]:
    """The flags of a kick or ban command line, and its other words."""
    return {arg for arg in args if arg in _FLAGS}, [arg for arg in args if arg not in _FLAGS]


def parse_messages_args(args: list[str]) -> MessageSearch:
    """The search a ``messages`` command line asks for; ``ValueError`` with the usage if bad."""
    options: dict[str, str] = {}
    words = iter(args)
    for word in words:
        value = next(words, None)
        if word not in _MESSAGES_OPTIONS or value is None or word in options:
            raise ValueError(_messages_usage())
        options[word] = value
    if ("--login" in options) == ("--ip" in options):
        raise ValueError(
            _("give --login or --ip, not both and not neither; {usage}").format(
                usage=_messages_usage()
            )
        )
    limit = options.get("--limit", str(DEFAULT_SEARCH_LIMIT))
    if not limit.isdecimal():
        raise ValueError(_("--limit takes a number; {usage}").format(usage=_messages_usage()))
    return MessageSearch.checked(
        options.get("--login"), options.get("--ip"), options.get("--room"), int(limit)
    )


def describe_message(message: FoundMessage) -> str:
    """One line for a message found: id, time, room or recipient, login, IP, text (escaped)."""
    return (
        f"#{message.id} {moments.moment(message.ts)} {place(message)} {message.login}"
        f" {message.ip or '-'}: {one_line(message.text)}"
    )


def stdin_lines() -> Iterator[str]:
    """Lines of standard input, until its end."""
    yield from sys.stdin


def terminal_password() -> str:
    """Ask for the password without echo (on a terminal)."""
    return getpass.getpass(_("Password: "))
