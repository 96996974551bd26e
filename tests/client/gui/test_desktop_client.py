"""The desktop client, a real Tk window on Xvfb, against a real server.

The test drives it through its widgets, as a user would, and saves a
screenshot of each screen in both themes for docs/CLIENT.md. The other user is
a ``ChatConnection`` (the module the desktop client uses): ttkbootstrap allows
one application window per process.
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
from guigui.common.messages import MessageEvent
from guigui.server.handoff import Done, run_on_loop
from guigui.server.moderation import Moderation
from guigui.server.store import AccessRequestRecord
from tests.conftest import RunningServer
from tests.support.display import display, screenshot

__all__ = ["display"]

GENERAL = ConversationKey.room("Général")


def pump(app: ClientApp, until: Callable[[], Any], timeout: float = 15.0) -> None:
    """Run Tk until ``until()`` is true."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the client did not get there in time"
        app.update()
        time.sleep(0.01)


def shot(app: ClientApp, name: str) -> None:
    app.update()
    time.sleep(0.1)
    app.update()
    screenshot(int(app.wm_frame(), 16), f"client-{name}-{app.settings.theme}")


def shot_settings(app: ClientApp) -> None:
    """The settings dialog (a window of its own), then Cancel."""
    dialog = app.show_settings()
    dialog.update()
    time.sleep(0.1)
    dialog.update()
    screenshot(int(dialog.wm_frame(), 16), f"client-settings-{app.settings.theme}")
    dialog.cancel()


def type_into(entry: Any, text: str) -> None:
    """Type into an entry: the text, then the key release that live checks listen to."""
    entry.delete(0, "end")
    entry.insert(0, text)
    entry.focus_force()
    entry.update()
    entry.event_generate("<KeyRelease>", keysym="a")
    entry.update()


@pytest.fixture
def app(display: str, running_server: RunningServer) -> Iterator[ClientApp]:
    """The desktop client, pointed at the test server, in French or English as the system says."""
    settings = ClientSettings(host=running_server.host, port=running_server.port, language="en")
    client = ClientApp(settings, save_settings=False)
    yield client
    client.quit_app()
    del client
    gc.collect()  # Tk objects must die in this (the Tk) thread, not in a later GC elsewhere


def other_user(running: RunningServer, login: str) -> ChatConnection:
    connection = ChatConnection.connect(running.host, running.port)
    connection.register(login, "correct horse", "Bob", "Martin", f"{login}@example.org")
    connection.login(login, "correct horse")
    return connection


def register_and_log_in(app: ClientApp) -> None:
    app.show_register()
    form = app.register_form
    type_into(form.entries["email"], "not an email")
    assert form.errors["email"].cget("text")  # checked as the user types
    typed = {
        "last_name": "Martin",
        "first_name": "Alice",
        "email": "alice@example.org",
        "login": "alice",
        "password": "correct horse",
    }
    for name, value in typed.items():
        type_into(form.entries[name], value)
    assert not form.errors["email"].cget("text")
    shot(app, "register")
    form.submit_button.invoke()
    pump(app, lambda: app.screen is app.login_form)
    type_into(app.login_form.password, "correct horse")
    shot(app, "login")
    app.login_form.submit_button.invoke()
    pump(app, lambda: app.screen is app.main_window and app.model.conversation(GENERAL).loaded)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_day_with_the_desktop_client(
    app: ClientApp, running_server: RunningServer, server_factory: Callable[..., RunningServer]
) -> None:
    bob = other_user(running_server, "bob")
    for n in range(120):
        bob.say("Général", f"history {n}")

    register_and_log_in(app)
    model, main = app.model, app.main_window
    assert [m.text for m in model.conversation(GENERAL).messages][-1] == "history 119"
    assert len(model.conversation(GENERAL).messages) == 50
    assert "bob" in model.online

    # Older history loads when scrolling to the top.
    main.message_view.text.yview_moveto(0.0)
    pump(app, lambda: len(model.conversation(GENERAL).messages) == 100)
    main.message_view.text.yview_moveto(0.0)
    pump(app, lambda: len(model.conversation(GENERAL).messages) == 120)
    assert not model.conversation(GENERAL).more_history

    # Send and receive.
    bob.say("Général", "Salut Alice 😀")
    pump(app, lambda: any("Salut Alice 😀" in line for line in main.message_view.lines))
    main.input.insert("1.0", "Bonjour Bob !")
    main.input.event_generate("<Return>")
    event = bob.events.get(timeout=10)
    while not (isinstance(event, MessageEvent) and event.message.text == "Bonjour Bob !"):
        event = bob.events.get(timeout=10)
    pump(app, lambda: not model.outgoing)
    shot(app, "main")

    # Ask for Informatique; the admin grants it; the client shows it live.
    main.room_list.selection_set("room:Informatique")
    pump(app, lambda: main.join_button.winfo_ismapped())
    main.join_button.invoke()
    pump(app, lambda: model.rooms["Informatique"].pending)
    request_id = running_server.server.rooms.pending_requests()[0].id
    moderation = Moderation(running_server.server)

    def grant(done: Done[AccessRequestRecord]) -> None:
        moderation.decide_request(request_id, True, "chief", done)

    run_on_loop(running_server.server, grant).result(10)
    pump(app, lambda: model.rooms["Informatique"].member)
    assert "Informatique" in model.notices[-1]

    # A direct conversation, opened from the list of who is online.
    main.people_list.selection_set("user:bob")
    pump(app, lambda: model.selected == ConversationKey.direct("bob"))
    main.input.insert("1.0", "Un café ?")
    main.send_button.invoke()
    event = bob.events.get(timeout=10)
    while not (isinstance(event, MessageEvent) and event.message.recipient == "bob"):
        event = bob.events.get(timeout=10)
    assert event.message.text == "Un café ?"
    bob.direct("alice", "Avec plaisir")
    pump(app, lambda: any("Avec plaisir" in line for line in main.message_view.lines))
    shot(app, "direct")

    # The server restarts; what is typed meanwhile is kept and sent once, after.
    port = running_server.port
    bob.close()
    running_server.server.stop(timeout=15)
    pump(app, lambda: "offline" in model.connection_state)
    app.open_conversation(GENERAL)
    main.input.insert("1.0", "typed during the outage")
    main.input.event_generate("<Return>")
    pump(app, lambda: any("sending" in line for line in main.message_view.lines))
    shot(app, "offline")
    restarted = server_factory(port=port)
    pump(app, lambda: not model.outgoing, timeout=30)
    assert model.connection_state == "online"
    reader = ChatConnection.connect(restarted.host, restarted.port)
    reader.login("bob", "correct horse")
    messages, _more = reader.history(room="Général", limit=5)
    assert [m.text for m in messages].count("typed during the outage") == 1
    reader.close()

    # Both themes.
    app.settings.theme = "dark"
    app.apply_settings()
    pump(app, lambda: app.screen is app.main_window)
    app.open_conversation(GENERAL)
    shot(app, "main")
    shot_settings(app)
    app.show_register()
    shot(app, "register")
    app.show_login()
    shot(app, "login")
    app.settings.theme = "light"
    app.apply_settings()
    shot_settings(app)
