"""The screens before the chat: connection settings, log in, register.

Each is a frame that reads and writes plain values and calls the app back; the
register form checks every field as the user types (with the protocol's rules
from ``guigui.common.validation``) and shows the server's errors next to the
field they concern.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ttkbootstrap as ttk

from guigui.client.settings import LANGUAGES, THEMES
from guigui.common.i18n import _
from guigui.common.validation import email_problem, login_problem, name_problem, password_problem

if TYPE_CHECKING:
    from guigui.client.gui.app import ClientApp


def _field(master: Any, row: int, label: str, *, show: str = "") -> tuple[ttk.Entry, ttk.Label]:
    ttk.Label(master, text=label).grid(row=row, column=0, sticky="w", padx=(0, 10), pady=(6, 0))
    entry = ttk.Entry(master, width=34, show=show)
    entry.grid(row=row, column=1, sticky="we", pady=(6, 0))
    error = ttk.Label(master, text="", bootstyle="danger", font="-size 9")
    error.grid(row=row + 1, column=1, sticky="w")
    return entry, error


class ConnectForm(ttk.Frame):
    """Server address, TLS, theme and language."""

    def __init__(self, app: ClientApp) -> None:
        super().__init__(app, padding=30)
        self.app = app
        settings = app.settings
        ttk.Label(self, text=_("Connection settings"), font="-size 16 -weight bold").grid(
            row=0, column=0, columnspan=2, sticky="w", pady=(0, 12)
        )
        self.host, _error = _field(self, 1, _("Server"))
        self.host.insert(0, settings.host)
        self.port, self.port_error = _field(self, 3, _("Port"))
        self.port.insert(0, str(settings.port))
        self.tls = ttk.BooleanVar(value=settings.tls)
        tls_button = ttk.Checkbutton(self, text=_("Encrypted connection (TLS)"), variable=self.tls)
        tls_button.grid(row=5, column=1, sticky="w", pady=6)
        if settings.server_locked:  # a preset fixes the address (docs/DEPLOYMENT.md)
            self.host.configure(state="readonly")  # readable and copyable, not editable
            self.port.configure(state="readonly")
            tls_button.configure(state="disabled")
            _error.configure(text=_("Set by your administrator."), bootstyle="secondary")
        ttk.Label(self, text=_("Theme")).grid(row=6, column=0, sticky="w", pady=6)
        self.theme = ttk.Combobox(self, values=list(THEMES), state="readonly", width=12)
        self.theme.set(settings.theme)
        self.theme.grid(row=6, column=1, sticky="w")
        ttk.Label(self, text=_("Language")).grid(row=7, column=0, sticky="w", pady=6)
        self.language = ttk.Combobox(self, values=list(LANGUAGES), state="readonly", width=12)
        self.language.set(settings.language)
        self.language.grid(row=7, column=1, sticky="w")
        self.save_button = ttk.Button(self, text=_("Save"), bootstyle="primary", command=self.save)
        self.save_button.grid(row=8, column=1, sticky="e", pady=(16, 0))

    def save(self) -> None:
        """Keep the settings and go back to the login screen."""
        try:
            port = int(self.port.get())
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            self.port_error.configure(text=_("a port is a number from 1 to 65535"))
            return
        settings = self.app.settings
        settings.host = self.host.get().strip() or "127.0.0.1"
        settings.port = port
        settings.tls = bool(self.tls.get())
        settings.theme = self.theme.get()
        settings.language = self.language.get()
        self.app.apply_settings()


class LoginForm(ttk.Frame):
    """Login and password."""

    def __init__(self, app: ClientApp) -> None:
        super().__init__(app, padding=30)
        self.app = app
        ttk.Label(self, text="GuiGui Chat", font="-size 20 -weight bold").grid(
            row=0, column=0, columnspan=2, sticky="w"
        )
        self.server_label = ttk.Label(self, text="", bootstyle="secondary")
        self.server_label.grid(row=1, column=0, columnspan=2, sticky="w", pady=(0, 12))
        self.login, self.login_error = _field(self, 2, _("Login"))
        self.login.insert(0, app.settings.last_login)
        self.password, self.password_error = _field(self, 4, _("Password"), show="•")
        self.password.bind("<Return>", lambda _event: self.submit())
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
        self.settings_button = ttk.Button(
            buttons, text=_("Settings"), bootstyle="secondary-link", command=app.show_settings
        )
        self.settings_button.pack(side="left")
        self.message = ttk.Label(self, text="", bootstyle="danger", wraplength=380)
        self.message.grid(row=7, column=0, columnspan=2, sticky="w", pady=(10, 0))

    def refresh(self) -> None:
        """Show which server we talk to."""
        settings = self.app.settings
        secure = " 🔒" if settings.tls else ""
        self.server_label.configure(text=f"{_('Server')}: {settings.host}:{settings.port}{secure}")

    def submit(self) -> None:
        """Ask the network thread to log in."""
        self.message.configure(text="")
        login, password = self.login.get().strip(), self.password.get()
        if not login or not password:
            self.message.configure(text=_("Enter your login and password."))
            return
        self.submit_button.configure(state="disabled")
        self.app.settings.last_login = login
        self.app.session.login(login, password)

    def failed(self, message: str) -> None:
        """Show why the login failed."""
        self.submit_button.configure(state="normal")
        self.password.delete(0, "end")
        self.message.configure(text=message)


class RegisterForm(ttk.Frame):
    """Last name, first name, email, login, password: checked as the user types."""

    FIELDS = ("last_name", "first_name", "email", "login", "password")

    def __init__(self, app: ClientApp) -> None:
        super().__init__(app, padding=30)
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
            self.entries[name], self.errors[name] = entry, error
        buttons = ttk.Frame(self)
        buttons.grid(row=12, column=0, columnspan=2, sticky="we", pady=(16, 0))
        self.submit_button = ttk.Button(
            buttons, text=_("Register"), bootstyle="primary", command=self.submit
        )
        self.submit_button.pack(side="right")
        ttk.Button(buttons, text=_("Back"), bootstyle="link", command=app.show_login).pack(
            side="right", padx=8
        )
        self.message = ttk.Label(self, text="", wraplength=380)
        self.message.grid(row=13, column=0, columnspan=2, sticky="w", pady=(10, 0))

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
        self.app.session.register(
            self.value("login").strip(),
            self.value("password"),
            self.value("first_name").strip(),
            self.value("last_name").strip(),
            self.value("email").strip(),
        )

    def failed(self, field: str | None, message: str) -> None:
        """Show the server's refusal next to the field it concerns."""
        self.submit_button.configure(state="normal")
        if field in self.errors:
            self.errors[field].configure(text=message)
        else:
            self.message.configure(text=message, bootstyle="danger")
