"""The admin panel: a ttkbootstrap window in the server process.

Tk runs in the main thread; the selectors loop runs in its own. The panel is a
thin view over ``AdminAPI``: every button calls the API, which runs the command
on the loop thread and returns a future; ``_when_done`` polls that future from
Tk's ``after`` so that widgets are only ever touched from the Tk thread. The
server's log reaches the "Log" tab the same way, through a queue.

Before login the window shows the server's state and a login form; after login,
tabs for connected users (kick, ban), rooms, pending requests (accept, refuse),
sanctions (lift), the live log, the audit log, a search of messages by login or
IP, and a stop button with a countdown. Figures refresh every second.

The Tk thread never reads server state: what a button needs (the sanctions
shown, the room names) is kept from the last answer of the API.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
from collections.abc import Callable, Sequence
from datetime import datetime
from tkinter import messagebox
from typing import Any, TypeVar

import ttkbootstrap as ttk

from guigui.common.protocol import SanctionKind
from guigui.server.admin.api import AdminAPI, AdminError, RoomInfo, ServerStatus, parse_target
from guigui.server.admin.console import describe_sanction
from guigui.server.admin.search import FoundMessage, one_line
from guigui.server.chat_server import ChatServer
from guigui.server.core.sanctions import parse_duration
from guigui.server.store import SanctionRecord

T = TypeVar("T")

REFRESH_MS = 1000
POLL_MS = 30
DURATIONS = ("30s", "10m", "1h", "1d", "7d", "permanent")
ANY_ROOM = "any room"
SEARCH_LIMIT = 200
"""Messages one search of the "Messages" tab lists."""


class QueueLogHandler(logging.Handler):
    """Puts formatted log records on a queue (any thread); the panel drains it."""

    def __init__(self, records: queue.Queue[str]) -> None:
        super().__init__(logging.INFO)
        self.records = records
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        """Queue one formatted record."""
        self.records.put(self.format(record))


def _clock(seconds: float, *, with_date: bool = False) -> str:
    return datetime.fromtimestamp(seconds).strftime(
        "%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S"
    )


def _uptime(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s"


class Table(ttk.Frame):
    """A Treeview with headings and a scrollbar, filled from rows of strings."""

    def __init__(self, master: Any, columns: Sequence[tuple[str, int]]) -> None:
        super().__init__(master)
        self.tree = ttk.Treeview(
            self, columns=[name for name, _ in columns], show="headings", height=12
        )
        for name, width in columns:
            self.tree.heading(name, text=name)
            self.tree.column(name, width=width, anchor="w")
        scrollbar = ttk.Scrollbar(self, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=scrollbar.set)
        self.tree.pack(side="left", fill="both", expand=True)
        scrollbar.pack(side="right", fill="y")

    def show(self, rows: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Replace the rows (``(key, values)``), keeping the selection where it still exists."""
        selected = set(self.tree.selection())
        self.tree.delete(*self.tree.get_children())
        for key, values in rows:
            self.tree.insert("", "end", iid=key, values=list(values))
        keep = [key for key, _ in rows if key in selected]
        if keep:
            self.tree.selection_set(keep)

    def selected(self) -> list[str]:
        """Keys of the selected rows."""
        return list(self.tree.selection())


class AdminPanel(ttk.App):
    """The server's admin window."""

    def __init__(
        self, server: ChatServer, api: AdminAPI, *, theme: str = "bootstrap-light"
    ) -> None:
        super().__init__(
            title="GuiGui Chat — server", theme=theme, size=(1000, 640), minsize=(800, 520)
        )
        self.server = server
        self.api = api
        self.log_records: queue.Queue[str] = queue.Queue()
        self.log_handler = QueueLogHandler(self.log_records)
        logging.getLogger().addHandler(self.log_handler)
        self.protocol("WM_DELETE_WINDOW", self.confirm_close)
        self.status_text = ttk.StringVar(value="starting…")
        self.admin: str | None = None
        """The admin logged in, as the API last said (the API's own state is the loop's)."""
        self.sanctions_shown: dict[str, SanctionRecord] = {}
        """The sanctions in the table, by row key, from the last ``api.sanctions()``."""
        self._build_header()
        self.login_frame = self._build_login()
        self.tabs = self._build_tabs()
        self.login_frame.pack(fill="both", expand=True, padx=20, pady=20)
        self.after(0, self._refresh)
        self.after(POLL_MS, self._drain_log)

    # ---- layout ------------------------------------------------------------------

    def _build_header(self) -> None:
        header = ttk.Frame(self, padding=(12, 8))
        header.pack(fill="x")
        ttk.Label(header, text="GuiGui Chat server", font="-size 14 -weight bold").pack(side="left")
        self.logout_button = ttk.Button(
            header, text="Log out", command=self.log_out, bootstyle="secondary"
        )
        ttk.Label(self, textvariable=self.status_text, padding=(12, 0), bootstyle="secondary").pack(
            fill="x"
        )

    def _build_login(self) -> ttk.Labelframe:
        frame = ttk.Labelframe(self, text="Admin login", padding=20)
        ttk.Label(
            frame,
            text="The server is serving. Log in to moderate it.",
        ).grid(row=0, column=0, columnspan=2, sticky="w", pady=(0, 12))
        ttk.Label(frame, text="Login").grid(row=1, column=0, sticky="w", padx=(0, 8))
        self.login_entry = ttk.Entry(frame, width=30)
        self.login_entry.grid(row=1, column=1, sticky="we", pady=4)
        ttk.Label(frame, text="Password").grid(row=2, column=0, sticky="w", padx=(0, 8))
        self.password_entry = ttk.Entry(frame, width=30, show="•")
        self.password_entry.grid(row=2, column=1, sticky="we", pady=4)
        self.login_button = ttk.Button(
            frame, text="Log in", command=self.log_in, bootstyle="primary"
        )
        self.login_button.grid(row=3, column=1, sticky="e", pady=(12, 0))
        self.login_error = ttk.Label(frame, text="", bootstyle="danger")
        self.login_error.grid(row=4, column=0, columnspan=2, sticky="w", pady=(8, 0))
        self.password_entry.bind("<Return>", lambda _event: self.log_in())
        return frame

    def _build_tabs(self) -> ttk.Notebook:
        tabs = ttk.Notebook(self)
        self.users_table = self._tab_with_table(
            tabs, "Users", [("login", 200), ("IP", 200), ("connected since", 160)]
        )
        self._sanction_bar(self.users_table.master)
        self.rooms_table = self._tab_with_table(
            tabs, "Rooms", [("room", 160), ("access", 110), ("members (* online)", 560)]
        )
        self.requests_table = self._tab_with_table(
            tabs, "Requests", [("#", 60), ("login", 200), ("room", 200), ("asked at", 180)]
        )
        bar = ttk.Frame(self.requests_table.master, padding=(0, 8))
        bar.pack(fill="x")
        self.accept_button = ttk.Button(
            bar, text="Accept", bootstyle="success", command=lambda: self.decide(True)
        )
        self.accept_button.pack(side="left")
        self.refuse_button = ttk.Button(
            bar, text="Refuse", bootstyle="danger", command=lambda: self.decide(False)
        )
        self.refuse_button.pack(side="left", padx=8)
        self.sanctions_table = self._tab_with_table(tabs, "Sanctions", [("sanction", 860)])
        bar = ttk.Frame(self.sanctions_table.master, padding=(0, 8))
        bar.pack(fill="x")
        self.lift_button = ttk.Button(
            bar, text="Lift", bootstyle="warning", command=self.lift_selected
        )
        self.lift_button.pack(side="left")
        log_tab = ttk.Frame(tabs, padding=8)
        self.log_view = ttk.ScrolledText(log_tab, height=20, wrap="none")
        self.log_view.pack(fill="both", expand=True)
        tabs.add(log_tab, text="Log")
        self.audit_table = self._tab_with_table(
            tabs,
            "Audit",
            [("when", 160), ("admin", 120), ("action", 120), ("target", 200), ("details", 260)],
        )
        self._build_messages_tab(tabs)
        stop_tab = ttk.Frame(tabs, padding=20)
        ttk.Label(
            stop_tab, text="Stop the server: every client is warned, then it stops cleanly."
        ).pack(anchor="w")
        row = ttk.Frame(stop_tab, padding=(0, 12))
        row.pack(anchor="w")
        ttk.Label(row, text="in (seconds)").pack(side="left")
        self.stop_seconds = ttk.Spinbox(row, from_=0, to=600, width=6)
        self.stop_seconds.set(30)
        self.stop_seconds.pack(side="left", padx=8)
        ttk.Label(row, text="reason").pack(side="left")
        self.stop_reason = ttk.Entry(row, width=40)
        self.stop_reason.pack(side="left", padx=8)
        self.stop_button = ttk.Button(
            stop_tab, text="Stop the server", bootstyle="danger", command=self.stop
        )
        self.stop_button.pack(anchor="w")
        tabs.add(stop_tab, text="Stop")
        self.message = ttk.Label(self, text="", padding=(12, 4))
        return tabs

    def _build_messages_tab(self, tabs: ttk.Notebook) -> None:
        """Search the messages of a login or of an IP address, maybe in one room."""
        frame = ttk.Frame(tabs, padding=8)
        bar = ttk.Frame(frame, padding=(0, 0, 0, 8))
        bar.pack(fill="x")
        ttk.Label(bar, text="login or IP").pack(side="left")
        self.message_search = ttk.Entry(bar, width=30)
        self.message_search.pack(side="left", padx=6)
        self.message_search.bind("<Return>", lambda _event: self.search_messages())
        ttk.Label(bar, text="room").pack(side="left")
        self.message_room = ttk.Combobox(bar, values=(ANY_ROOM,), width=16, state="readonly")
        self.message_room.set(ANY_ROOM)
        self.message_room.pack(side="left", padx=6)
        self.search_button = ttk.Button(
            bar, text="Search", bootstyle="primary", command=self.search_messages
        )
        self.search_button.pack(side="left", padx=4)
        self.messages_table = Table(
            frame,
            [("#", 60), ("when", 175), ("room / to", 120), ("login", 110), ("IP", 130),
             ("text", 385)],
        )  # fmt: skip
        self.messages_table.pack(fill="both", expand=True)
        tabs.add(frame, text="Messages")

    def _tab_with_table(
        self, tabs: ttk.Notebook, title: str, columns: Sequence[tuple[str, int]]
    ) -> Table:
        frame = ttk.Frame(tabs, padding=8)
        table = Table(frame, columns)
        table.pack(fill="both", expand=True)
        tabs.add(frame, text=title)
        return table

    def _sanction_bar(self, master: Any) -> None:
        bar = ttk.Frame(master, padding=(0, 8))
        bar.pack(fill="x")
        ttk.Label(bar, text="duration").pack(side="left")
        self.duration = ttk.Combobox(bar, values=DURATIONS, width=10)
        self.duration.set("10m")
        self.duration.pack(side="left", padx=6)
        ttk.Label(bar, text="reason").pack(side="left")
        self.reason = ttk.Entry(bar, width=30)
        self.reason.pack(side="left", padx=6)
        self.kick_button = ttk.Button(
            bar, text="Kick (login + IP)", bootstyle="warning", command=self.kick
        )
        self.kick_button.pack(side="left", padx=4)
        self.ban_button = ttk.Button(
            bar, text="Ban (login + IP)", bootstyle="danger", command=lambda: self.ban(False)
        )
        self.ban_button.pack(side="left", padx=4)
        self.ban_login_button = ttk.Button(
            bar, text="Ban login only", bootstyle="danger-outline", command=lambda: self.ban(True)
        )
        self.ban_login_button.pack(side="left", padx=4)

    # ---- futures to Tk -------------------------------------------------------------

    def _when_done(
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

    def show_error(self, error: BaseException) -> None:
        """Show a command's failure in words."""
        self.show_message(f"⚠ {error}", "danger")

    def show_message(self, text: str, style: str = "success") -> None:
        """A one-line notice under the tabs."""
        self.message.configure(text=text, bootstyle=style)

    # ---- session ---------------------------------------------------------------------

    def log_in(self) -> None:
        """Send the login form."""
        self.login_error.configure(text="")
        future = self.api.login(self.login_entry.get().strip(), self.password_entry.get())
        self.password_entry.delete(0, "end")
        self._when_done(
            future, self._logged_in, lambda error: self.login_error.configure(text=str(error))
        )

    def _logged_in(self, admin: str) -> None:
        self.admin = admin
        self.login_frame.pack_forget()
        self.tabs.pack(fill="both", expand=True, padx=8, pady=4)
        self.message.pack(fill="x")
        self.logout_button.pack(side="right")
        self.show_message(f"Logged in as {admin}")
        self._refresh_tables()

    def log_out(self) -> None:
        """Log out and show the login form again."""
        self._when_done(self.api.logout(), lambda _none: self._logged_out())

    def _logged_out(self) -> None:
        self.admin = None
        self.tabs.pack_forget()
        self.message.pack_forget()
        self.logout_button.pack_forget()
        self.login_frame.pack(fill="both", expand=True, padx=20, pady=20)

    # ---- live figures ------------------------------------------------------------------

    def _refresh(self) -> None:
        if self.server.wait(0):  # stopped from elsewhere (a signal, the API): close too
            self.destroy()
            return
        self._when_done(self.api.status(), self._show_status, lambda _error: None)
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
            f"listening on {status.address} · up {_uptime(status.uptime_seconds)} · "
            f"{status.connections} connections · {status.sessions} sessions · "
            f"{rate:.1f} messages/s · admin: {status.admin or 'not logged in'}"
        )

    def _refresh_tables(self) -> None:
        api = self.api
        self._when_done(
            api.users(),
            lambda users: self.users_table.show(
                [
                    (f"{u.login}|{u.ip}|{u.connected_at}", (u.login, u.ip, _clock(u.connected_at)))
                    for u in users
                ]
            ),
            lambda _error: None,
        )
        self._when_done(api.rooms(), self._show_rooms, lambda _error: None)
        self._when_done(
            api.requests(),
            lambda requests: self.requests_table.show(
                [
                    (str(r.id), (r.id, r.login, r.room, _clock(r.created_at / 1000)))
                    for r in requests
                ]
            ),
            lambda _error: None,
        )
        self._when_done(api.sanctions(), self._show_sanctions, lambda _error: None)
        self._when_done(
            api.audit(100),
            lambda lines: self.audit_table.show(
                [
                    (str(a.id), (_clock(a.ts / 1000), a.admin_login, a.action, a.target, a.details))
                    for a in lines
                ]
            ),
            lambda _error: None,
        )

    def _show_rooms(self, rooms: Sequence[RoomInfo]) -> None:
        self.rooms_table.show(
            [
                (
                    r.name,
                    (
                        r.name,
                        r.access,
                        ", ".join(f"{m}*" if m in r.online else m for m in r.members),
                    ),
                )
                for r in rooms
            ]
        )
        self.message_room.configure(values=(ANY_ROOM, *(r.name for r in rooms)))

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

    def decide(self, granted: bool) -> None:
        """Accept or refuse the selected requests."""
        for key in self.requests_table.selected():
            verdict = "accepted" if granted else "refused"
            self._when_done(
                self.api.decide(int(key), granted),
                lambda request, verdict=verdict: self.show_message(  # type: ignore[misc]
                    f"{verdict} #{request.id}: {request.login} for {request.room}"
                ),
            )
        self.after(200, self._refresh_tables)

    def _selected_logins(self) -> list[str]:
        return [key.split("|", 1)[0] for key in self.users_table.selected()]

    def kick(self) -> None:
        """Kick the selected users for the chosen duration."""
        try:
            seconds = parse_duration(self.duration.get())
        except ValueError as error:
            self.show_error(error)
            return
        for login in self._selected_logins():
            self._when_done(
                self.api.kick(login, seconds, self.reason.get().strip()),
                lambda records, login=login: self.show_message(
                    f"kicked {login} ({len(records)} sanction(s))"
                ),  # type: ignore[misc]
            )
        self.after(200, self._refresh_tables)

    def ban(self, login_only: bool) -> None:
        """Ban the selected users, for the chosen duration or permanently."""
        choice = self.duration.get().strip().lower()
        try:
            seconds = None if choice == "permanent" else parse_duration(choice)
        except ValueError as error:
            self.show_error(error)
            return
        for login in self._selected_logins():
            self._when_done(
                self.api.ban(login, seconds, self.reason.get().strip(), login_only=login_only),
                lambda records, login=login: self.show_message(
                    f"banned {login} ({len(records)} sanction(s))"
                ),  # type: ignore[misc]
            )
        self.after(200, self._refresh_tables)

    def lift_selected(self) -> None:
        """Lift the selected sanctions."""
        for key in self.sanctions_table.selected():
            sanction = self.sanctions_shown.get(key)
            if sanction is None:
                continue
            target = sanction.login or sanction.ip or ""
            self._when_done(
                self.api.lift(target, SanctionKind(sanction.kind)),
                lambda lifted, target=target: self.show_message(
                    f"lifted {len(lifted)} on {target}"
                ),  # type: ignore[misc]
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
                room=None if room in ("", ANY_ROOM) else room,
                limit=SEARCH_LIMIT,
            )
        except AdminError as error:
            self.show_error(error)
            return
        self._when_done(future, lambda found: self._show_found(typed, found))

    def _show_found(self, typed: str, found: Sequence[FoundMessage]) -> None:
        self.messages_table.show(
            [
                (
                    str(m.id),
                    (m.id, _clock(m.ts / 1000, with_date=True), m.place, m.login, m.ip or "-",
                     one_line(m.text)),
                )
                for m in found
            ]
        )  # fmt: skip
        self.show_message(f"{len(found)} message(s) for {typed}, newest first")

    def stop(self, ask: bool = True) -> None:
        """Stop the server after the chosen countdown."""
        seconds = int(self.stop_seconds.get() or 0)
        if ask and not messagebox.askyesno(
            "Stop the server", f"Warn every client and stop in {seconds} s?"
        ):
            return
        self._when_done(
            self.api.stop(seconds, self.stop_reason.get().strip()),
            lambda _none: self.show_message(f"stopping in {seconds} s", "warning"),
        )
        self._close_when_stopped()

    def _close_when_stopped(self) -> None:
        if self.server.wait(0):
            self.destroy()
        else:
            self.after(200, self._close_when_stopped)

    def confirm_close(self) -> None:
        """Closing the window asks whether to stop the server."""
        if messagebox.askyesno(
            "Stop the server?", "Closing this window stops the server. Stop it now?"
        ):
            self.server.request_stop()
            self._close_when_stopped()

    def destroy(self) -> None:
        """Detach the log handler, then close the window."""
        logging.getLogger().removeHandler(self.log_handler)
        super().destroy()


def run_panel(server: ChatServer, api: AdminAPI) -> None:
    """Show the panel until it closes (Tk's main loop in the calling, main, thread)."""
    AdminPanel(server, api).mainloop()
