"""Defect 9 of issue 13: a refused message keeps its place, and offers Retry and Delete."""

from __future__ import annotations

import pytest

from guigui.client.gui.app import ClientApp
from guigui.client.model import ConversationKey
from guigui.server.store import AccessRequestRecord
from tests.client.gui.support import (
    desktop_client,
    log_in,
    moderate,
    pump,
    register,
    shot,
    type_message,
)
from tests.conftest import RunningServer
from tests.support.display import display

__all__ = ["display"]

INFORMATIQUE = ConversationKey.room("Informatique")


def line_of(app: ClientApp, text: str) -> int:
    """The index of the message view's line that shows ``text``."""
    lines = app.main_window.message_view.lines
    return next(index for index, line in enumerate(lines) if text in line)


def failed(app: ClientApp) -> list[str]:
    """The nonces of the failed messages the view shows with their buttons."""
    return list(app.main_window.message_view.failed_actions)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_refused_message_stays_in_its_place_with_retry_and_delete(
    display: str, running_server: RunningServer, theme: str
) -> None:
    register(running_server, "alice")
    with desktop_client(running_server, theme=theme) as app:
        log_in(app, "alice")
        main, model = app.main_window, app.model
        app.open_conversation(INFORMATIQUE)  # not a member yet
        type_message(app, "too early")
        pump(app, lambda: len(failed(app)) == 1)
        line = main.message_view.lines[line_of(app, "too early")]
        assert "not sent" in line and "You are not a member of this room." in line
        retry, delete = main.message_view.failed_actions[failed(app)[0]]
        assert retry.winfo_ismapped() and delete.winfo_ismapped()
        assert retry.cget("text") == "Retry" and delete.cget("text") == "Delete"

        # Access is granted; what is sent now comes below the refused message.
        main.join_button.invoke()
        pump(app, lambda: model.rooms["Informatique"].pending)
        request_id = running_server.server.rooms.pending_requests()[0].id

        def grant(m: object, done: object) -> None:
            m.decide_request(request_id, True, "chief", done)  # type: ignore[attr-defined]

        record = moderate(running_server, grant)
        assert isinstance(record, AccessRequestRecord)
        pump(app, lambda: model.rooms["Informatique"].member and model.selected == INFORMATIQUE)
        type_message(app, "now a member")
        pump(app, lambda: not [o for o in model.outgoing.values() if o.error is None])
        assert line_of(app, "too early") < line_of(app, "now a member")
        shot(app, "failed-message")

        # Retry: sent, stored after the others, no longer failed.
        retry, _delete = main.message_view.failed_actions[failed(app)[0]]
        retry.invoke()
        pump(app, lambda: not model.outgoing)
        assert failed(app) == []
        assert line_of(app, "now a member") < line_of(app, "too early")
        assert "not sent" not in main.message_view.lines[line_of(app, "too early")]
        stored = [m.text for m in model.conversation(INFORMATIQUE).messages]
        assert stored[-2:] == ["now a member", "too early"]

        # Delete: a refused message goes away for good.
        app.open_conversation(ConversationKey.room("Marketing"))
        type_message(app, "wrong room")
        pump(app, lambda: len(failed(app)) == 1)
        _retry, delete = main.message_view.failed_actions[failed(app)[0]]
        delete.invoke()
        app.update()
        assert failed(app) == [] and not model.outgoing
        assert not any("wrong room" in line for line in main.message_view.lines)
