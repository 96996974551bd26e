"""The network thread's updates reach their handler by class; anything else is an error."""

from __future__ import annotations

from typing import Any

import pytest

from guigui.client.updates import ConnectionChanged, NewServerTrusted
from tests.client.gui.support import desktop_client
from tests.conftest import RunningServer
from tests.support.display import display

__all__ = ["display"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_each_update_reaches_its_handler_and_an_unknown_one_is_an_error(
    display: str, running_server: RunningServer
) -> None:
    with desktop_client(running_server) as app:
        app.apply(ConnectionChanged("offline", 3.0))
        assert app.model.connection_state == "offline" and app.reconnect_at is not None
        app.apply(NewServerTrusted("chat.example.org:7777", "ab:cd"))
        assert "ab:cd" in app.model.notices[-1]
        untyped: Any = ("state", "online", None)  # the old shape: no longer silently dropped
        with pytest.raises(AssertionError):
            app.apply(untyped)
