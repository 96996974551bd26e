"""The admin panel, a real Tk window on Xvfb, against a real server.

The tests drive the panel through its widgets (typing in entries, selecting
rows, invoking buttons, answering its ttkbootstrap dialogs) and save
screenshots for docs/ADMIN.md (both themes, both languages).
"""

from __future__ import annotations

import gc
import logging
import time
import tkinter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from guigui.common.i18n import set_language
from guigui.common.protocol import MessageType
from guigui.server.admin.api import AdminAPI
from guigui.server.clock import now_ms
from guigui.server.moderation import Done, run_on_loop
from guigui.server.store import AdminRecord
from guigui.server.workers import hash_password
from tests.conftest import RunningServer
from tests.support.display import display, screenshot
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
    gc.collect()  # Tk objects must die in this (the Tk) thread, not in a later GC elsewhere
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
