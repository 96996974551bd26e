"""Defect 3 of issue 13: after a logout nothing of the previous person is left in the forms."""

from __future__ import annotations

import pytest

from tests.client.gui.support import (
    PASSWORD,
    desktop_client,
    log_in,
    pump,
    register,
    shot,
    type_into,
)
from tests.conftest import RunningServer
from tests.support.display import display

__all__ = ["display"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_logout_forgets_the_password_and_log_in_follows_the_fields(
    display: str, running_server: RunningServer
) -> None:
    register(running_server, "alice")
    with desktop_client(running_server) as app:
        form = app.login_form
        assert str(form.submit_button.cget("state")) == "disabled"  # nothing typed yet
        log_in(app, "alice")
        app.main_window.logout_button.invoke()
        pump(app, lambda: app.screen is form)
        assert form.password.get() == ""  # a shared computer: the next person finds no password
        assert form.login.get() == "alice"  # the login is kept, as every chat app does
        assert str(form.submit_button.cget("state")) == "disabled"
        form.password.focus_force()
        form.password.event_generate("<Return>")  # Enter with no password: no login
        app.update()
        assert app.screen is form and form.message.cget("text")
        type_into(form.password, PASSWORD)
        assert str(form.submit_button.cget("state")) == "normal"
        type_into(form.password, "")
        assert str(form.submit_button.cget("state")) == "disabled"
        type_into(form.password, PASSWORD)
        shot(app, "login-after-logout")
        form.password.event_generate("<Return>")
        pump(app, lambda: app.screen is app.main_window)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_register_form_starts_blank_for_the_next_person(
    display: str, running_server: RunningServer
) -> None:
    with desktop_client(running_server) as app:
        app.show_register()
        form = app.register_form
        typed = {
            "last_name": "Martin",
            "first_name": "Alice",
            "email": "alice@example.org",
            "login": "alice",
            "password": PASSWORD,
        }
        for name, value in typed.items():
            type_into(form.entries[name], value)
        form.submit_button.invoke()
        pump(app, lambda: app.screen is app.login_form)
        app.show_register()  # the next person
        assert {name: form.value(name) for name in form.FIELDS} == dict.fromkeys(form.FIELDS, "")
        assert str(form.submit_button.cget("state")) == "normal"

        # Someone starts, gives up; another person logs in then out: a blank form again.
        type_into(form.entries["last_name"], "Martin")
        type_into(form.entries["password"], "half typed")
        app.show_login()
        log_in(app, "alice")
        app.log_out()
        pump(app, lambda: app.screen is app.login_form)
        app.show_register()
        type_into(form.entries["last_name"], "Autre")
        assert form.value("last_name") == "Autre"  # not "MartinAutre"
        assert form.value("password") == ""
        shot(app, "register-blank")
