"""Defect 7 of issue 13 (client side): a French client speaks French everywhere.

The date line must not depend on the system having a French locale: the test
runs with the C locale, as a fresh container or a Windows in English has.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from guigui.client.model import ConversationKey
from guigui.common.messages import PresenceEvent
from tests.client.gui.support import (
    desktop_client,
    log_in,
    other_user,
    pump,
    register,
    shot,
    status_text,
)
from tests.conftest import RunningServer
from tests.support.display import display

__all__ = ["display"]

DAYS = "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche"
MONTHS = "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_french_client_has_no_english_left(
    display: str,
    running_server: RunningServer,
    server_factory: Callable[..., RunningServer],
    monkeypatch: pytest.MonkeyPatch,
    theme: str,
) -> None:
    monkeypatch.setenv("LC_ALL", "C")
    bob = other_user(running_server, "bob")
    bob.say("Général", "Bonjour à tous")
    register(running_server, "alice")
    with desktop_client(running_server, language="fr", theme=theme) as app:
        log_in(app, "alice")
        main = app.main_window
        day_line = main.message_view.lines[0]
        assert re.fullmatch(rf"— ({DAYS}) \d{{1,2}} ({MONTHS}) \d{{4}} —", day_line), day_line

        # Statuses, in the list of who is online and in the choice of one's own.
        assert list(main.my_status.cget("values")) == ["en ligne", "absent", "occupé"]
        pump(app, lambda: main.people_list.exists("user:bob"))
        assert main.people_list.item("user:bob", "values")[0] == "● en ligne"
        main.my_status.current(1)
        main.my_status.event_generate("<<ComboboxSelected>>")
        event = bob.events.get(timeout=10)
        # The protocol's word reaches the others, whatever the language.
        while not (isinstance(event, PresenceEvent) and str(event.status) == "away"):
            event = bob.events.get(timeout=10)
        assert event.login == "alice"

        # A room one can join says so in French.
        assert main.room_list.item("room:Blabla", "values")[0] == "rejoindre"
        app.open_conversation(ConversationKey.room("Blabla"))
        assert main.join_button.cget("text") == "Rejoindre"
        assert status_text(app).startswith("● connecté")
        shot(app, "main-fr")

        # Offline, reconnecting: in French too.
        port = running_server.port
        bob.close()
        running_server.server.stop(timeout=15)
        pump(app, lambda: app.model.connection_state == "offline")
        assert re.match(r"● hors ligne : reconnexion dans \d+ s", status_text(app))
        server_factory(port=port)
        pump(app, lambda: app.model.connection_state == "online", timeout=30)
        pump(app, lambda: "Reconnecté." in status_text(app))
