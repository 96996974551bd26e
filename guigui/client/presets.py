"""Presets a technician sets for every user of a computer: the company's server, mostly.

A preset is the *default* a new user starts with; a user who changes a setting
keeps their own choice, unless a preset file locks the server address
(``"lock_server": true``). Where presets come from, read in this order, each
one overriding the one before (docs/DEPLOYMENT.md):

1. the system-wide file, :func:`system_preset_path`
   (Linux: ``/etc/guigui-chat/client.json``;
   Windows: ``%ProgramData%\\GuiGui Chat\\client.json``);
2. ``guigui-chat.json`` next to the executable (a shared install), :func:`install_preset_path`;
3. the environment variable ``GUIGUI_SERVER=host[:port]`` (or several:
   ``GUIGUI_SERVER=chat1:6767,chat2:6767``).

The ``host`` setting names one server or several (a cluster's nodes, tried in
turn: ``guigui.client.addresses``), as a JSON list or a comma-separated string.

A preset file is JSON, with the same keys as the user's own ``client.json``
(a technician can copy a configured user's file). A file that is damaged or
holds a wrong key is ignored as a whole, and :func:`read_presets` says why in
one line: the client never stops on a preset.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guigui.client.addresses import (
    SEPARATOR,
    AddressError,
    format_addresses,
    parse_addresses,
    split_entries,
)
from guigui.common.protocol import DEFAULT_PORT

SERVER_VARIABLE = "GUIGUI_SERVER"
"""``host`` or ``host:port`` (``[::1]:6767`` for an IPv6 address), or several separated by
commas: the server (or the cluster's servers) for this computer."""
SYSTEM_PRESET_VARIABLE = "GUIGUI_SYSTEM_PRESET"
"""Another path for the system-wide file: to try a preset before deploying it, and for tests."""
INSTALL_PRESET_NAME = "guigui-chat.json"

THEMES = {"light": "bootstrap-light", "dark": "bootstrap-dark"}
LANGUAGES = ("auto", "fr", "en")
ADDRESS_FIELDS = ("host", "port", "tls", "cafile")
"""The settings that make the server's address: preset, chosen and locked together."""
PRESET_FIELDS = (*ADDRESS_FIELDS, "theme", "language")
LOCK_KEY = "lock_server"


class PresetError(ValueError):
    """A preset that cannot be used; the message says where and why, in one line."""


@dataclass
class Preset:
    """Settings from one source (a file or the environment)."""

    source: str
    """Where they come from, in words: a path or ``GUIGUI_SERVER``."""
    values: dict[str, Any] = field(default_factory=dict)
    lock_server: bool = False


def system_preset_path() -> Path:
    """The system-wide preset file of this operating system (``$GUIGUI_SYSTEM_PRESET`` first)."""
    if os.environ.get(SYSTEM_PRESET_VARIABLE):
        return Path(os.environ[SYSTEM_PRESET_VARIABLE])
    if sys.platform == "win32":
        program_data = os.environ.get("PROGRAMDATA") or r"C:\ProgramData"
        return Path(program_data) / "GuiGui Chat" / "client.json"
    if sys.platform == "darwin":
        return Path("/Library/Application Support/GuiGui Chat/client.json")
    return Path("/etc/guigui-chat/client.json")


def install_dir() -> Path:
    """The folder the client was started from: the executable's, or the source checkout's."""
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: the .exe or the single file
        return Path(sys.executable).resolve().parent
    return Path(__file__).resolve().parents[2]


def install_preset_path() -> Path:
    """``guigui-chat.json`` next to the executable (or to ``run_client.py``)."""
    return install_dir() / INSTALL_PRESET_NAME


def check_value(name: str, value: Any) -> Any:
    """``value`` if valid for the setting ``name``; else :class:`PresetError` saying why."""
    if name == "host":
        return check_servers(value)
    if name == "port":
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536:
            return value
        raise PresetError(f"'port' must be a whole number from 1 to 65535, not {value!r}")
    if name in ("tls", LOCK_KEY):
        if isinstance(value, bool):
            return value
        raise PresetError(f"'{name}' must be true or false, not {value!r}")
    if name == "cafile":
        if isinstance(value, str):
            return value
        raise PresetError(f"'cafile' must be a path, not {value!r}")
    if name == "theme" and value in THEMES:
        return value
    if name == "language" and value in LANGUAGES:
        return value
    choices = {"theme": list(THEMES), "language": list(LANGUAGES)}.get(name)
    if choices is not None:
        raise PresetError(f"'{name}' must be one of {', '.join(choices)}, not {value!r}")
    raise PresetError(f"unknown setting {name!r}")


def parse_preset(text: str, source: str) -> Preset:
    """The preset in a file's text; :class:`PresetError` if it is not valid JSON or has a wrong key.

    Keys starting with ``_`` are comments (JSON has none): ``"_note": "set by IT"``.
    """
    try:
        data = json.loads(text)
    except ValueError as error:
        raise PresetError(f"{source}: not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise PresetError(f"{source}: must hold a JSON object {{...}}, not {type(data).__name__}")
    preset = Preset(source)
    for name, value in data.items():
        if name.startswith("_"):
            continue
        if name not in (*PRESET_FIELDS, LOCK_KEY):
            known = ", ".join((*PRESET_FIELDS, LOCK_KEY))
            raise PresetError(f"{source}: unknown setting {name!r} (known: {known})")
        try:
            checked = check_value(name, value)
        except PresetError as error:
            raise PresetError(f"{source}: {error}") from None
        if name == LOCK_KEY:
            preset.lock_server = checked
        else:
            preset.values[name] = checked
    if preset.lock_server and "host" not in preset.values:
        raise PresetError(f"{source}: 'lock_server' needs a 'host' to lock to")
    return preset


def read_preset_file(path: Path) -> Preset | None:
    """The preset in ``path``; None if there is no such file; :class:`PresetError` if unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise PresetError(f"{path}: cannot be read: {reason}") from None
    return parse_preset(text, str(path))


def check_servers(value: Any) -> str:
    """The ``host`` setting: one server, or several (a list, or a comma-separated string).

    Each entry is ``host``, ``host:port`` or ``[ipv6]:port``; the ``port`` setting
    is the port of the entries that name none. Returns the entries as one string,
    ``"chat1.example.com, chat2.example.com:7000"``; :class:`PresetError` names a
    wrong entry.
    """
    entries = value if isinstance(value, list) else [value]
    if not entries or not all(isinstance(entry, str) for entry in entries):
        raise PresetError(f"'host' must be a server name or address, not {value!r}")
    text = SEPARATOR.join(entries)
    try:
        parse_addresses(text)
    except AddressError as error:
        raise PresetError(f"'host' must be server names or addresses: {error}") from None
    return ", ".join(split_entries(text))


def parse_server(text: str, source: str = SERVER_VARIABLE) -> Preset:
    """``host``, ``host:port``, ``[ipv6]:port``, or several separated by commas, as a preset.

    One address gives the ``host`` and ``port`` settings; several give them all
    in ``host``, each with its port. :class:`PresetError` names a wrong entry.
    """
    try:
        addresses = parse_addresses(text, DEFAULT_PORT)
    except AddressError as error:
        raise PresetError(
            f"{source}={text.strip()!r}: {error} (expected host or host:port, "
            "or several separated by commas)"
        ) from None
    if len(addresses) == 1:
        return Preset(source, {"host": addresses[0].host, "port": addresses[0].port})
    return Preset(source, {"host": format_addresses(addresses), "port": addresses[0].port})


def read_presets(environ: Mapping[str, str] | None = None) -> tuple[list[Preset], list[str]]:
    """Every preset of this computer, weakest first, and the problems met (one line each)."""
    environ = os.environ if environ is None else environ
    presets: list[Preset] = []
    problems: list[str] = []
    for path in dict.fromkeys((system_preset_path(), install_preset_path())):
        try:
            preset = read_preset_file(path)
        except PresetError as error:
            problems.append(f"preset ignored: {error}")
            continue
        if preset is not None:
            presets.append(preset)
    if environ.get(SERVER_VARIABLE):
        try:
            presets.append(parse_server(environ[SERVER_VARIABLE]))
        except PresetError as error:
            problems.append(f"preset ignored: {error}")
    return presets, problems
