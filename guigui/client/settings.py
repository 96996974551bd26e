"""The desktop client's settings: the computer's presets, then the user's own choices.

Precedence, strongest first (docs/DEPLOYMENT.md):

1. a preset file with ``"lock_server": true`` fixes the server address for everyone;
2. ``--server`` on the command line, for this run only (never saved);
3. the user's own choices, in ``client.json`` in their config directory;
4. ``GUIGUI_SERVER``, then ``guigui-chat.json`` next to the executable, then the
   system-wide file (``guigui.client.presets``);
5. the built-in defaults.

``save`` writes only what the user chose (what they changed in this run, or
had chosen before): a preset's value is never copied into the user's file, so
when the technician changes the preset, every user who did not choose another
server follows it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from guigui.client.addresses import (
    AddressError,
    ServerAddress,
    format_addresses,
    parse_addresses,
)
from guigui.client.presets import (
    ADDRESS_FIELDS,
    LANGUAGES,
    THEMES,
    Preset,
    PresetError,
    check_value,
    read_presets,
)
from guigui.common.protocol import DEFAULT_PORT

__all__ = ["LANGUAGES", "THEMES", "ClientSettings", "config_dir"]

FILE_FORMAT = 2
"""Written in the user's file: a file without it (an older client wrote every setting)
holds no choice where its value is the built-in default."""
DEFAULT = "default"
USER = "your settings"
COMMAND_LINE = "command line"


def config_dir() -> Path:
    """``$GUIGUI_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/guigui``, else ``~/.config/guigui``."""
    if os.environ.get("GUIGUI_CONFIG_DIR"):
        return Path(os.environ["GUIGUI_CONFIG_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "guigui"


def user_settings_path() -> Path:
    """The user's own settings file."""
    return config_dir() / "client.json"


@dataclass
class ClientSettings:
    """Where the server is and how the client looks."""

    host: str = "127.0.0.1"
    """The server, or several separated by commas (``chat1, chat2:7000``): tried in turn."""
    port: int = DEFAULT_PORT
    """The port of the servers in ``host`` that name none."""
    tls: bool = False
    cafile: str = ""
    """With TLS: the CA file to verify the server with (empty: pin the first certificate)."""
    theme: str = "light"
    language: str = "auto"
    last_login: str = ""

    def __post_init__(self) -> None:
        self.origins: dict[str, str] = {}
        """Where each setting's value came from (filled by ``load``)."""
        self.server_locked_by = ""
        """The preset file that locks the server address, or empty."""
        self.problems: list[str] = []
        """Presets or files that were ignored, one line each, to show the user."""
        self._chosen: dict[str, Any] | None = None
        self._loaded: dict[str, Any] = {}

    @property
    def server_locked(self) -> bool:
        """True when a preset fixes the server address (the user cannot change it)."""
        return bool(self.server_locked_by)

    @classmethod
    def load(
        cls, path: Path | None = None, *, presets: Sequence[Preset] | None = None
    ) -> ClientSettings:
        """The settings in effect: defaults, then ``presets`` (this computer's when None),
        then the user's file at ``path``. Never raises: what is ignored is in ``problems``."""
        settings = cls()
        settings.origins = {name: DEFAULT for name in settings.values()}
        if presets is None:
            presets, settings.problems = read_presets()
        for preset in presets:
            for name, value in preset.values.items():
                setattr(settings, name, value)
                settings.origins[name] = preset.source
            if preset.lock_server:
                settings.server_locked_by = preset.source
        chosen = settings._read_choices(path or user_settings_path())
        for name, value in chosen.items():
            if name in ADDRESS_FIELDS and settings.server_locked:
                continue  # kept in the file, not used while the lock holds
            setattr(settings, name, value)
            settings.origins[name] = USER
        settings._chosen = chosen
        settings._loaded = settings.values()
        return settings

    def _read_choices(self, path: Path) -> dict[str, Any]:
        """The valid settings in the user's file (none if there is no file or it is damaged)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            self.problems.append(f"your settings ignored: {path}: {error}")
            return {}
        if not isinstance(data, dict):
            self.problems.append(f"your settings ignored: {path}: not a JSON object")
            return {}
        chosen: dict[str, Any] = {}
        for name in self.values():
            if name not in data:
                continue
            try:
                chosen[name] = data[name] if name == "last_login" else check_value(name, data[name])
            except PresetError:
                continue  # one bad value: the default (or the preset) for that setting only
        if data.get("format") != FILE_FORMAT:
            # An older client saved every setting: its defaults were never chosen.
            defaults = ClientSettings().values()
            chosen = {name: value for name, value in chosen.items() if value != defaults[name]}
        if any(name in chosen for name in ADDRESS_FIELDS):
            # The address is one choice: the fields not in the file are the defaults.
            defaults = ClientSettings().values()
            chosen.update({name: chosen.get(name, defaults[name]) for name in ADDRESS_FIELDS})
        return chosen

    def addresses(self) -> list[ServerAddress]:
        """The servers to try, in order (``AddressError`` if ``host`` was set to a wrong list)."""
        return parse_addresses(self.host, self.port)

    @property
    def address_text(self) -> str:
        """The servers as the user reads them: ``chat.example.org:6767`` (or several)."""
        try:
            return format_addresses(self.addresses())
        except AddressError:
            return f"{self.host}:{self.port}"

    def use_server(self, host: str, port: int) -> bool:
        """Use ``host`` and ``port`` for this run only (``--server``); False if they are locked."""
        if self.server_locked:
            return False
        self.host, self.port = host, port
        self.origins["host"] = self.origins["port"] = COMMAND_LINE
        self._loaded.update(host=host, port=port)
        return True

    def values(self) -> dict[str, Any]:
        """Every setting's value, by name."""
        return asdict(self)

    def choices(self) -> dict[str, Any]:
        """What ``save`` writes: what the user had chosen, and what changed since ``load``."""
        current = self.values()
        if self._chosen is None:  # not loaded: built by hand, everything is a choice
            return current
        chosen = dict(self._chosen)
        changed = {name for name in current if current[name] != self._loaded.get(name)}
        if changed & set(ADDRESS_FIELDS) and not self.server_locked:
            changed |= set(ADDRESS_FIELDS)
        for name in changed:
            if name in ADDRESS_FIELDS and self.server_locked:
                continue
            chosen[name] = current[name]
        return chosen

    def save(self, path: Path | None = None) -> None:
        """Write the user's choices (creating the config directory)."""
        path = path or user_settings_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"format": FILE_FORMAT, **self.choices()}
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
        if self._chosen is not None:
            self._chosen = self.choices()
            self._loaded = self.values()

    def describe(self) -> list[str]:
        """One line per setting: its value and where it came from (``--show-settings``)."""
        lines = []
        for name, value in self.values().items():
            origin = self.origins.get(name, DEFAULT)
            if name in ADDRESS_FIELDS and self.server_locked:
                origin += " (locked)"
            lines.append(f"{name} = {json.dumps(value)}    # {origin}")
        return lines
