"""Defect 4 and "a kick that ends" of issue 13: the kicked user sees how long, and comes back.

The kick is applied by the server's moderation API, as the admin panel does.
"""

from __future__ import annotations

import re
import time

import pytest

from guigui.common.protocol import SanctionKind
from tests.client.gui.support import (
    GENERAL,
    desktop_client,
    log_in,
    moderate,
    other_user,
    pump,
    register,
    shot,
    status_text,
    type_message,
)
from tests.conftest import RunningServer
from tests.support.display import display

__all__ = ["display"]

KICK_SECONDS = 3


def kick(running: RunningServer, login: str, seconds: int | None, kind: SanctionKind) -> int:
    """Kick or ban ``login`` (login only); returns when it ends (ms), 0 if never."""
    record = moderate(
        running,
        lambda m, done: m.sanction(kind, login, None, seconds, "calm down", "admin", done),
    )
    return int(record.until or 0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_kick_says_how_long_then_the_client_comes_back_by_itself(
    display: str, running_server: RunningServer, language: str
) -> None:
    bob = other_user(running_server, "bob")
    register(running_server, "alice")
    theme = "dark" if language == "fr" else "light"
    with desktop_client(running_server, language=language, theme=theme) as app:
        log_in(app, "alice")
        main = app.main_window
        main.input.insert("1.0", "typed before the kick")
        kick(running_server, "alice", KICK_SECONDS, SanctionKind.KICK)
        pump(app, lambda: main.sanction_banner.winfo_ismapped())
        pump(app, lambda: app.model.connection_state == "offline")
        status, banner = status_text(app), str(main.sanction_banner.cget("text"))
        if language == "en":
            words = r"kicked until \d\d:\d\d:\d\d, in \d s"
            assert "connected" not in status
        else:
            words = r"exclu jusqu'à \d\d:\d\d:\d\d, dans \d s"
            assert "connecté" not in status
        assert re.search(words, status), status
        assert re.search(words, banner) and "calm down" in banner, banner
        assert main.input.get("1.0", "end-1c") == "typed before the kick"  # kept
        shot(app, f"kicked-{language}")

        # The countdown is live: the status bar changes while the kick runs.
        first = status
        pump(app, lambda: status_text(app) != first)

        # Written while kicked: kept, and sent once the kick is over.
        type_message(app, "written while kicked")
        assert any("written while kicked" in line for line in main.message_view.lines)
        pump(
            app,
            lambda: app.model.connection_state == "online" and app.sanction is None,
            timeout=30,
        )
        assert not main.sanction_banner.winfo_ismapped()
        pump(app, lambda: not app.model.outgoing)
        messages, _more = bob.history(room="Général", limit=5)
        assert [m.text for m in messages].count("written while kicked") == 1
        assert app.screen is main and app.model.me == "alice"
    bob.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_what_is_typed_while_kicked_survives_a_logout(
    display: str, running_server: RunningServer
) -> None:
    register(running_server, "alice")
    register(running_server, "carol")
    with desktop_client(running_server) as app:
        log_in(app, "alice")
        main = app.main_window
        until = kick(running_server, "alice", KICK_SECONDS, SanctionKind.KICK)
        pump(app, lambda: app.sanction is not None)
        type_message(app, "queued while kicked")
        main.input.insert("1.0", "a draft in the box")
        main.logout_button.invoke()
        pump(app, lambda: app.screen is app.login_form)

        # Someone else on the same computer finds nothing of alice's.
        log_in(app, "carol")
        assert main.input.get("1.0", "end-1c") == ""
        assert not app.model.outgoing
        main.logout_button.invoke()
        pump(app, lambda: app.screen is app.login_form)

        # alice again, once the kick is over: her draft and her message are back.
        pump(app, lambda: time.time() * 1000 > until + 500, timeout=30)
        log_in(app, "alice")
        assert main.input.get("1.0", "end-1c") == "a draft in the box"
        pump(app, lambda: not app.model.outgoing)
        texts = [m.text for m in app.model.conversation(GENERAL).messages]
        assert texts.count("queued while kicked") == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_permanent_ban_says_so_and_does_not_reconnect(
    display: str, running_server: RunningServer
) -> None:
    register(running_server, "alice")
    with desktop_client(running_server) as app:
        log_in(app, "alice")
        kick(running_server, "alice", None, SanctionKind.BAN)
        pump(app, lambda: app.model.connection_state == "offline" and app.sanction is not None)
        assert "banned permanently" in status_text(app)
        assert app.reconnect_at is None
        app.log_out()
        pump(app, lambda: app.screen is app.login_form)
        app.login_form.password.insert(0, "correct horse")
        app.login_form.update_submit_state()
        app.login_form.submit_button.invoke()
        pump(app, lambda: bool(app.login_form.message.cget("text")))
        assert "permanently" in str(app.login_form.message.cget("text"))
