"""The desktop client's settings, remembered in the user's config directory."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from guigui.common.protocol import DEFAULT_PORT

THEMES = {"light": "bootstrap-light", "dark": "bootstrap-dark"}
LANGUAGES = ("auto", "fr", "en")


def config_dir() -> Path:
    """``$GUIGUI_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/guigui``, else ``~/.config/guigui``."""
    if os.environ.get("GUIGUI_CONFIG_DIR"):
        return Path(os.environ["GUIGUI_CONFIG_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "guigui"


@dataclass
class ClientSettings:
    """Where the server is and how the client looks."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    tls: bool = False
    cafile: str = ""
    """With TLS: the CA file to verify the server with (empty: pin the first certificate)."""
    theme: str = "light"
    language: str = "auto"
    last_login: str = ""

    @classmethod
    def load(cls, path: Path | None = None) -> ClientSettings:
        """The saved settings, or the defaults (a damaged file is ignored)."""
        path = path or config_dir() / "client.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        known = {f.name for f in fields(cls)}
        settings = cls(**{k: v for k, v in data.items() if k in known})
        if settings.theme not in THEMES:
            settings.theme = "light"
        if settings.language not in LANGUAGES:
            settings.language = "auto"
        return settings

    def save(self, path: Path | None = None) -> None:
        """Write the settings (creating the config directory)."""
        path = path or config_dir() / "client.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
