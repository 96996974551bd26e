"""Every text the admin panel draws is readable: WCAG AA (4.5:1) in the light and dark themes.

The colours are read from the real panel under Xvfb with the same helper as
the desktop client's test (``tests/support/contrast.py``): each tab with its
rows, the log, an error and a success message, in both themes.
"""

from __future__ import annotations

from typing import Any

import pytest

from guigui.common.protocol import MessageType
from tests.server.admin.test_panel import LoggedIn, log_in, open_panel, panel, pump, window_id
from tests.support.contrast import drawn_pairs, poor_contrast
from tests.support.display import display, screenshot

__all__ = ["display", "open_panel", "panel"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_panel_text_reaches_wcag_aa_in_both_themes(panel: Any, logged_in: LoggedIn) -> None:
    window = panel
    alice = logged_in("alice")
    alice.ok(MessageType.JOIN, room="Informatique")
    alice.ok(MessageType.SAY, room="Général", text="hello")
    window.login_entry.insert(0, "chief")
    window.password_entry.insert(0, "wrong password")
    window.login_button.invoke()
    pump(window, lambda: "wrong" in str(window.login_error.cget("text")))
    window.login_entry.delete(0, "end")
    log_in(window)
    pump(window, lambda: len(window.requests_table.tree.get_children()) == 1)
    window.show_message("A success message.")
    found: list[str] = []
    for theme in ("bootstrap-light", "bootstrap-dark"):
        window.style.theme_use(theme)
        for index in range(len(window.tabs.tabs())):
            window.tabs.select(index)
            window.update()
            assert len(drawn_pairs(window)) > 20  # it really measured the window
            found += [f"{theme}: {pair}" for pair in poor_contrast(window)]
        screenshot(window_id(window), f"admin-contrast-{theme}")
    assert sorted(set(found)) == []
