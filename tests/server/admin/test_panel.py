"""The admin panel, a real Tk window on Xvfb, against a real server.

The tests drive the panel through its widgets (typing in entries, selecting
rows, invoking buttons, answering its ttkbootstrap dialogs) and save
screenshots for docs/ADMIN.md (both themes, both languages).
"""

from __future__ import annotations

import json
import logging
import re
import time
import tkinter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from guigui.common.i18n import set_language
from guigui.common.protocol import MessageType
from guigui.server.admin.api import AdminAPI
from guigui.server.clock import now_ms
from guigui.server.handoff import Done, run_on_loop
from guigui.server.hashing import hash_password
from guigui.server.store import AdminRecord
from tests.conftest import RunningServer
from tests.support.display import display, release_tk, screenshot
from tests.support.wire import WireClient

__all__ = ["display"]  # the fixture, used by name

LoggedIn = Callable[[str], WireClient]


OpenPanel = Callable[..., Any]


@pytest.fixture
def open_panel(display: str, running_server: RunningServer) -> Iterator[OpenPanel]:
    """``open_panel(language="en", theme="bootstrap-light")``: the panel of ``running_server``,
    with an admin account ``chief``."""
    from guigui.server.admin.panel import AdminPanel

    server = running_server.server
    password_hash = hash_password("chief password", 4)

    def create_admin(done: Done[AdminRecord]) -> None:
        server.store_worker.submit(
            lambda store: store.create_admin("chief", password_hash, now_ms()), done
        )

    run_on_loop(server, create_admin).result(10)
    logging.getLogger("guigui").setLevel(logging.INFO)  # as run_server.py configures it
    windows: list[Any] = []

    def factory(language: str = "en", theme: str = "bootstrap-light") -> Any:
        set_language(language)
        window = AdminPanel(server, AdminAPI(server), theme=theme)
        windows.append(window)
        return window

    yield factory
    for window in windows:
        window.destroy()
    windows.clear()
    release_tk()  # Tk objects must die in this (the Tk) thread, not in a later GC elsewhere
    logging.getLogger("guigui").setLevel(logging.NOTSET)
    set_language("en")


@pytest.fixture
def panel(open_panel: OpenPanel) -> Any:
    """The panel in English, light theme."""
    return open_panel()


def pump(window: object, until: Callable[[], bool], timeout: float = 10.0) -> None:
    """Run Tk's event loop until ``until()`` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the panel did not get there in time"
        window.update()  # type: ignore[attr-defined]
        time.sleep(0.01)


def window_id(window: object) -> int:
    return int(window.wm_frame(), 16)  # type: ignore[attr-defined]


def texts(widget: Any) -> list[str]:
    """Every text shown by ``widget`` and its children (labels, buttons, tab titles, headings)."""
    found: list[str] = []
    try:
        text = str(widget.cget("text"))
    except tkinter.TclError:
        text = ""
    if text:
        found.append(text)
    if isinstance(widget, tkinter.ttk.Notebook):
        found += [str(widget.tab(tab, "text")) for tab in widget.tabs()]
    if isinstance(widget, tkinter.ttk.Treeview):
        found += [str(widget.heading(column, "text")) for column in widget["columns"]]
    for child in widget.winfo_children():
        found += texts(child)
    return found


def buttons_of(widget: Any) -> dict[str, Any]:
    """The buttons under ``widget``, by their text."""
    found = {}
    for child in widget.winfo_children():
        if isinstance(child, tkinter.ttk.Button):
            found[str(child.cget("text"))] = child
        found.update(buttons_of(child))
    return found


class Dialog:
    """Answers the next dialog of the panel with the button ``choose``, as a user would.

    What the dialog said is kept in ``said`` (all its texts) and ``buttons``.
    """

    def __init__(self, window: Any, choose: str, screenshot_name: str | None = None) -> None:
        self.window, self.choose, self.screenshot_name = window, choose, screenshot_name
        self.said: list[str] = []
        self.buttons: list[str] = []
        self.toplevel: Any = None
        window.after(50, self._look)

    def _look(self) -> None:
        shown = [
            child
            for child in self.window.winfo_children()
            if isinstance(child, tkinter.Toplevel) and child.winfo_ismapped()
        ]
        if not shown:
            self.window.after(50, self._look)
            return
        self.toplevel = shown[0]
        self.toplevel.update()
        self.said = texts(self.toplevel)
        found = buttons_of(self.toplevel)
        self.buttons = list(found)
        if self.screenshot_name:
            screenshot(int(self.toplevel.wm_frame(), 16), self.screenshot_name)
        found[self.choose].invoke()

    @property
    def message(self) -> str:
        """The dialog's text, lines joined."""
        return " ".join(self.said)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_log_in_accept_a_request_and_kick_a_user(
    panel: object, logged_in: LoggedIn, running_server: RunningServer
) -> None:
    window = panel
    alice = logged_in("alice")
    request_id = alice.ok(MessageType.JOIN, room="Informatique")["request_id"]
    pump(window, lambda: "1 connections" in window.status_text.get())  # type: ignore[attr-defined]
    screenshot(window_id(window), "admin-login")

    window.login_entry.insert(0, "chief")  # type: ignore[attr-defined]
    window.password_entry.insert(0, "wrong password")  # type: ignore[attr-defined]
    window.login_button.invoke()  # type: ignore[attr-defined]
    pump(window, lambda: "wrong" in str(window.login_error.cget("text")))  # type: ignore[attr-defined]
    window.login_entry.delete(0, "end")  # type: ignore[attr-defined]
    window.login_entry.insert(0, "chief")  # type: ignore[attr-defined]
    window.password_entry.insert(0, "chief password")  # type: ignore[attr-defined]
    window.login_button.invoke()  # type: ignore[attr-defined]
    pump(window, lambda: window.admin == "chief")  # type: ignore[attr-defined]

    requests = window.requests_table  # type: ignore[attr-defined]
    pump(window, lambda: str(request_id) in requests.tree.get_children())
    window.tabs.select(2)  # type: ignore[attr-defined]
    requests.tree.selection_set(str(request_id))
    window.update()  # type: ignore[attr-defined]
    screenshot(window_id(window), "admin-requests")
    window.accept_button.invoke()  # type: ignore[attr-defined]
    decision = alice.next_event(MessageType.ACCESS_DECISION)
    assert decision == {"room": "Informatique", "granted": True, "request_id": request_id}

    users = window.users_table  # type: ignore[attr-defined]
    window.tabs.select(0)  # type: ignore[attr-defined]
    pump(window, lambda: any(key.startswith("alice|") for key in users.tree.get_children()))
    alice_row = next(key for key in users.tree.get_children() if key.startswith("alice|"))
    users.tree.selection_set(alice_row)
    window.duration.set("10m")  # type: ignore[attr-defined]
    window.reason.insert(0, "too loud")  # type: ignore[attr-defined]
    window.update()  # type: ignore[attr-defined]
    screenshot(window_id(window), "admin-users")
    dialog = Dialog(window, "Kick login + IP", "admin-kick-dialog")
    window.kick_button.invoke()  # type: ignore[attr-defined]
    pump(window, lambda: dialog.toplevel is not None)
    frames = alice.expect_closed()
    assert any(f.type == MessageType.SANCTIONED and f.body["kind"] == "kick" for f in frames)
    pump(window, lambda: len(window.sanctions_table.tree.get_children()) == 1)  # type: ignore[attr-defined]
    window.tabs.select(3)  # type: ignore[attr-defined]
    window.update()  # type: ignore[attr-defined]
    screenshot(window_id(window), "admin-sanctions")
    pump(window, lambda: "kick" in window.log_view.get("1.0", "end"))  # type: ignore[attr-defined]
    window.tabs.select(4)  # type: ignore[attr-defined]
    window.update()  # type: ignore[attr-defined]
    screenshot(window_id(window), "admin-log")


def log_in(window: Any) -> None:
    """Log the panel in as ``chief``."""
    window.login_entry.insert(0, "chief")
    window.password_entry.insert(0, "chief password")
    window.login_button.invoke()
    pump(window, lambda: window.admin == "chief")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_search_messages_by_login_and_by_ip_then_lift_a_sanction(
    panel: Any, logged_in: LoggedIn
) -> None:
    window = panel
    alice, bob = logged_in("alice"), logged_in("bob")
    hello = alice.ok(MessageType.SAY, room="Général", text="hello \x1b[31mred\nnext")["message"]
    direct = bob.ok(MessageType.DIRECT, to="alice", text="psst")["message"]
    log_in(window)
    window.tabs.select(6)
    window.message_search.insert(0, "alice")
    window.search_button.invoke()
    found = window.messages_table.tree
    pump(window, lambda: found.get_children() == (str(hello["id"]),))
    row = found.item(str(hello["id"]), "values")
    assert [str(value) for value in row[2:]] == [
        "Général", "alice", "127.0.0.1", r"hello \x1b[31mred\nnext"
    ]  # fmt: skip
    screenshot(window_id(window), "admin-messages")

    window.message_search.delete(0, "end")
    window.message_search.insert(0, "127.0.0.1")
    window.search_button.invoke()
    pump(window, lambda: found.get_children() == (str(direct["id"]), str(hello["id"])))
    assert str(found.item(str(direct["id"]), "values")[2]) == "to alice"
    window.message_room.set("Blabla")
    window.search_button.invoke()
    pump(window, lambda: found.get_children() == ())
    audit = window.audit_table.tree
    pump(
        window,
        lambda: (
            sum(audit.item(key, "values")[2] == "messages" for key in audit.get_children()) == 3
        ),
    )

    window.message_search.delete(0, "end")
    window.message_search.insert(0, "not a login!")
    window.search_button.invoke()
    assert "neither a login nor an IP" in str(window.message.cget("text"))

    # Lifting goes by the sanctions the panel was last given, never by server state.
    window.tabs.select(0)
    users = window.users_table
    pump(window, lambda: any(key.startswith("bob|") for key in users.tree.get_children()))
    users.tree.selection_set(next(k for k in users.tree.get_children() if k.startswith("bob|")))
    dialog = Dialog(window, "Kick login only")
    window.kick_button.invoke()
    pump(window, lambda: dialog.toplevel is not None)
    bob.expect_closed()
    sanctions = window.sanctions_table.tree
    pump(window, lambda: len(sanctions.get_children()) == 1)
    sanctions.selection_set(sanctions.get_children()[0])
    window.lift_button.invoke()
    pump(window, lambda: len(sanctions.get_children()) == 0)
    logged_in("bob")  # the kick is lifted


def window_size(window: Any) -> tuple[int, int]:
    return window.winfo_width(), window.winfo_height()


def select_tab(window: Any, frame: Any) -> None:
    window.tabs.select(frame)
    window.update()


def visible_inside(window: Any, widget: Any) -> bool:
    """Mapped, wide enough for its text, and wholly inside the window."""
    window.update()
    left, top = window.winfo_rootx(), window.winfo_rooty()
    x, y = widget.winfo_rootx(), widget.winfo_rooty()
    return bool(
        widget.winfo_ismapped()
        and widget.winfo_width() >= widget.winfo_reqwidth()
        and left <= x
        and top <= y
        and x + widget.winfo_width() <= left + window.winfo_width()
        and y + widget.winfo_height() <= top + window.winfo_height()
    )


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_control_is_visible_at_the_default_and_the_minimum_size(
    open_panel: OpenPanel, language: str
) -> None:
    """Issue 13, item 12: "Ban login only" was clipped at the default size."""
    from guigui.server.admin.panel import MINSIZE, SIZE

    window = open_panel(language)
    log_in(window)
    by_tab = [
        (window.users_table.master, ["kick_button", "ban_button", "ban_login_button", "reason"]),
        (window.requests_tab, ["accept_button", "refuse_button"]),
        (window.sanctions_table.master, ["lift_button"]),
        (window.messages_table.master, ["search_button", "message_search", "message_room"]),
        (window.stop_button.master, ["stop_button", "stop_reason"]),
    ]
    for width, height in (SIZE, MINSIZE):
        window.geometry(f"{width}x{height}")
        wanted = (width, height)
        pump(window, lambda: window_size(window) == wanted)  # noqa: B023 (used at once)
        assert visible_inside(window, window.logout_button)
        assert visible_inside(window, window.message)
        for frame, names in by_tab:
            select_tab(window, frame)
            for name in names:
                assert visible_inside(window, getattr(window, name)), (name, width, height)
        select_tab(window, window.users_table.master)
        screenshot(window_id(window), f"admin-users-{width}x{height}-{language}")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_requests_tab_counts_pending_requests_live(panel: Any, logged_in: LoggedIn) -> None:
    """Issue 13, item 12: no count on the Requests tab."""
    window = panel
    log_in(window)
    alice = logged_in("alice")
    first = alice.ok(MessageType.JOIN, room="Informatique")["request_id"]
    alice.ok(MessageType.JOIN, room="Marketing")
    title = lambda: str(window.tabs.tab(window.requests_tab, "text"))  # noqa: E731
    pump(window, lambda: title() == "Requests (2)")
    select_tab(window, window.requests_tab)
    window.requests_table.tree.selection_set(str(first))
    window.accept_button.invoke()
    pump(window, lambda: title() == "Requests (1)")
    assert "accepted #" in str(window.message.cget("text"))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_button_says_what_to_select_when_nothing_is(panel: Any) -> None:
    """Issue 13, item 12: Accept with nothing selected did nothing, in silence."""
    window = panel
    log_in(window)
    cases = [
        (window.requests_tab, window.accept_button, "Select a request in the list first."),
        (window.requests_tab, window.refuse_button, "Select a request in the list first."),
        (window.users_table.master, window.kick_button, "Select a user in the list first."),
        (window.users_table.master, window.ban_button, "Select a user in the list first."),
        (window.users_table.master, window.ban_login_button, "Select a user in the list first."),
        (window.sanctions_table.master, window.lift_button, "Select a sanction in the list first."),
    ]
    for frame, button, notice in cases:
        select_tab(window, frame)
        window.show_message("")
        button.invoke()
        window.update()
        assert str(window.message.cget("text")) == notice
        assert visible_inside(window, window.message)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_ip_kick_names_everyone_it_hits_before_and_after(
    panel: Any, logged_in: LoggedIn
) -> None:
    """Issue 13, item 4: kick by login + IP also kicked another user, and the panel said
    only "kicked bob (1 sanction(s))"; the log said "until 1795873304794"."""
    window = panel
    alice, bob, carol = logged_in("alice"), logged_in("bob"), logged_in("carol")
    log_in(window)
    users = window.users_table.tree

    def select(login: str) -> None:
        pump(window, lambda: any(k.startswith(f"{login}|") for k in users.get_children()))
        users.selection_set(next(k for k in users.get_children() if k.startswith(f"{login}|")))

    select("alice")
    window.duration.set("10 minutes")
    dialog = Dialog(window, "Kick login only", "admin-kick-preview-en")
    window.kick_button.invoke()
    pump(window, lambda: dialog.toplevel is not None)
    assert "Also logged in on that IP, they are disconnected too: bob and carol." in dialog.said
    assert dialog.buttons == ["Cancel", "Kick login only", "Kick login + IP"]
    alice.expect_closed()
    pump(window, lambda: "(login only)" in str(window.message.cget("text")))
    assert str(window.message.cget("text")) == "kicked alice (login only) for 10 min"
    bob.ok(MessageType.SAY, room="Général", text="still here")  # not hit

    select("bob")
    dialog = Dialog(window, "Kick login + IP")
    window.kick_button.invoke()
    pump(window, lambda: dialog.toplevel is not None)
    bob.expect_closed()
    carol.expect_closed()
    pump(window, lambda: "bob and carol" in str(window.message.cget("text")))
    assert str(window.message.cget("text")) == (
        "kicked bob and carol (same IP 127.0.0.1) for 10 min"
    )
    screenshot(window_id(window), "admin-kick-feedback-en")

    select_tab(window, window.log_view.master)
    pump(window, lambda: "kick of bob" in window.log_view.get("1.0", "end"))
    log_text = window.log_view.get("1.0", "end")
    assert not re.search(r"\d{12,}", log_text), log_text
    assert re.search(r"until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in \d+ min( \d+ s)?\)", log_text)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cancelling_the_preview_applies_nothing(panel: Any, logged_in: LoggedIn) -> None:
    window = panel
    alice = logged_in("alice")
    log_in(window)
    users = window.users_table.tree
    pump(window, lambda: len(users.get_children()) == 1)
    users.selection_set(users.get_children()[0])
    dialog = Dialog(window, "Cancel")
    window.ban_button.invoke()
    pump(window, lambda: str(window.message.cget("text")) == "Nothing done.")
    assert "Ban alice permanently?" not in dialog.said  # the default duration is 10 minutes
    assert "Ban alice for 10 min?" in dialog.said
    alice.ok(MessageType.SAY, room="Général", text="not banned")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_stopping_asks_in_a_ttkbootstrap_dialog(panel: Any, running_server: RunningServer) -> None:
    """Issue 13, item 12: plain Tk Yes/No dialogs."""
    window = panel
    log_in(window)
    select_tab(window, window.stop_button.master)
    dialog = Dialog(window, "Cancel", "admin-stop-dialog-en")
    window.stop_button.invoke()
    assert dialog.buttons == ["Cancel", "Stop the server"]
    assert isinstance(dialog.toplevel, __import__("ttkbootstrap").Toplevel)
    assert not running_server.server.wait(0)


@pytest.mark.parametrize("theme", ["bootstrap-light", "bootstrap-dark"])
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_panel_in_french(open_panel: OpenPanel, logged_in: LoggedIn, theme: str) -> None:
    """Every text of the panel is French when the language is French."""
    from guigui.common.i18n import parse_po
    from guigui.server.admin import panel as panel_module

    po = Path(panel_module.__file__).parents[2] / "common" / "locale" / "fr" / "admin.po"
    catalog = parse_po(po.read_text(encoding="utf-8"))
    english_only = {msgid for msgid, msgstr in catalog.items() if msgid != msgstr}
    alice, _bob = logged_in("alice"), logged_in("bob")
    alice.ok(MessageType.JOIN, room="Informatique")
    window = open_panel("fr", theme)
    pump(window, lambda: "2 connexions" in window.status_text.get())
    shade = "dark" if "dark" in theme else "light"
    screenshot(window_id(window), f"admin-login-fr-{shade}")
    assert not set(texts(window)) & english_only
    log_in(window)
    pump(window, lambda: str(window.tabs.tab(window.requests_tab, "text")) == "Demandes (1)")
    users = window.users_table.tree
    pump(window, lambda: len(users.get_children()) == 2)
    assert re.fullmatch(
        r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", users.item(users.get_children()[0], "values")[2]
    )
    for frame in window.tabs.tabs():
        window.tabs.select(frame)
        window.update()
        shown = set(texts(window))
        assert not shown & english_only, shown & english_only
    select_tab(window, window.users_table.master)
    screenshot(window_id(window), f"admin-users-fr-{shade}")
    users.selection_set(next(k for k in users.get_children() if k.startswith("alice|")))
    dialog = Dialog(window, "Expulser l’identifiant seul", f"admin-kick-preview-fr-{shade}")
    window.kick_button.invoke()
    pump(window, lambda: dialog.toplevel is not None)
    assert "Aussi connectés sur cette IP, ils seront déconnectés aussi : bob." in dialog.said
    alice.expect_closed()
    pump(window, lambda: "expulsion de alice" in str(window.message.cget("text")))
    assert str(window.message.cget("text")) == "expulsion de alice (identifiant seul) pour 10 min"
    sanctions = window.sanctions_table.tree
    pump(window, lambda: len(sanctions.get_children()) == 1)
    line = str(sanctions.item(sanctions.get_children()[0], "values")[0])
    assert re.search(r"expulsion alice jusqu’au \d\d/\d\d/\d{4} [\d:]{8} \(dans \d+ min", line)
    select_tab(window, window.sanctions_table.master)
    screenshot(window_id(window), f"admin-sanctions-fr-{shade}")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_personal_data_tab_exports_then_deletes_an_account(
    panel: Any, logged_in: LoggedIn, tmp_path: Path
) -> None:
    """GDPR: a user's data saved as JSON, then the account deleted, from the panel."""
    window = panel
    log_in(window)
    alice, bob = logged_in("alice"), logged_in("bob")
    alice.ok(MessageType.SAY, room="Général", text="mes données")
    select_tab(window, window.personal_login.master.master)
    window.export_button.invoke()
    assert str(window.message.cget("text")) == "Type the login of the account first."
    target = tmp_path / "export" / "alice.json"
    target.parent.mkdir()
    window.choose_export_file = lambda login: str(target)
    window.personal_login.insert(0, "alice")
    window.export_button.invoke()
    pump(window, target.exists)
    assert json.loads(target.read_text(encoding="utf-8"))["messages_sent"][0]["text"] == (
        "mes données"
    )
    assert "alice's data written to" in str(window.message.cget("text"))
    asked: list[str] = []

    def cancel(title: str, message: str, buttons: object, default: str) -> str:
        asked.append(message)
        return "Cancel"

    window.ask = cancel
    window.erase_button.invoke()
    assert "Delete the account alice?" in asked[0]
    window.ask = lambda title, message, buttons, default: "Delete the account"
    window.erase_button.invoke()
    pump(window, lambda: "erased" in str(window.message.cget("text")))
    alice.expect_closed()
    history = bob.ok(MessageType.HISTORY, room="Général")["messages"]
    assert history[0]["from"].startswith("deleted#")
    screenshot(window_id(window), "admin-personal-data")
