"""Every control stays visible and whole from the window's minimum size up, in both languages.

The client is resized to its own minimum size (and its default size); the
Send button, the counter, the message box, the scrollbar, Log out and Settings
must be mapped, fully inside the window, and given at least the room their
text asks for (so "Envoyer" and "4000 / 4000" are never cut).
"""

from __future__ import annotations

from typing import Any

import pytest

from guigui.client.gui.app import ClientApp
from tests.client.gui.test_desktop_client import app, pump, register_and_log_in, shot
from tests.conftest import RunningServer
from tests.support.display import display

__all__ = ["app", "display"]


def resize(app: ClientApp, width: int, height: int) -> None:
    app.geometry(f"{width}x{height}")
    pump(app, lambda: (app.winfo_width(), app.winfo_height()) == (width, height))
    app.update()


def problems(app: ClientApp, widgets: dict[str, Any]) -> list[str]:
    """What is hidden, outside the window or squeezed below its text's size."""
    app.update()
    left, top = app.winfo_rootx(), app.winfo_rooty()
    right, bottom = left + app.winfo_width(), top + app.winfo_height()
    found = []
    for name, widget in widgets.items():
        x, y = widget.winfo_rootx(), widget.winfo_rooty()
        width, height = widget.winfo_width(), widget.winfo_height()
        if not widget.winfo_ismapped():
            found.append(f"{name} is not shown")
        elif not (left <= x and x + width <= right and top <= y and y + height <= bottom):
            window = f"{left},{top}-{right},{bottom}"
            found.append(f"{name} at {x},{y} {width}x{height} is outside {window}")
        elif width < widget.winfo_reqwidth() or height < widget.winfo_reqheight():
            found.append(
                f"{name} is cut: {width}x{height} < {widget.winfo_reqwidth()}x"
                f"{widget.winfo_reqheight()} ({widget.cget('text') if name != 'input' else ''})"
            )
    return found


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_control_fits_at_the_minimum_size_in_both_languages(
    app: ClientApp, running_server: RunningServer
) -> None:
    min_width, min_height = (int(n) for n in app.wm_minsize())
    assert (min_width, min_height) == (760, 480)
    register_and_log_in(app)
    main = app.main_window
    main.input.insert("1.0", "x" * 300)
    main._count()
    for language in ("en", "fr"):
        app.settings.language = language
        app.settings.theme = "dark" if language == "fr" else "light"  # screenshots of both
        app.apply_settings()
        pump(app, lambda: app.screen is app.main_window)
        main = app.main_window
        assert main.input.get("1.0", "end-1c") == "x" * 300  # kept across the switch
        assert main.send_button.cget("text") == ("Envoyer" if language == "fr" else "Send")
        for width, height in ((min_width, min_height), (1040, 680)):
            resize(app, width, height)
            shot(app, f"layout-main-{width}x{height}-{language}")
            controls = {
                "send": main.send_button,
                "counter": main.counter,
                "input": main.input,
                "messages": main.message_view.text,
                "scrollbar": main.message_view.scrollbar,
                "log out": main.logout_button,
                "settings": main.settings_button,
                "people": main.people_list,
            }
            assert problems(app, controls) == [], (language, width, height)
            assert main.counter.cget("text") == "300 / 4000"

        # The screens before the chat, at the minimum size too.
        resize(app, min_width, min_height)
        app.show_register()
        form = app.register_form
        controls = {name: entry for name, entry in form.entries.items()}
        controls["register"] = form.submit_button
        controls["back"] = form.back_button
        shot(app, f"layout-register-{language}")
        assert problems(app, controls) == [], language
        app.show_login()
        login = app.login_form
        controls = {
            "login": login.login,
            "password": login.password,
            "log in": login.submit_button,
            "change server": login.settings_button,
            "register": login.register_button,
        }
        shot(app, f"layout-login-{language}")
        assert problems(app, controls) == [], language
        app._show(app.main_window)
