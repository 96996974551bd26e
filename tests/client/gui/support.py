"""What the desktop client's GUI tests share: a client in a chosen language and theme, a login."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from guigui.client.connection import ChatConnection
from guigui.client.gui.app import ClientApp
from guigui.client.model import ConversationKey
from guigui.client.settings import ClientSettings
from guigui.common.i18n import set_language
from guigui.server.handoff import Done, run_on_loop
from guigui.server.moderation import Moderation
from tests.client.gui.test_desktop_client import pump, shot, type_into
from tests.conftest import RunningServer

__all__ = ["pump", "shot", "type_into"]

GENERAL = ConversationKey.room("Général")
PASSWORD = "correct horse"


@contextmanager
def desktop_client(
    running: RunningServer, *, language: str = "en", theme: str = "light"
) -> Iterator[ClientApp]:
    """The desktop client pointed at ``running``; closed (in the Tk thread) at the end."""
    settings = ClientSettings(host=running.host, port=running.port, language=language, theme=theme)
    client = ClientApp(settings, save_settings=False)
    try:
        yield client
    finally:
        client.quit_app()
        del client
        gc.collect()  # Tk objects must die in this (the Tk) thread
        set_language("en")


def register(running: RunningServer, login: str, last_name: str = "Martin") -> None:
    """Create an account over the wire (quicker than the form when the form is not tested)."""
    connection = ChatConnection.connect(running.host, running.port)
    connection.register(login, PASSWORD, "Ada", last_name, f"{login}@example.org")
    connection.close()


def other_user(running: RunningServer, login: str) -> ChatConnection:
    """Another user, logged in over the wire (one Tk application per process)."""
    register(running, login)
    connection = ChatConnection.connect(running.host, running.port)
    connection.login(login, PASSWORD)
    return connection


def log_in(app: ClientApp, login: str, password: str = PASSWORD) -> None:
    """Log in through the login form and wait for the chat with Général loaded."""
    form = app.login_form
    type_into(form.login, login)
    type_into(form.password, password)
    form.submit_button.invoke()
    pump(app, lambda: app.screen is app.main_window and app.model.conversation(GENERAL).loaded)


def moderate(running: RunningServer, call: Callable[[Moderation, Done[Any]], None]) -> Any:
    """Run one moderation call (as the admin panel does) and wait for its outcome."""
    moderation = Moderation(running.server)
    return run_on_loop(running.server, lambda done: call(moderation, done)).result(timeout=10)


def status_text(app: ClientApp) -> str:
    """What the status bar says."""
    return str(app.main_window.status_bar.cget("text"))


def type_message(app: ClientApp, text: str) -> None:
    """Type in the message box and press Enter."""
    box = app.main_window.input
    box.delete("1.0", "end")
    box.insert("1.0", text)
    box.focus_force()
    box.event_generate("<Return>")
    app.update()
