"""The screens before the chat: log in, register (the settings are a dialog of their own).

Each is a frame that reads and writes plain values and calls the app back
through the small interface it declares (``LoginActions``, ``RegisterActions``):
the forms never import the app that composes them. The register form checks
every field as the user types (with the protocol's rules from
``guigui.common.validation``) and shows the server's errors next to the field
they concern.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from typing import Any, Protocol

import ttkbootstrap as ttk

from guigui.client.network_thread import NetworkThread
from guigui.client.settings import ClientSettings
from guigui.common.i18n import _
from guigui.common.validation import email_problem, login_problem, name_problem, password_problem


class LoginActions(Protocol):
    """What the login form uses of the app: the settings, the network thread, other screens."""

    @property
    def settings(self) -> ClientSettings:
        """The settings: the server shown, the last login remembered."""

    @property
    def network(self) -> NetworkThread:
        """The network thread, asked to log in."""

    def show_settings(self) -> object:
        """Open the settings dialog."""

    def show_register(self) -> None:
        """Go to the registration screen."""


class RegisterActions(Protocol):
    """What the registration form uses of the app: the network thread, other screens."""

    @property
    def network(self) -> NetworkThread:
        """The network thread, asked to register."""

    def show_settings(self) -> object:
        """Open the settings dialog."""

    def show_login(self) -> None:
        """Go back to the login screen."""


def _field(master: Any, row: int, label: str, *, show: str = "") -> tuple[ttk.Entry, ttk.Label]:
    ttk.Label(master, text=label).grid(row=row, column=0, sticky="w", padx=(0, 10), pady=(6, 0))
    entry = ttk.Entry(master, width=34, show=show)
    entry.grid(row=row, column=1, sticky="we", pady=(6, 0))
    error = ttk.Label(master, text="", bootstyle="danger", font="-size 9")
    error.grid(row=row + 1, column=1, sticky="w")
    return entry, error


def _enter_invokes(button: ttk.Button) -> None:
    """Enter on a focused button presses it (Tk's own key for that is Space)."""
    button.bind("<Return>", lambda _event: (button.invoke(), "break")[1])
    button.bind("<KP_Enter>", lambda _event: (button.invoke(), "break")[1])


def _settings_offer(master: Any, show_settings: Callable[[], object]) -> ttk.Button:
    """An "Open settings" button, shown under a form when the server cannot be reached."""
    button = ttk.Button(
        master, text=_("Open settings"), bootstyle="primary-outline", command=show_settings
    )
    _enter_invokes(button)
    return button


class LoginForm(ttk.Frame):
    """Login and password."""

    def __init__(self, master: tk.Misc, app: LoginActions) -> None:
        super().__init__(master, padding=30)
        self.app = app
        ttk.Label(self, text="GuiGui Chat", font="-size 20 -weight bold").grid(
            row=0, column=0, columnspan=2, sticky="w"
        )
        server = ttk.Frame(self)
        server.grid(row=1, column=0, columnspan=2, sticky="we", pady=(4, 12))
        self.server_label = ttk.Label(server, text="")
        self.server_label.pack(side="left")
        self.settings_button = ttk.Button(
            server, text=_("Change…"), bootstyle="primary-outline", command=app.show_settings
        )
        self.settings_button.pack(side="right", padx=(10, 0))
        _enter_invokes(self.settings_button)
        self.login, self.login_error = _field(self, 2, _("Login"))
        self.login.insert(0, app.settings.last_login)
        self.password, self.password_error = _field(self, 4, _("Password"), show="•")
        self.login.bind("<Return>", lambda _event: self._login_entered())
        self.login.bind("<KP_Enter>", lambda _event: self._login_entered())
        self.password.bind("<Return>", lambda _event: self.submit())
        self.password.bind("<KP_Enter>", lambda _event: self.submit())
        for entry in (self.login, self.password):
            entry.bind("<KeyRelease>", lambda _event: self.update_submit_state(), add="+")
        buttons = ttk.Frame(self)
        buttons.grid(row=6, column=0, columnspan=2, sticky="we", pady=(16, 0))
        self.submit_button = ttk.Button(
            buttons, text=_("Log in"), bootstyle="primary", command=self.submit
        )
        self.submit_button.pack(side="right")
        self.register_button = ttk.Button(
            buttons, text=_("Create an account"), bootstyle="link", command=app.show_register
        )
        self.register_button.pack(side="right", padx=8)
        for button in (self.submit_button, self.register_button):
            _enter_invokes(button)
        self.message = ttk.Label(self, text="", bootstyle="danger", wraplength=380)
        self.message.grid(row=7, column=0, columnspan=2, sticky="w", pady=(10, 0))
        self.open_settings_button = _settings_offer(self, app.show_settings)
        self._waiting = False
        self.update_submit_state()

    def refresh(self) -> None:
        """Show which server we talk to."""
        settings = self.app.settings
        secure = " 🔒" if settings.tls else ""
        address = f"{settings.address_text}{secure}"
        self.server_label.configure(text=_("Server: {address}").format(address=address))
        self.update_submit_state()

    def update_submit_state(self) -> None:
        """Enable "Log in" exactly when both fields are filled."""
        filled = bool(self.login.get().strip() and self.password.get())
        self.submit_button.configure(state="normal" if filled else "disabled")

    def clear_password(self) -> None:
        """Forget the password (after a logout: the next person must not find it)."""
        self._waiting = False
        self.password.delete(0, "end")
        self.message.configure(text="")
        self.update_submit_state()

    def _login_entered(self) -> None:
        """Enter in the login field: log in, or go to the password if it is still empty."""
        if self.password.get():
            self.submit()
        else:
            self.password.focus_set()

    def submit(self) -> None:
        """Ask the network thread to log in."""
        self.message.configure(text="")
        self.open_settings_button.grid_forget()
        login, password = self.login.get().strip(), self.password.get()
        if not login or not password:
            self.message.configure(text=_("Enter your login and password."))
            return
        if self._waiting:
            return  # already logging in (Enter pressed twice)
        self._waiting = True
        self.submit_button.configure(state="disabled")
        self.app.settings.last_login = login
        self.app.network.login(login, password)

    def failed(self, message: str, *, offer_settings: bool = False) -> None:
        """Show why the login failed (with a way to the settings when the server is not there)."""
        self._waiting = False
        self.password.delete(0, "end")
        self.update_submit_state()
        self.message.configure(text=message)
        if offer_settings:
            self.open_settings_button.grid(row=8, column=0, columnspan=2, sticky="w", pady=(6, 0))


class RegisterForm(ttk.Frame):
    """Last name, first name, email, login, password: checked as the user types."""

    FIELDS = ("last_name", "first_name", "email", "login", "password")

    def __init__(self, master: tk.Misc, app: RegisterActions) -> None:
        super().__init__(master, padding=30)
        self.app = app
        ttk.Label(self, text=_("Create an account"), font="-size 16 -weight bold").grid(
            row=0, column=0, columnspan=2, sticky="w", pady=(0, 8)
        )
        labels = {
            "last_name": _("Last name"),
            "first_name": _("First name"),
            "email": _("Email"),
            "login": _("Login"),
            "password": _("Password"),
        }
        self.entries: dict[str, ttk.Entry] = {}
        self.errors: dict[str, ttk.Label] = {}
        for index, name in enumerate(self.FIELDS):
            entry, error = _field(
                self, 1 + 2 * index, labels[name], show="•" if name == "password" else ""
            )
            entry.bind("<KeyRelease>", self._checker(name))
            entry.bind("<Return>", lambda _event: self.submit())
            entry.bind("<KP_Enter>", lambda _event: self.submit())
            self.entries[name], self.errors[name] = entry, error
        buttons = ttk.Frame(self)
        buttons.grid(row=12, column=0, columnspan=2, sticky="we", pady=(16, 0))
        self.submit_button = ttk.Button(
            buttons, text=_("Register"), bootstyle="primary", command=self.submit
        )
        self.submit_button.pack(side="right")
        self.back_button = ttk.Button(
            buttons, text=_("Back"), bootstyle="link", command=app.show_login
        )
        self.back_button.pack(side="right", padx=8)
        for button in (self.submit_button, self.back_button):
            _enter_invokes(button)
        self.message = ttk.Label(self, text="", wraplength=380)
        self.message.grid(row=13, column=0, columnspan=2, sticky="w", pady=(10, 0))
        self.open_settings_button = _settings_offer(self, app.show_settings)

    def clear(self) -> None:
        """Empty every field and message: the next person starts from a blank form."""
        for name in self.FIELDS:
            self.entries[name].delete(0, "end")
            self.errors[name].configure(text="")
        self.message.configure(text="")
        self.submit_button.configure(state="normal")

    def _checker(self, name: str) -> Callable[[object], None]:
        def check(_event: object) -> None:
            self.check(name)

        return check

    def value(self, name: str) -> str:
        """What the user typed in a field."""
        return str(self.entries[name].get())

    def problem(self, name: str) -> str | None:
        """What is wrong with a field, if anything (the protocol's rules)."""
        rules: dict[str, Callable[[str], str | None]] = {
            "last_name": name_problem,
            "first_name": name_problem,
            "email": email_problem,
            "login": login_problem,
            "password": password_problem,
        }
        return rules[name](self.value(name))

    def check(self, name: str) -> bool:
        """Show (or clear) the field's problem; True when it is fine."""
        problem = self.problem(name)
        self.errors[name].configure(text=_(problem) if problem else "")
        return problem is None

    def submit(self) -> None:
        """Check everything, then ask the network thread to register."""
        if not all([self.check(name) for name in self.FIELDS]):
            return
        self.submit_button.configure(state="disabled")
        self.app.network.register(
            self.value("login").strip(),
            self.value("password"),
            self.value("first_name").strip(),
            self.value("last_name").strip(),
            self.value("email").strip(),
        )

    def failed(self, field: str | None, message: str, *, offer_settings: bool = False) -> None:
        """Show the server's refusal next to the field it concerns."""
        self.submit_button.configure(state="normal")
        if offer_settings:
            self.open_settings_button.grid(row=14, column=0, columnspan=2, sticky="w", pady=(6, 0))
        if field in self.errors:
            self.errors[field].configure(text=message)
        else:
            self.message.configure(text=message, bootstyle="danger")
