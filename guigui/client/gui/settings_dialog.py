"""The settings dialog: server address (or addresses), TLS, theme and language, from any screen.

A window of its own above the current screen (so a half-filled form behind it
is kept), with Save (Enter) and Cancel (Escape). The port and the server (or
servers: a comma-separated list, each tried in turn) are checked as the user
types, naming a wrong entry; theme and language are shown in words, in the
user's language, and apply at once. The dialog knows the app only through
``SettingsActions``, the few things it uses of it. While logged in the server cannot change
(the session is bound to it): those fields are read-only, with a word why.
"""

from __future__ import annotations

import contextlib
import tkinter as tk
from typing import Protocol

import ttkbootstrap as ttk

from guigui.client.addresses import AddressError, Flaw, parse_addresses, split_entries
from guigui.client.model import ChatModel
from guigui.client.settings import LANGUAGES, THEMES, ClientSettings
from guigui.common.i18n import _


def theme_names() -> dict[str, str]:
    """Each theme's code and its name in the current language, in the order offered."""
    names = {"light": _("Light"), "dark": _("Dark")}
    return {code: names.get(code, code) for code in THEMES}


def language_names() -> dict[str, str]:
    """Each language choice and its name: each language in its own words, as is usual."""
    names = {"auto": _("Automatic (system)"), "fr": "Français", "en": "English"}
    return {code: names.get(code, code) for code in LANGUAGES}


def port_problem(text: str) -> str | None:
    """What is wrong with a typed port, if anything."""
    text = text.strip()
    if not text.isdigit() or not 0 < int(text) < 65536:
        return _("A port is a number from 1 to 65535.")
    return None


def host_problem(text: str) -> str | None:
    """What is wrong with the typed server (or servers, separated by commas), if anything.

    A wrong entry is named: in a list of three, the user sees which one to fix.
    """
    try:
        parse_addresses(text)
    except AddressError as error:
        if error.flaw is Flaw.EMPTY:
            return _("Enter the server's name or address.")
        words = {
            Flaw.HOST: _("{entry}: a server name has no spaces or slashes (chat.example.org)."),
            Flaw.PORT: _("{entry}: a port is a number from 1 to 65535."),
            Flaw.IPV6: _("{entry}: write an IPv6 address as [address]:port."),
        }[error.flaw]
        return words.format(entry=error.entry)
    return None


class SettingsActions(Protocol):
    """What the settings dialog uses of the app: the settings, and a way to apply them."""

    settings_dialog: SettingsDialog | None
    """The dialog open, if any: the dialog clears it when it closes."""

    @property
    def settings(self) -> ClientSettings:
        """The settings the dialog edits."""

    @property
    def model(self) -> ChatModel:
        """The chat, to know whether we are logged in (the server cannot change then)."""

    def apply_settings(self) -> None:
        """Save the settings and apply them at once."""

    def focus_first_field(self) -> None:
        """Give the keyboard back to the screen under the dialog."""


class SettingsDialog(ttk.Toplevel):
    """Edit ``app.settings``; Save applies them, Cancel (or Escape) leaves them as they were."""

    def __init__(self, master: tk.Misc, app: SettingsActions) -> None:
        super().__init__(title=_("Settings"), transient=master, resizable=(False, False))
        self.app = app
        settings = app.settings
        logged_in = app.model.me is not None
        body = ttk.Frame(self, padding=20)
        body.pack(fill="both", expand=True)
        body.columnconfigure(1, weight=1)

        ttk.Label(body, text=_("Server")).grid(row=0, column=0, sticky="w", padx=(0, 10))
        self.host = ttk.Entry(body, width=40)
        self.host.insert(0, settings.host)
        self.host.grid(row=0, column=1, sticky="we")
        # Several servers (a cluster's nodes) are tried in turn: say how to write them.
        self.host_error = ttk.Label(body, text="", bootstyle="danger", wraplength=320)
        self.host_error.grid(row=1, column=1, sticky="w")
        self.host_hint = ttk.Label(
            body,
            text=_("Several servers: separate them with commas (chat1.example.org, chat2:7000)."),
            bootstyle="secondary",
            wraplength=320,
        )
        self.host_hint.grid(row=2, column=1, sticky="w")
        ttk.Label(body, text=_("Port")).grid(row=3, column=0, sticky="w", padx=(0, 10))
        self.port = ttk.Entry(body, width=8)
        self.port.insert(0, str(settings.port))
        self.port.grid(row=3, column=1, sticky="w")
        self.port_error = ttk.Label(body, text="", bootstyle="danger", wraplength=320)
        self.port_error.grid(row=4, column=1, sticky="w")
        self.tls = tk.BooleanVar(value=settings.tls)
        self.tls_button = ttk.Checkbutton(
            body, text=_("Encrypted connection (TLS)"), variable=self.tls
        )
        self.tls_button.grid(row=5, column=1, sticky="w", pady=(2, 6))
        # A preset may lock the address (docs/DEPLOYMENT.md); a session is bound to its server.
        why_fixed = (
            _("Set by your administrator.")
            if settings.server_locked
            else _("Log out to change the server.")
            if logged_in
            else None
        )
        self.server_fixed = why_fixed is not None
        if why_fixed is not None:
            for widget in (self.host, self.port, self.tls_button):
                widget.configure(state="disabled")
            ttk.Label(body, text=why_fixed, bootstyle="secondary").grid(row=6, column=1, sticky="w")

        self.themes = theme_names()
        ttk.Label(body, text=_("Theme")).grid(row=7, column=0, sticky="w", pady=(10, 0))
        self.theme = ttk.Combobox(
            body, values=list(self.themes.values()), state="readonly", width=22
        )
        self.theme.set(self.themes.get(settings.theme, settings.theme))
        self.theme.grid(row=7, column=1, sticky="w", pady=(10, 0))
        self.languages = language_names()
        ttk.Label(body, text=_("Language")).grid(row=8, column=0, sticky="w", pady=(6, 0))
        self.language = ttk.Combobox(
            body, values=list(self.languages.values()), state="readonly", width=22
        )
        self.language.set(self.languages.get(settings.language, settings.language))
        self.language.grid(row=8, column=1, sticky="w", pady=(6, 0))

        buttons = ttk.Frame(body)
        buttons.grid(row=9, column=0, columnspan=2, sticky="e", pady=(18, 0))
        self.save_button = ttk.Button(
            buttons, text=_("Save"), bootstyle="primary", command=self.save
        )
        self.cancel_button = ttk.Button(
            buttons, text=_("Cancel"), bootstyle="secondary-outline", command=self.cancel
        )
        self.save_button.pack(side="right")
        self.cancel_button.pack(side="right", padx=(0, 8))

        for entry in (self.host, self.port):
            entry.bind("<KeyRelease>", lambda _event: self.check())
        self.bind("<Return>", lambda _event: self.save())
        self.bind("<KP_Enter>", lambda _event: self.save())
        self.cancel_button.bind("<Return>", self._cancel_pressed)
        self.bind("<Escape>", lambda _event: self.cancel())
        self.protocol("WM_DELETE_WINDOW", self.cancel)
        self.update_idletasks()
        self._place_over(master)
        (self.theme if self.server_fixed else self.host).focus_force()
        with contextlib.suppress(tk.TclError):  # no grab without a viewable window
            self.grab_set()

    def _cancel_pressed(self, _event: object) -> str:
        self.cancel()
        return "break"  # not the dialog's Enter, which saves

    def _place_over(self, master: tk.Misc) -> None:
        x = master.winfo_rootx() + max(0, (master.winfo_width() - self.winfo_reqwidth()) // 2)
        y = master.winfo_rooty() + max(0, (master.winfo_height() - self.winfo_reqheight()) // 3)
        self.geometry(f"+{x}+{y}")

    def check(self) -> bool:
        """Flag the server and port as typed; True when both are fine."""
        fine = True
        for entry, label, problem in (
            (self.host, self.host_error, host_problem(self.host.get())),
            (self.port, self.port_error, port_problem(self.port.get())),
        ):
            label.configure(text=problem or "")
            if str(entry.cget("state")) != "disabled":
                entry.state(["invalid"] if problem else ["!invalid"])
            fine = fine and problem is None
        return fine

    def save(self) -> None:
        """Keep the settings and apply them (theme and language at once), if they are valid."""
        if not self.check():
            return
        settings = self.app.settings
        settings.host = ", ".join(split_entries(self.host.get()))
        settings.port = int(self.port.get().strip())
        settings.tls = bool(self.tls.get())
        by_name = {name: code for code, name in self.themes.items()}
        settings.theme = by_name.get(self.theme.get(), settings.theme)
        by_name = {name: code for code, name in self.languages.items()}
        settings.language = by_name.get(self.language.get(), settings.language)
        self.close()
        self.app.apply_settings()

    def cancel(self) -> None:
        """Close without changing anything."""
        self.close()

    def close(self) -> None:
        """Close the dialog and give the focus back to the window."""
        with contextlib.suppress(tk.TclError):
            self.grab_release()
        self.destroy()
        self.app.settings_dialog = None
        self.app.focus_first_field()
