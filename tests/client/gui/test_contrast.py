"""Every text the desktop client draws is readable: WCAG AA (4.5:1) in both themes.

The colours are read from the real widgets under Xvfb (``tests/support/contrast.py``):
the login and register screens with their messages, the settings dialog, the
main window with a mention, a message being sent and one refused, the lists
with people in every status, the Ctrl+K switcher, the status bar and a toast.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest

from guigui.client.gui.app import ClientApp
from guigui.client.model import ConversationKey
from guigui.common.messages import PresenceEvent
from guigui.common.protocol import Status
from tests.client.gui.test_desktop_client import (
    GENERAL,
    app,
    other_user,
    pump,
    register_and_log_in,
    shot,
)
from tests.conftest import RunningServer
from tests.support.contrast import drawn_pairs, poor_contrast
from tests.support.display import display

__all__ = ["app", "display"]


def unreadable(app: ClientApp) -> list[str]:
    app.update()
    return [str(pair) for pair in poor_contrast(app)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_text_reaches_wcag_aa_in_both_themes(
    app: ClientApp, running_server: RunningServer, server_factory: Callable[..., RunningServer]
) -> None:
    bob = other_user(running_server, "bob")
    register_and_log_in(app)
    model, main = app.model, app.main_window
    bob.say("Général", "@alice tu as vu ?")
    pump(app, lambda: any("tu as vu" in line for line in main.message_view.lines))
    model.queue_outgoing(GENERAL, "being sent", "n1")
    model.queue_outgoing(GENERAL, "refused", "n2")
    model.refused("n2", "not a member")
    for login, status in (("carol", Status.AWAY), ("dave", Status.BUSY), ("erin", Status.ONLINE)):
        model.set_presence(PresenceEvent(login=login, status=status))
    model.notice("A notice in the status bar.")
    main.draw_all()
    tags = {tag for index in range(1, 60) for tag in main.message_view.text.tag_names(f"{index}.0")}
    assert "mention" in tags  # the highlighted line is really drawn
    for theme in ("light", "dark"):
        app.settings.theme = theme
        app.apply_settings()
        pump(app, lambda: app.screen is app.main_window)
        app.open_conversation(GENERAL)
        app.toast("bob", "a toast")
        app.quick_switch()
        shot(app, "contrast-main")
        assert len(drawn_pairs(app)) > 30  # it really measured the window
        assert unreadable(app) == [], theme
        app.quick_switcher.destroy()
        app.open_conversation(ConversationKey.direct("bob"))
        dialog = app.show_settings()
        dialog.port.delete(0, "end")
        dialog.port.insert(0, "99999")
        dialog.check()
        assert unreadable(app) == [], theme
        dialog.cancel()

    # The screens before the chat, with their messages, in the dark theme.
    app.log_out()
    pump(app, lambda: app.screen is app.login_form)
    app.login_form.failed("Wrong login or password.")
    assert unreadable(app) == []
    app._on_registered(SimpleNamespace(login="alice"))  # "Account created" in green
    assert unreadable(app) == []
    app.show_register()
    app.register_form.failed(None, "Something went wrong.")
    app.register_form.check("email")
    assert unreadable(app) == []
    bob.close()
