"""Defect 10 of issue 13: stale notices go away; the online list does not pretend while offline."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from guigui.client.gui import main_window
from guigui.client.gui.app import ClientApp
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


def people(app: ClientApp) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The online list as shown: login -> (status column, tags)."""
    tree = app.main_window.people_list
    return {
        str(tree.item(iid, "text")): (
            str(tree.item(iid, "values")[0]) if tree.item(iid, "values") else "",
            tuple(tree.item(iid, "tags")),
        )
        for iid in tree.get_children()
    }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_stale_notices_go_and_the_online_list_greys_while_offline(
    display: str,
    running_server: RunningServer,
    server_factory: Callable[..., RunningServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(main_window, "NOTICE_SECONDS", 1.0, raising=False)
    bob = other_user(running_server, "bob")
    register(running_server, "alice")
    with desktop_client(running_server) as app:
        log_in(app, "alice")
        assert people(app)["bob"] == ("● online", ("online",))
        port = running_server.port
        bob.close()
        pump(app, lambda: "bob" not in people(app))
        bob_again = other_user(running_server, "carol")
        pump(app, lambda: "carol" in people(app))

        running_server.server.stop(timeout=15)
        pump(app, lambda: app.model.connection_state == "offline")
        assert app.model.notices and "stops in 0 s" in app.model.notices[-1]
        assert "stops in" not in status_text(app)  # the stop happened: the notice went with it
        assert "offline: reconnecting in" in status_text(app)
        # While offline nobody is known to be online: the list is greyed, without statuses.
        assert set(people(app).values()) == {("", ("stale",))}
        shot(app, "offline-people")
        bob_again.close()

        server_factory(port=port)
        pump(app, lambda: app.model.connection_state == "online", timeout=30)
        pump(app, lambda: "Reconnected." in status_text(app))
        pump(app, lambda: "Reconnected." not in status_text(app))  # and then it goes
        assert status_text(app).startswith("● connected")
        assert all(tags != ("stale",) for _status, tags in people(app).values())
