"""Defect 8 of issue 13, through the real widgets: direct conversations and unread counts
come back after each login, and what is read on one computer is read on the others.

A real Tk window on Xvfb against a real server; the other people, and the
user's other computer, are ``ChatConnection``s (ttkbootstrap allows one
application window per process).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from guigui.client.connection import ChatConnection
from guigui.client.gui.app import ClientApp
from guigui.client.model import ConversationKey
from guigui.client.settings import ClientSettings
from tests.conftest import RunningServer
from tests.support.display import display, screenshot

__all__ = ["display"]

PASSWORD = "correct horse"


def pump(app: ClientApp, until: Callable[[], Any], timeout: float = 15.0) -> None:
    """Run Tk until ``until()`` is true."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the client did not get there in time"
        app.update()
        time.sleep(0.01)


@pytest.fixture
def app(display: str, running_server: RunningServer) -> Iterator[ClientApp]:
    """The desktop client, pointed at the test server."""
    settings = ClientSettings(host=running_server.host, port=running_server.port, language="en")
    client = ClientApp(settings, save_settings=False)
    yield client
    client.quit_app()
    del client
    gc.collect()  # Tk objects must die in this (the Tk) thread


def account(running: RunningServer, login: str, *, log_in: bool = True) -> ChatConnection:
    connection = ChatConnection.connect(running.host, running.port)
    connection.register(login, PASSWORD, "Ada", "Martin", f"{login}@example.org")
    if log_in:
        connection.login(login, PASSWORD)
    return connection


def log_in(app: ClientApp, login: str) -> None:
    """Through the login form, as a user does."""
    form = app.login_form
    pump(app, lambda: app.screen is form)
    form.login.delete(0, "end")
    form.login.insert(0, login)
    form.password.delete(0, "end")
    form.password.insert(0, PASSWORD)
    form.submit()  # what the Log in button and Enter do (the button's state is defect 3's)
    pump(app, lambda: app.screen is app.main_window)


def badge(app: ClientApp, login: str) -> str | None:
    """What the direct-messages list shows next to ``login`` (None: not listed)."""
    tree = app.main_window.direct_list
    iid = f"dm:{login}"
    if not tree.exists(iid):
        return None
    values = tree.item(iid, "values")
    return str(values[0]) if values else ""


def unread_on_the_server(connection: ChatConnection, login: str) -> int:
    states = connection.all_conversations()
    return next(s.unread for s in states if s.with_user == login)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_direct_conversations_and_unread_counts_survive_logout(
    app: ClientApp, running_server: RunningServer
) -> None:
    bob, carol = account(running_server, "bob"), account(running_server, "carol")
    laptop = account(running_server, "alice", log_in=False)  # alice's other computer
    bob.direct("alice", "psst")
    bob.direct("alice", "tu es là ?")
    carol.direct("alice", "coucou")

    # Logging in shows both conversations, newest first, with their unread counts.
    log_in(app, "alice")
    pump(app, lambda: badge(app, "bob") == "2" and badge(app, "carol") == "1")
    tree = app.main_window.direct_list
    assert tree.get_children() == ("dm:carol", "dm:bob")
    assert tree.winfo_ismapped()
    app.update()
    screenshot(int(app.wm_frame(), 16), f"client-direct-list-{app.settings.theme}")

    # Opening bob's conversation reads it, on the server too.
    tree.selection_set("dm:bob")
    pump(app, lambda: app.model.selected == ConversationKey.direct("bob"))
    pump(app, lambda: badge(app, "bob") == "" and app.model.conversation(
        ConversationKey.direct("bob")).loaded)  # fmt: skip
    laptop.login("alice", PASSWORD)
    deadline = time.monotonic() + 15
    while unread_on_the_server(laptop, "bob"):
        assert time.monotonic() < deadline, "the READ never reached the server"
        time.sleep(0.05)
    assert unread_on_the_server(laptop, "carol") == 1

    # Read on the laptop: the count disappears here at once (READ_STATE).
    app.open_conversation(ConversationKey.room("Général"))
    message = carol.direct("alice", "encore moi")
    pump(app, lambda: badge(app, "carol") == "2")
    laptop.mark_read(message.id, with_user="carol")
    pump(app, lambda: badge(app, "carol") == "")

    # Log out, log in again: the list and the counts are still there.
    bob.direct("alice", "à demain")
    pump(app, lambda: badge(app, "bob") == "1")
    app.log_out()
    pump(app, lambda: app.screen is app.login_form)
    log_in(app, "alice")
    pump(app, lambda: badge(app, "bob") == "1" and badge(app, "carol") == "")
    assert tree.get_children() == ("dm:bob", "dm:carol")
    for connection in (bob, carol, laptop):
        connection.close()
