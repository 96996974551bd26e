"""Settings: found at first launch, when the server is away, and while logged in; live changes.

Through the real dialog under Xvfb: the login screen shows the server's
address with a Change button; an unreachable server is named and offers the
settings; the dialog checks the port as it is typed, saves on Enter, cancels
on Escape, leaves a half-filled register form as it was, and while logged in
switches theme and language at once, the choices shown in words.
"""

from __future__ import annotations

import time

import pytest

from guigui.client.gui.app import ClientApp
from guigui.client.gui.settings_dialog import SettingsDialog
from tests.client.gui.test_desktop_client import (
    GENERAL,
    app,
    pump,
    register_and_log_in,
    shot,
    type_into,
)
from tests.conftest import RunningServer
from tests.support.display import display, screenshot
from tests.support.ports import free_port

__all__ = ["app", "display"]


def dialog_shot(dialog: SettingsDialog, name: str) -> None:
    dialog.update()
    time.sleep(0.1)
    dialog.update()
    screenshot(int(dialog.wm_frame(), 16), f"client-{name}-{dialog.app.settings.theme}")


def press(widget: object, key: str) -> None:
    widget.focus_force()  # type: ignore[attr-defined]
    widget.update()  # type: ignore[attr-defined]
    widget.event_generate(key)  # type: ignore[attr-defined]
    widget.update()  # type: ignore[attr-defined]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_settings_from_the_first_screen_and_an_unreachable_server(
    app: ClientApp, running_server: RunningServer
) -> None:
    login = app.login_form
    address = f"{running_server.host}:{running_server.port}"
    assert address in login.server_label.cget("text")
    pump(app, lambda: login.settings_button.winfo_ismapped())
    assert str(login.settings_button.cget("state")) == "normal"

    # Point the client at a port where nothing listens: the error names it, offers Settings.
    dead = free_port()
    app.settings.port = dead
    app.show_login()
    type_into(login.login, "alice")
    type_into(login.password, "correct horse")
    login.submit_button.invoke()
    pump(app, lambda: bool(login.message.cget("text")))
    assert f"{running_server.host}:{dead}" in login.message.cget("text")
    pump(app, lambda: login.open_settings_button.winfo_ismapped())
    shot(app, "unreachable")
    login.open_settings_button.invoke()
    dialog = app.settings_dialog
    assert dialog is not None and dialog.winfo_ismapped()

    # The port is checked as it is typed, before Save.
    type_into(dialog.port, "70000")
    assert dialog.port_error.cget("text")
    assert dialog.port.instate(["invalid"])
    dialog_shot(dialog, "settings-bad-port")
    press(dialog.port, "<Return>")  # Enter with a bad port: nothing is saved
    assert dialog.winfo_exists() and app.settings.port == dead
    type_into(dialog.port, str(running_server.port))
    assert not dialog.port_error.cget("text")
    press(dialog.port, "<Return>")  # Enter saves
    assert app.settings_dialog is None and app.settings.port == running_server.port
    assert address in app.login_form.server_label.cget("text")

    # Escape cancels: nothing changes.
    dialog = app.show_settings()
    type_into(dialog.host, "elsewhere.example.org")
    press(dialog.host, "<Escape>")
    assert not dialog.winfo_exists()
    assert app.settings.host == running_server.host

    # From the register form, the settings leave what was typed there.
    app.show_register()
    form = app.register_form
    type_into(form.entries["last_name"], "Martin")
    type_into(form.entries["email"], "alice@example.org")
    dialog = app.show_settings()
    assert dialog.cancel_button.winfo_ismapped()
    dialog.cancel_button.invoke()
    assert app.screen is app.register_form
    assert form.entries["last_name"].get() == "Martin"
    dialog = app.show_settings()
    dialog.language.set("Français")
    dialog.save_button.invoke()  # the language changes: the form is redrawn, in French
    form = app.register_form
    assert app.screen is form
    assert form.entries["last_name"].get() == "Martin"
    assert form.entries["email"].get() == "alice@example.org"
    assert form.submit_button.cget("text") == "S'inscrire"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_theme_and_language_switch_live_while_logged_in(
    app: ClientApp, running_server: RunningServer
) -> None:
    register_and_log_in(app)
    main = app.main_window
    main.input.insert("1.0", "a draft")
    assert main.settings_button.winfo_ismapped()
    main.settings_button.invoke()
    dialog = app.settings_dialog
    assert dialog is not None
    # Choices in words, in the user's language; the server cannot change while logged in.
    assert list(dialog.theme.cget("values")) == ["Light", "Dark"]
    assert list(dialog.language.cget("values")) == ["Automatic (system)", "Français", "English"]
    assert str(dialog.host.cget("state")) == "disabled"
    dialog_shot(dialog, "settings-logged-in-en")
    dialog.theme.set("Dark")
    dialog.language.set("Français")
    press(dialog.theme, "<Return>")

    # At once, without logging out: dark, French, the same conversation and draft.
    assert app.screen is app.main_window and app.model.me == "alice"
    main = app.main_window
    assert app.style.theme_use() == "bootstrap-dark"
    assert main.send_button.cget("text") == "Envoyer"
    assert main.logout_button.cget("text") == "Se déconnecter"
    assert main.input.get("1.0", "end-1c") == "a draft"
    assert app.model.selected == GENERAL
    shot(app, "main-live-switch")
    dialog = app.show_settings()
    assert list(dialog.theme.cget("values")) == ["Clair", "Sombre"]
    assert dialog.theme.get() == "Sombre"
    assert list(dialog.language.cget("values")) == [
        "Automatique (système)",
        "Français",
        "English",
    ]
    dialog_shot(dialog, "settings-logged-in-fr")
    dialog.cancel()
    # Ctrl+, opens the settings too.
    press(main.input, "<Control-comma>")
    assert app.settings_dialog is not None
    app.settings_dialog.cancel()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_several_servers_are_typed_checked_one_by_one_and_tried_in_turn(
    app: ClientApp, running_server: RunningServer
) -> None:
    dead = f"127.0.0.1:{free_port()}"
    live = f"{running_server.host}:{running_server.port}"
    dialog = app.show_settings()
    type_into(dialog.host, f"{dead}, chat 2")
    assert dialog.host_error.cget("text").startswith("chat 2: ")  # the wrong entry, named
    assert dialog.host.instate(["invalid"])
    press(dialog.host, "<Return>")  # nothing is saved
    assert dialog.winfo_exists() and app.settings.host == running_server.host
    type_into(dialog.host, f"{dead},{live}")
    assert not dialog.host_error.cget("text")
    dialog_shot(dialog, "settings-several-servers")
    press(dialog.host, "<Return>")
    assert app.settings_dialog is None and app.settings.host == f"{dead}, {live}"
    assert f"{dead}, {live}" in app.login_form.server_label.cget("text")
    register_and_log_in(app)  # the dead server is passed over
    assert app.model.me == "alice"
