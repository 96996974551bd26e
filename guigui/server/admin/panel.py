"""The admin panel: a ttkbootstrap window in the server process.

Tk runs in the main thread; the selectors loop runs in its own. The panel is a
thin view over ``AdminAPI``: every button calls the API, which runs the command
on the loop thread and returns a future; ``when_done`` polls that future from
Tk's ``after`` so that widgets are only ever touched from the Tk thread. The
server's log reaches the "Log" tab the same way, through a queue.

Before login the window shows the server's state and a login form; after login,
tabs for connected users (kick, ban), rooms, pending requests (accept, refuse;
their count on the tab), sanctions (lift), the live log, the audit log, a
search of messages by login or IP, the files kept (``files_tab.py``: filter by
owner, delete, storage used; the storage is in the status line too), personal
data, and a stop button with a countdown. Figures refresh every second.
Every text is in the admin's language (``_``), every moment a date and time
in words (``moments``). A kick or ban first shows whom
it would hit (everyone on the IP) and offers the login-only choice, in a
ttkbootstrap dialog; the notice after it names who was hit.

The Tk thread never reads server state: what a button needs (the sanctions
shown, the room names) is kept from the last answer of the API.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import tkinter as tk
from collections.abc import Callable, Sequence
from pathlib import Path
from tkinter import filedialog
from typing import Any, TypeVar

import ttkbootstrap as ttk
from ttkbootstrap.dialogs import MessageDialog

from guigui.common.i18n import _
from guigui.common.protocol import SanctionKind
from guigui.server.admin import moments
from guigui.server.admin.api import (
    AdminAPI,
    AdminError,
    PendingRequest,
    RoomInfo,
    ServerStatus,
)
from guigui.server.admin.colours import make_readable
from guigui.server.admin.file_list import size_words
from guigui.server.admin.files_tab import FilesTab
from guigui.server.admin.search import FoundMessage, one_line
from guigui.server.admin.table import Table
from guigui.server.admin.wording import (
    access_name,
    action_name,
    cluster_line,
    describe_result,
    describe_sanction,
    length,
    names,
    place,
    preview_lines,
)
from guigui.server.chat_server import ChatServer
from guigui.server.core.sanctions import parse_duration
from guigui.server.moderation import SanctionPreview, SanctionResult, parse_target
from guigui.server.personal_data import write_export
from guigui.server.store import AuditRecord, FileUsage, SanctionRecord

T = TypeVar("T")

REFRESH_MS = 1000
POLL_MS = 30
SIZE = (1000, 640)
MINSIZE = (800, 520)
"""The panel's smallest size: every control stays visible and usable from there up."""
SEARCH_LIMIT = 200
"""Messages one search of the "Messages" tab lists."""


def duration_choices() -> list[tuple[str, int | None]]:
    """The durations offered, in words, with their seconds (None: permanent)."""
    return [
        (_("30 seconds"), 30),
        (_("10 minutes"), 600),
        (_("1 hour"), 3600),
        (_("1 day"), 86400),
        (_("7 days"), 7 * 86400),
        (_("permanent"), None),
    ]


class QueueLogHandler(logging.Handler):
    """Puts formatted log records on a queue (any thread); the panel drains it.

    Each line starts with its date and time as the admin reads them.
    """

    def __init__(self, records: queue.Queue[str]) -> None:
        super().__init__(logging.INFO)
        self.records = records
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        """Queue one formatted record."""
        self.records.put(f"{moments.moment(record.created * 1000)} {self.format(record)}")


class AdminPanel(ttk.App):
    """The server's admin window."""

    def __init__(
        self, server: ChatServer, api: AdminAPI, *, theme: str = "bootstrap-light"
    ) -> None:
        super().__init__(title=_("GuiGui Chat — server"), theme=theme, size=SIZE, minsize=MINSIZE)
        self.server = server
        self.api = api
        self.log_records: queue.Queue[str] = queue.Queue()
        self.log_handler = QueueLogHandler(self.log_records)
        logging.getLogger().addHandler(self.log_handler)
        self.protocol("WM_DELETE_WINDOW", self.confirm_close)
        self.status_text = ttk.StringVar(value=_("starting…"))
        self.admin: str | None = None
        """The admin logged in, as the API last said (the API's own state is the loop's)."""
        self.sanctions_shown: dict[str, SanctionRecord] = {}
        """The sanctions in the table, by row key, from the last ``api.sanctions()``."""
        self.storage: FileUsage | None = None
        """The storage files use, from the last ``api.storage()`` (None before the first)."""
        self._build_header()
        self.login_frame = self._build_login()
        self.message = ttk.Label(self, text="", padding=(12, 4))
        self.tabs = self._build_tabs()
        self.login_frame.pack(fill="both", expand=True, padx=20, pady=20)
        # Once the widgets exist (ttkbootstrap builds a style when first used), and
        # again whenever the theme changes: Tk then rebuilds every style.
        self._theme = self._current_theme()
        make_readable(self.style, self._theme)
        self.bind("<<ThemeChanged>>", self._on_theme_changed, add="+")
        self.after(0, self._refresh)
        self.after(POLL_MS, self._drain_log)

    def _on_theme_changed(self, _event: object) -> None:
        # Tk sends the event to every widget: retouch once per change of theme.
        theme = self._current_theme()
        if theme != self._theme:
            self._theme = theme
            make_readable(self.style, theme)

    def _current_theme(self) -> str:
        """The ttk theme in use (ttkbootstrap's ``theme_use`` is untyped)."""
        return str(self.tk.call("ttk::style", "theme", "use"))

    # ---- layout ------------------------------------------------------------------

    def _build_header(self) -> None:
        header = ttk.Frame(self, padding=(12, 8))
        header.pack(fill="x")
        ttk.Label(header, text=_("GuiGui Chat server"), font="-size 14 -weight bold").pack(
            side="left"
        )
        self.logout_button = ttk.Button(
            header, text=_("Log out"), command=self.log_out, bootstyle="secondary"
        )
        status = ttk.Label(
            self, textvariable=self.status_text, padding=(12, 0), bootstyle="secondary"
        )
        status.pack(fill="x")
        # The figures wrap rather than vanish past the window's edge.
        status.bind("<Configure>", lambda event: status.configure(wraplength=event.width - 24))

    def _build_login(self) -> ttk.Labelframe:
        frame = ttk.Labelframe(self, text=_("Admin login"), padding=20)
        ttk.Label(frame, text=_("The server is serving. Log in to moderate it.")).grid(
            row=0, column=0, columnspan=2, sticky="w", pady=(0, 12)
        )
        ttk.Label(frame, text=_("Login")).grid(row=1, column=0, sticky="w", padx=(0, 8))
        self.login_entry = ttk.Entry(frame, width=30)
        self.login_entry.grid(row=1, column=1, sticky="we", pady=4)
        ttk.Label(frame, text=_("Password")).grid(row=2, column=0, sticky="w", padx=(0, 8))
        self.password_entry = ttk.Entry(frame, width=30, show="•")
        self.password_entry.grid(row=2, column=1, sticky="we", pady=4)
        self.login_button = ttk.Button(
            frame, text=_("Log in"), command=self.log_in, bootstyle="primary"
        )
        self.login_button.grid(row=3, column=1, sticky="e", pady=(12, 0))
        self.login_error = ttk.Label(frame, text="", bootstyle="danger")
        self.login_error.grid(row=4, column=0, columnspan=2, sticky="w", pady=(8, 0))
        self.password_entry.bind("<Return>", lambda _event: self.log_in())
        self.login_entry.bind("<Return>", lambda _event: self.password_entry.focus_set())
        self.login_entry.focus_set()
        return frame

    def _tab(self, tabs: ttk.Notebook, title: str) -> ttk.Frame:
        frame = ttk.Frame(tabs, padding=8)
        tabs.add(frame, text=title)
        return frame

    def _build_tabs(self) -> ttk.Notebook:
        tabs = ttk.Notebook(self)
        users_tab = self._tab(tabs, _("Users"))
        self._sanction_bar(users_tab)
        self.users_table = Table(
            users_tab,
            [("login", _("login"), 200), ("ip", _("IP"), 200),
             ("since", _("connected since"), 200)],
        )  # fmt: skip
        self.users_table.pack(fill="both", expand=True)

        rooms_tab = self._tab(tabs, _("Rooms"))
        self.rooms_table = Table(
            rooms_tab,
            [("room", _("room"), 160), ("access", _("access"), 110),
             ("members", _("members (* online)"), 520)],
        )  # fmt: skip
        self.rooms_table.pack(fill="both", expand=True)

        self.requests_tab = self._tab(tabs, _("Requests"))
        bar = ttk.Frame(self.requests_tab, padding=(0, 8, 0, 0))
        bar.pack(side="bottom", fill="x")
        self.accept_button = ttk.Button(
            bar, text=_("Accept"), bootstyle="success", command=lambda: self.decide(True)
        )
        self.accept_button.pack(side="left")
        self.refuse_button = ttk.Button(
            bar, text=_("Refuse"), bootstyle="danger", command=lambda: self.decide(False)
        )
        self.refuse_button.pack(side="left", padx=8)
        self.requests_table = Table(
            self.requests_tab,
            [("number", "#", 60), ("login", _("login"), 200), ("room", _("room"), 200),
             ("asked", _("asked at"), 200)],
        )  # fmt: skip
        self.requests_table.pack(fill="both", expand=True)

        sanctions_tab = self._tab(tabs, _("Sanctions"))
        bar = ttk.Frame(sanctions_tab, padding=(0, 8, 0, 0))
        bar.pack(side="bottom", fill="x")
        self.lift_button = ttk.Button(
            bar, text=_("Lift"), bootstyle="warning", command=self.lift_selected
        )
        self.lift_button.pack(side="left")
        self.sanctions_table = Table(sanctions_tab, [("sanction", _("sanction"), 860)])
        self.sanctions_table.pack(fill="both", expand=True)

        log_tab = self._tab(tabs, _("Log"))
        self.log_view = ttk.ScrolledText(log_tab, height=6, wrap="none")
        self.log_view.pack(fill="both", expand=True)

        audit_tab = self._tab(tabs, _("Audit"))
        self.audit_table = Table(
            audit_tab,
            [("when", _("when"), 160), ("admin", _("admin"), 120), ("action", _("action"), 120),
             ("target", _("target"), 200), ("details", _("details"), 260)],
        )  # fmt: skip
        self.audit_table.pack(fill="both", expand=True)
        self._build_messages_tab(tabs)
        self.files_tab = FilesTab(tabs, self)
        tabs.add(self.files_tab, text=_("Files"))
        # Listed at once when shown, then every second with the other tables.
        tabs.bind("<<NotebookTabChanged>>", lambda _event: self._refresh_files(), add="+")
        self._build_personal_data_tab(tabs)
        self._build_stop_tab(tabs)
        return tabs

    def _build_personal_data_tab(self, tabs: ttk.Notebook) -> None:
        tab = self._tab(tabs, _("Personal data"))
        ttk.Label(
            tab,
            text=_(
                "Export everything kept about a user (JSON), or delete their account: names,"
                " email, password, sessions and the IPs of their messages are erased; their"
                " messages stay, under deleted#N. Both are written to the audit log."
            ),
            wraplength=700,
        ).pack(anchor="w")
        row = ttk.Frame(tab, padding=(0, 12))
        row.pack(fill="x")
        ttk.Label(row, text=_("login")).pack(side="left")
        self.personal_login = ttk.Entry(row, width=24)
        self.personal_login.pack(side="left", padx=8)
        self.export_button = ttk.Button(
            row, text=_("Export…"), bootstyle="primary", command=self.export_user
        )
        self.export_button.pack(side="left")
        self.erase_button = ttk.Button(
            row, text=_("Delete the account…"), bootstyle="danger", command=self.erase_user
        )
        self.erase_button.pack(side="left", padx=8)

    def _build_stop_tab(self, tabs: ttk.Notebook) -> None:
        stop_tab = self._tab(tabs, _("Stop"))
        ttk.Label(
            stop_tab,
            text=_("Stop the server: every client is warned, then it stops cleanly."),
            wraplength=700,
        ).pack(anchor="w")
        row = ttk.Frame(stop_tab, padding=(0, 12))
        row.pack(fill="x")
        ttk.Label(row, text=_("in (seconds)")).pack(side="left")
        self.stop_seconds = ttk.Spinbox(row, from_=0, to=600, width=6)
        self.stop_seconds.set(30)
        self.stop_seconds.pack(side="left", padx=8)
        ttk.Label(row, text=_("reason")).pack(side="left")
        self.stop_reason = ttk.Entry(row, width=30)
        self.stop_reason.pack(side="left", padx=8, fill="x", expand=True)
        self.stop_whole_cluster = tk.BooleanVar(value=False)
        """Stop every node of the cluster, not this one only (shown for a cluster node)."""
        if self.server.config.cluster_url is not None:
            ttk.Checkbutton(
                stop_tab,
                text=_("every node of the cluster, not this one only"),
                variable=self.stop_whole_cluster,
            ).pack(anchor="w", pady=(0, 12))
        self.stop_button = ttk.Button(
            stop_tab, text=_("Stop the server"), bootstyle="danger", command=self.stop
        )
        self.stop_button.pack(anchor="w")

    def _build_messages_tab(self, tabs: ttk.Notebook) -> None:
        """Search the messages of a login or of an IP address, maybe in one room."""
        frame = self._tab(tabs, _("Messages"))
        bar = ttk.Frame(frame, padding=(0, 0, 0, 8))
        bar.pack(fill="x")
        ttk.Label(bar, text=_("login or IP")).pack(side="left")
        self.message_search = ttk.Entry(bar, width=22)
        self.message_search.pack(side="left", padx=6)
        self.message_search.bind("<Return>", lambda _event: self.search_messages())
        ttk.Label(bar, text=_("room")).pack(side="left")
        self.message_room = ttk.Combobox(bar, values=(_("any room"),), width=16, state="readonly")
        self.message_room.set(_("any room"))
        self.message_room.pack(side="left", padx=6)
        self.search_button = ttk.Button(
            bar, text=_("Search"), bootstyle="primary", command=self.search_messages
        )
        self.search_button.pack(side="left", padx=4)
        self.messages_table = Table(
            frame,
            [("number", "#", 60), ("when", _("when"), 160), ("place", _("room / to"), 120),
             ("login", _("login"), 110), ("ip", _("IP"), 120), ("text", _("text"), 380)],
        )  # fmt: skip
        self.messages_table.pack(fill="both", expand=True)

    def _sanction_bar(self, master: Any) -> None:
        """Duration and reason on one row, the three buttons on the next: nothing clipped."""
        bar = ttk.Frame(master, padding=(0, 8, 0, 0))
        bar.pack(side="bottom", fill="x")
        ttk.Label(bar, text=_("duration")).grid(row=0, column=0, sticky="w")
        self.duration = ttk.Combobox(
            bar, values=[label for label, _seconds in duration_choices()], width=14
        )
        self.duration.set(_("10 minutes"))
        self.duration.grid(row=0, column=1, sticky="w", padx=6)
        ttk.Label(bar, text=_("reason")).grid(row=0, column=2, sticky="w", padx=(8, 0))
        self.reason = ttk.Entry(bar, width=20)
        self.reason.grid(row=0, column=3, sticky="we", padx=6)
        bar.columnconfigure(3, weight=1)
        buttons = ttk.Frame(bar, padding=(0, 8, 0, 0))
        buttons.grid(row=1, column=0, columnspan=4, sticky="w")
        self.kick_button = ttk.Button(
            buttons, text=_("Kick (login + IP)"), bootstyle="warning", command=self.kick
        )
        self.kick_button.pack(side="left")
        self.ban_button = ttk.Button(
            buttons,
            text=_("Ban (login + IP)"),
            bootstyle="danger",
            command=lambda: self.ban(False),
        )
        self.ban_button.pack(side="left", padx=8)
        self.ban_login_button = ttk.Button(
            buttons,
            text=_("Ban login only"),
            bootstyle="danger-outline",
            command=lambda: self.ban(True),
        )
        self.ban_login_button.pack(side="left")

    # ---- futures to Tk -------------------------------------------------------------

    def when_done(
        self,
        future: concurrent.futures.Future[T],
        on_result: Callable[[T], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Call ``on_result`` (in the Tk thread) once the future is done."""

        def check() -> None:
            if not future.done():
                self.after(POLL_MS, check)
                return
            error = future.exception()
            if error is None:
                on_result(future.result())
            else:
                (on_error or self.show_error)(error)

        self.after(POLL_MS, check)

    def _when_all(
        self,
        futures: Sequence[concurrent.futures.Future[T]],
        on_results: Callable[[list[T]], None],
    ) -> None:
        """Call ``on_results`` (in the Tk thread) with every result, once all are done.

        The first failure is shown instead.
        """

        def check() -> None:
            if not all(future.done() for future in futures):
                self.after(POLL_MS, check)
                return
            for future in futures:
                error = future.exception()
                if error is not None:
                    self.show_error(error)
                    return
            on_results([future.result() for future in futures])

        self.after(POLL_MS, check)

    def show_error(self, error: BaseException) -> None:
        """Show a command's failure in words."""
        self.show_message(f"⚠ {error}", "danger")

    def show_message(self, text: str, style: str = "success") -> None:
        """A notice under the tabs (it wraps to the window's width)."""
        self.message.configure(text=text, bootstyle=style, wraplength=self.winfo_width() - 24)

    def ask(
        self, title: str, message: str, buttons: Sequence[tuple[str, str]], default: str
    ) -> str | None:
        """A ttkbootstrap dialog: the label of the button pressed, None if dismissed.

        ``buttons`` are ``(label, bootstyle)`` pairs, left to right.
        """
        dialog = MessageDialog(
            message,
            title=title,
            buttons=[f"{label}:{style}" for label, style in buttons],
            parent=self,
            default=default,
            icon="question-circle-fill",
            width=70,
            localize=False,
        )
        dialog.show()
        result: str | None = dialog.result
        return result

    # ---- session ---------------------------------------------------------------------

    def log_in(self) -> None:
        """Send the login form."""
        self.login_error.configure(text="")
        future = self.api.login(self.login_entry.get().strip(), self.password_entry.get())
        self.password_entry.delete(0, "end")
        self.when_done(
            future, self._logged_in, lambda error: self.login_error.configure(text=str(error))
        )

    def _logged_in(self, admin: str) -> None:
        self.admin = admin
        self.login_frame.pack_forget()
        # Packed before the tabs: when the window is short, the tabs shrink, not the notice.
        self.message.pack(side="bottom", fill="x")
        self.tabs.pack(fill="both", expand=True, padx=8, pady=4)
        self.logout_button.pack(side="right")
        self.show_message(_("Logged in as {admin}").format(admin=admin))
        self._refresh_tables()
        # The status line names the admin: not "not logged in" for up to a second.
        self.when_done(self.api.status(), self._show_status, lambda _error: None)

    def log_out(self) -> None:
        """Log out and show the login form again."""
        self.when_done(self.api.logout(), lambda _none: self._logged_out())

    def _logged_out(self) -> None:
        self.admin = None
        self.storage = None
        self.tabs.pack_forget()
        self.message.pack_forget()
        self.logout_button.pack_forget()
        self.login_frame.pack(fill="both", expand=True, padx=20, pady=20)
        self.when_done(self.api.status(), self._show_status, lambda _error: None)

    # ---- live figures ------------------------------------------------------------------

    def _refresh(self) -> None:
        if self.server.wait(0):  # stopped from elsewhere (a signal, the API): close too
            self.destroy()
            return
        self.when_done(self.api.status(), self._show_status, lambda _error: None)
        if self.admin is not None:
            self._refresh_tables()
        self.after(REFRESH_MS, self._refresh)

    def _show_status(self, status: ServerStatus) -> None:
        previous = getattr(self, "_last_status", None)
        rate = 0.0
        if previous is not None and status.uptime_seconds > previous.uptime_seconds:
            elapsed = status.uptime_seconds - previous.uptime_seconds
            rate = (status.messages_stored - previous.messages_stored) / elapsed
        self._last_status = status
        self.status_text.set(
            _(
                "listening on {address} · up {uptime} · {connections} connections · "
                "{sessions} sessions · {rate} messages/s · admin: {admin}"
            ).format(
                address=status.address,
                uptime=moments.span(status.uptime_seconds),
                connections=status.connections,
                sessions=status.sessions,
                rate=f"{rate:.1f}",
                admin=status.admin or _("not logged in"),
            )
            + ("" if status.cluster is None else " · " + cluster_line(status.cluster))
            + (
                ""
                if status.admin is None or self.storage is None
                else " · "
                # No-break spaces: the figure wraps as a whole, never "(167" then "Kio)".
                + _("files: {count} ({size})")
                .format(count=self.storage.files, size=size_words(self.storage.bytes))
                .replace(" ", "\N{NO-BREAK SPACE}")
            )
        )

    def _refresh_tables(self) -> None:
        api = self.api
        self.when_done(
            api.users(),
            lambda users: self.users_table.show(
                [
                    (
                        f"{u.login}|{u.ip}|{u.connected_at}|{u.node}",
                        (u.login, u.ip, moments.moment(u.connected_at * 1000))
                        if not u.node
                        else (u.login, _("on node {node}").format(node=u.node), "-"),
                    )
                    for u in users
                ]
            ),
            lambda _error: None,
        )
        self.when_done(api.rooms(), self._show_rooms, lambda _error: None)
        self.when_done(api.requests(), self._show_requests, lambda _error: None)
        self.when_done(api.sanctions(), self._show_sanctions, lambda _error: None)
        self.when_done(api.audit(100), self._show_audit, lambda _error: None)
        self.when_done(api.storage(), self._show_storage, lambda _error: None)
        self._refresh_files()

    def _refresh_files(self) -> None:
        """List the files again, when their tab is the one shown (and an admin is logged in)."""
        if self.admin is not None and self.tabs.select() == str(self.files_tab):
            self.files_tab.refresh()

    def _show_storage(self, usage: FileUsage) -> None:
        self.storage = usage
        self.files_tab.show_storage(usage.files, usage.bytes)

    def _show_audit(self, lines: Sequence[AuditRecord]) -> None:
        self.audit_table.show(
            [
                (
                    str(a.id),
                    (moments.moment(a.ts), a.admin_login, action_name(a.action), a.target,
                     a.details),
                )
                for a in lines
            ]
        )  # fmt: skip

    def _show_requests(self, requests: Sequence[PendingRequest]) -> None:
        self.requests_table.show(
            [(str(r.id), (r.id, r.login, r.room, moments.moment(r.created_at))) for r in requests]
        )
        title = _("Requests ({count})").format(count=len(requests)) if requests else _("Requests")
        self.tabs.tab(self.requests_tab, text=title)

    def _show_rooms(self, rooms: Sequence[RoomInfo]) -> None:
        self.rooms_table.show(
            [
                (
                    r.name,
                    (
                        r.name,
                        access_name(r.access),
                        ", ".join(f"{m}*" if m in r.online else m for m in r.members),
                    ),
                )
                for r in rooms
            ]
        )
        self.message_room.configure(values=(_("any room"), *(r.name for r in rooms)))

    def _show_sanctions(self, sanctions: Sequence[SanctionRecord]) -> None:
        self.sanctions_shown = {str(s.id): s for s in sanctions}
        self.sanctions_table.show(
            [(key, (describe_sanction(s),)) for key, s in self.sanctions_shown.items()]
        )

    def _drain_log(self) -> None:
        lines = []
        while not self.log_records.empty():
            lines.append(self.log_records.get_nowait())
        if lines:
            self.log_view.insert("end", "\n".join(lines) + "\n")
            self.log_view.see("end")
        self.after(POLL_MS * 5, self._drain_log)

    # ---- commands ----------------------------------------------------------------------

    def _nothing_selected(self, what: str) -> None:
        """Say what to select first, rather than doing nothing in silence."""
        self.show_message(what, "warning")
        self.bell()

    def decide(self, granted: bool) -> None:
        """Accept or refuse the selected requests."""
        selected = self.requests_table.selected()
        if not selected:
            self._nothing_selected(_("Select a request in the list first."))
            return
        template = (
            _("accepted #{number}: {login} for {room}")
            if granted
            else _("refused #{number}: {login} for {room}")
        )
        self._when_all(
            [self.api.decide(int(key), granted) for key in selected],
            lambda decided: self.show_message(
                "; ".join(template.format(number=r.id, login=r.login, room=r.room) for r in decided)
            ),
        )
        self.after(200, self._refresh_tables)

    def _selected_logins(self) -> list[str]:
        logins = [key.split("|", 1)[0] for key in self.users_table.selected()]
        return list(dict.fromkeys(logins))

    def _chosen_seconds(self, kind: SanctionKind) -> tuple[bool, int | None]:
        """``(ok, seconds)`` from the duration box (None: permanent); shows why when not ok."""
        typed = self.duration.get().strip()
        by_label = {label.casefold(): seconds for label, seconds in duration_choices()}
        if typed.casefold() in by_label:
            seconds = by_label[typed.casefold()]
        else:
            try:
                seconds = parse_duration(typed)
            except ValueError:
                self.show_message(
                    _("{text} is not a duration: choose one, or type 30s, 10m, 1h, 2d.").format(
                        text=repr(typed)
                    ),
                    "danger",
                )
                return False, None
        if seconds is None and kind is SanctionKind.KICK:
            self.show_message(_("A kick needs a duration: to exclude for good, ban."), "danger")
            return False, None
        return True, seconds

    def kick(self) -> None:
        """Kick the selected users, after showing whom the IP kick would hit."""
        self._sanction(SanctionKind.KICK, login_only=False)

    def ban(self, login_only: bool) -> None:
        """Ban the selected users (with their IPs unless ``login_only``), after a confirmation."""
        self._sanction(SanctionKind.BAN, login_only=login_only)

    def _sanction(self, kind: SanctionKind, *, login_only: bool) -> None:
        logins = self._selected_logins()
        if not logins:
            self._nothing_selected(_("Select a user in the list first."))
            return
        ok, seconds = self._chosen_seconds(kind)
        if not ok:
            return
        reason = self.reason.get().strip()
        self._when_all(
            [self.api.preview(login) for login in logins],
            lambda previews: self._confirm_sanction(kind, seconds, reason, previews, login_only),
        )

    def _confirm_sanction(
        self,
        kind: SanctionKind,
        seconds: int | None,
        reason: str,
        previews: Sequence[SanctionPreview],
        login_only: bool,
    ) -> None:
        """Name whom it hits, offer login only, then apply what the admin chose."""
        who = names([p.target for p in previews])
        if kind is SanctionKind.KICK:
            question = _("Kick {names} {length}?")
            title = _("Kick")
            only, with_ip = _("Kick login only"), _("Kick login + IP")
        else:
            question = _("Ban {names} {length}?")
            title = _("Ban")
            only, with_ip = _("Ban login only"), _("Ban login + IP")
        lines = [question.format(names=who, length=length(seconds))]
        if reason:
            lines.append(_("Reason: {reason}").format(reason=reason))
        cancel = _("Cancel")
        if login_only:
            lines.append(_("Only the login is sanctioned: nobody else on the same IP."))
            buttons = [(cancel, "secondary"), (only, "danger")]
            default = only
        else:
            for preview in previews:
                lines.extend(preview_lines(preview))
            risky = any(p.hits_others for p in previews)
            buttons = [(cancel, "secondary"), (only, "primary"), (with_ip, "danger")]
            # Where the IP sanction reaches others, Enter picks the login only.
            default = only if risky else with_ip
        choice = self.ask(title, "\n".join(lines), buttons, default)
        if choice not in (only, with_ip):
            self.show_message(_("Nothing done."), "secondary")
            return
        chosen_login_only = choice == only
        if kind is SanctionKind.KICK:
            assert seconds is not None
            futures = [
                self.api.kick(p.target, seconds, reason, login_only=chosen_login_only)
                for p in previews
            ]
        else:
            futures = [
                self.api.ban(p.target, seconds, reason, login_only=chosen_login_only)
                for p in previews
            ]
        self._when_all(futures, self._sanctioned)

    def _sanctioned(self, results: Sequence[SanctionResult]) -> None:
        self.show_message("; ".join(describe_result(result) for result in results), "warning")
        self._refresh_tables()

    def lift_selected(self) -> None:
        """Lift the selected sanctions."""
        chosen = [self.sanctions_shown[k] for k in self.sanctions_table.selected()]
        chosen = [sanction for sanction in chosen if sanction is not None]
        if not chosen:
            self._nothing_selected(_("Select a sanction in the list first."))
            return
        for sanction in chosen:
            target = sanction.login or sanction.ip or ""
            self.when_done(
                self.api.lift(target, SanctionKind(sanction.kind)),
                lambda lifted, target=target: self.show_message(  # type: ignore[misc]
                    _("lifted {count} sanction(s) on {target}").format(
                        count=len(lifted), target=target
                    )
                ),
            )
        self.after(200, self._refresh_tables)

    def search_messages(self) -> None:
        """List the messages of the login or IP typed, in the room chosen (audited)."""
        typed = self.message_search.get().strip()
        room = self.message_room.get()
        try:
            login, ip = parse_target(typed)
            future = self.api.messages(
                login=login,
                ip=ip,
                room=None if room in ("", _("any room")) else room,
                limit=SEARCH_LIMIT,
            )
        except (AdminError, ValueError) as error:  # ValueError: neither a login nor an IP
            self.show_error(error)
            return
        self.when_done(future, lambda found: self._show_found(typed, found))

    def _show_found(self, typed: str, found: Sequence[FoundMessage]) -> None:
        self.messages_table.show(
            [
                (
                    str(m.id),
                    (m.id, moments.moment(m.ts), place(m), m.login, m.ip or "-",
                     one_line(m.text)),
                )
                for m in found
            ]
        )  # fmt: skip
        self.show_message(
            _("{count} message(s) for {target}, newest first").format(
                count=len(found), target=typed
            )
        )

    def _personal_login(self) -> str | None:
        login = self.personal_login.get().strip()
        if not login:
            self.bell()
            self.show_message(_("Type the login of the account first."), "warning")
            return None
        return login

    def choose_export_file(self, login: str) -> str:
        """Where to save a user's data: asked in a file dialog ("" when cancelled)."""
        return filedialog.asksaveasfilename(
            parent=self,
            title=_("Export the data of {login}").format(login=login),
            initialfile=f"{login}.json",
            defaultextension=".json",
            filetypes=[("JSON", "*.json")],
        )

    def export_user(self) -> None:
        """Save everything kept about the typed login to a JSON file (audited)."""
        login = self._personal_login()
        if login is None:
            return
        target = self.choose_export_file(login)
        if not target:
            return

        def save(data: dict[str, Any]) -> None:
            path = Path(target)
            write_export(data, path)
            self.show_message(
                _("{login}'s data written to {path} ({count} messages)").format(
                    login=data["user"]["login"], path=path, count=len(data["messages_sent"])
                )
            )

        self.when_done(self.api.export_user(login), save)

    def erase_user(self) -> None:
        """Delete the typed login's account after a confirmation (audited)."""
        login = self._personal_login()
        if login is None:
            return
        erase = _("Delete the account")
        question = _(
            "Delete the account {login}? Their names, email, password, sessions and IPs are"
            " erased; their messages stay, under deleted#N. It cannot be undone."
        ).format(login=login)
        if (
            self.ask(erase, question, [(_("Cancel"), "secondary"), (erase, "danger")], _("Cancel"))
            != erase
        ):
            return
        self.when_done(
            self.api.erase_user(login),
            lambda placeholder: self.show_message(
                _("{login} erased: their messages are kept as {placeholder}").format(
                    login=login, placeholder=placeholder
                ),
                "warning",
            ),
        )

    def stop(self, ask: bool = True) -> None:
        """Stop the server after the chosen countdown."""
        seconds = int(self.stop_seconds.get() or 0)
        whole_cluster = self.stop_whole_cluster.get()
        stop = _("Stop the server")
        question = (
            _("Warn every client of every node and stop the whole cluster in {seconds} s?")
            if whole_cluster
            else _("Warn every client and stop in {seconds} s?")
        )
        if (
            ask
            and self.ask(
                stop,
                question.format(seconds=seconds),
                [(_("Cancel"), "secondary"), (stop, "danger")],
                _("Cancel"),
            )
            != stop
        ):
            return
        self.when_done(
            self.api.stop(seconds, self.stop_reason.get().strip(), whole_cluster=whole_cluster),
            lambda _none: self.show_message(
                _("stopping in {seconds} s").format(seconds=seconds), "warning"
            ),
        )
        self._close_when_stopped()

    def _close_when_stopped(self) -> None:
        if self.server.wait(0):
            self.destroy()
        else:
            self.after(200, self._close_when_stopped)

    def confirm_close(self) -> None:
        """Closing the window asks whether to stop the server."""
        stop = _("Stop the server")
        if (
            self.ask(
                _("Stop the server?"),
                _("Closing this window stops the server. Stop it now?"),
                [(_("Cancel"), "secondary"), (stop, "danger")],
                _("Cancel"),
            )
            == stop
        ):
            self.server.request_stop()
            self._close_when_stopped()

    def destroy(self) -> None:
        """Detach the log handler, then close the window."""
        logging.getLogger().removeHandler(self.log_handler)
        super().destroy()


def run_panel(server: ChatServer, api: AdminAPI, *, theme: str = "bootstrap-light") -> None:
    """Show the panel until it closes (Tk's main loop in the calling, main, thread)."""
    AdminPanel(server, api, theme=theme).mainloop()
