"""A preset that locks the server address: the Settings screen shows it and lets no one change it.

A real window on Xvfb (docs/DEPLOYMENT.md, "Lock the address").
"""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from guigui.client.gui.app import ClientApp
from guigui.client.presets import Preset
from guigui.client.settings import ClientSettings
from guigui.common.i18n import _
from tests.support.display import display, screenshot

__all__ = ["display"]


@pytest.mark.parametrize(("theme", "language"), [("light", "en"), ("dark", "fr")])
def test_a_locked_address_is_shown_and_cannot_be_edited(
    display: str, tmp_path: Path, theme: str, language: str
) -> None:
    user_file = tmp_path / "client.json"
    chosen = {"format": 2, "host": "home.example.org", "theme": theme, "language": language}
    user_file.write_text(json.dumps(chosen))
    locked = Preset("/etc/guigui-chat/client.json", {"host": "chat.example.com"}, True)
    settings = ClientSettings.load(user_file, presets=[locked])
    app = ClientApp(settings, save_settings=False)
    try:
        dialog = app.show_settings()
        app.update()
        assert dialog.host.get() == "chat.example.com"
        for widget in (dialog.host, dialog.port, dialog.tls_button):
            assert str(widget.cget("state")) == "disabled"
        body = dialog.host.master
        labels = [w.cget("text") for w in body.winfo_children() if w.winfo_class() == "TLabel"]
        assert _("Set by your administrator.") in labels
        screenshot(int(dialog.wm_frame(), 16), f"client-settings-locked-{theme}-{language}")
        dialog.save()
        assert settings.host == "chat.example.com"
    finally:
        app.quit_app()
        del app
        gc.collect()
