"""The client works from the keyboard alone: focus, Enter, Tab, focus rings, Ctrl+Q, Ctrl+K.

Keys are sent to the focused widget with ``event_generate``, so Tk's own
bindings (Tab traversal, the "all" bindings) run as for a real key press.
"""

from __future__ import annotations

from typing import Any

import pytest

from guigui.client.gui.app import ClientApp
from tests.client.gui.test_desktop_client import GENERAL, app, pump, shot, type_into
from tests.conftest import RunningServer
from tests.support.display import display

__all__ = ["app", "display"]


def press(app: ClientApp, key: str) -> None:
    """Press a key in whatever widget has the focus."""
    app.update()
    widget = app.focus_get()
    assert widget is not None, "nothing has the keyboard focus"
    widget.event_generate(key)
    app.update()


def focused(app: ClientApp) -> Any:
    app.update()
    return app.focus_get()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_whole_way_with_the_keyboard(app: ClientApp, running_server: RunningServer) -> None:
    # At start the first field has the focus (it gets the keys once the window is active).
    app.update()
    assert app.focus_lastfor() is app.login_form.login

    # Register: the first field has the focus; Enter in a field submits the form.
    app.login_form.register_button.focus_force()
    press(app, "<Return>")  # Enter on a focused button presses it
    assert app.screen is app.register_form
    form = app.register_form
    assert focused(app) is form.entries["last_name"]
    typed = {
        "last_name": "Martin",
        "first_name": "Alice",
        "email": "alice@example.org",
        "login": "alice",
        "password": "correct horse",
    }
    for name, value in typed.items():
        type_into(form.entries[name], value)
    form.entries["email"].focus_force()
    press(app, "<Return>")
    pump(app, lambda: app.screen is app.login_form)

    # Login: Tab goes from the password to "Log in"; Enter in the password logs in.
    login = app.login_form
    assert focused(app) is login.password  # the login is filled: the password is next
    type_into(login.password, "correct horse")
    login.login.focus_force()
    press(app, "<Tab>")
    assert focused(app) is login.password
    press(app, "<Tab>")
    assert focused(app) is login.submit_button
    login.password.focus_force()
    press(app, "<Return>")
    pump(app, lambda: app.screen is app.main_window and app.model.conversation(GENERAL).loaded)
    main = app.main_window

    # The message box: Tab leaves it (no tab character), Shift+Tab comes back.
    assert focused(app) is main.input
    main.input.insert("1.0", "hello")
    press(app, "<Tab>")
    assert main.input.get("1.0", "end-1c") == "hello"
    assert focused(app) is main.send_button

    # A list with the focus shows a ring.
    main.room_list.focus_force()
    app.update()
    assert main.room_list.instate(["focus"])
    style = app.style
    ring = style.lookup("Treeview", "bordercolor", ["focus"])
    assert ring != style.lookup("Treeview", "bordercolor")
    assert main.room_list.focus()  # a current row: the arrow keys move at once
    shot(app, "keyboard-list-focus")

    # Ctrl+K opens the switcher with a prompt; Escape closes it.
    main.input.focus_force()
    press(app, "<Control-k>")
    switcher = app.quick_switcher
    switcher.update()
    assert app.quick_switcher_prompt.winfo_ismapped()
    assert app.quick_switcher_prompt.cget("text")
    switcher.destroy()

    # Ctrl+Q quits.
    quit_calls: list[bool] = []
    app.quit_app = lambda: quit_calls.append(True)  # type: ignore[method-assign]
    main.input.focus_force()
    press(app, "<Control-q>")
    assert quit_calls == [True]
    del app.quit_app
