"""The desktop client's window: screens, the update pump, notifications, shortcuts.

Tk lives in the main thread. The network thread (``NetworkThread``) puts its
results on a queue (one class per kind, ``guigui.client.updates``); ``_pump``
drains it every 50 ms with ``after`` and ``apply`` hands each update to its
method, which updates the model, which tells the views what to redraw.
Nothing in this module blocks.

The screens (``LoginForm``, ``RegisterForm``, ``MainWindow``, ``SettingsDialog``)
each declare the few things they use of the app as a ``Protocol``; this class
provides them all and composes the screens, which never import it.
"""

from __future__ import annotations

import contextlib
import queue
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, assert_never

import ttkbootstrap as ttk
from ttkbootstrap.dialogs import MessageDialog

from guigui.client.gui.file_actions import KEEP_BOTH, REPLACE, FileActions
from guigui.client.gui.forms import LoginForm, RegisterForm
from guigui.client.gui.main_window import MainWindow
from guigui.client.gui.settings_dialog import SettingsDialog
from guigui.client.gui.theme import apply_palette
from guigui.client.model import ChatModel, ConversationKey
from guigui.client.network_thread import NetworkThread
from guigui.client.settings import THEMES, ClientSettings
from guigui.client.updates import (
    ConnectionChanged,
    ConversationsLoaded,
    HistoryPage,
    JoinPending,
    LoggedIn,
    LoggedOut,
    LoginFailed,
    MessageAcknowledged,
    MessageRefused,
    NewServerTrusted,
    ReadStateSaved,
    Registered,
    RegisterFailed,
    RequestError,
    ResumeRefused,
    RoomJoined,
    ServerEvent,
    StillSanctioned,
    TransferCancelled,
    TransferDone,
    TransferFailed,
    TransferProgress,
    Update,
)
from guigui.common.dates import until_in_words
from guigui.common.i18n import _, set_language
from guigui.common.messages import (
    AccessDecision,
    MessageEvent,
    PresenceEvent,
    ReadStateEvent,
    RoomUpdate,
    Sanctioned,
    SessionOk,
    Shutdown,
)
from guigui.common.objects import ConversationState, Room
from guigui.common.protocol import SanctionKind

PUMP_MS = 50

ERRORS_IN_WORDS = {
    "bad_credentials": "Wrong login or password.",
    "login_taken": "This login is already taken.",
    "email_taken": "This email address is already registered.",
    "weak_password": "This password is too short (8 characters at least).",
    "unavailable": "The server cannot be reached right now. Try again in a moment.",
    "banned": "You are banned from this server.",
    "kicked": "You have been kicked from this server for a while.",
    "rate_limited": "Too many attempts: wait a little and try again.",
    "not_member": "You are not a member of this room.",
    "no_such_room": "This room does not exist.",
    "no_such_user": "Nobody has this login.",
    "text_too_long": "This message is too long.",
    "already_member": "You are already a member of this room.",
    "already_pending": "Your request to join this room already waits for an admin.",
    "bad_token": "Your session has expired: log in again.",
    "internal": "Something went wrong on our side. Try again.",
}
"""What each error code of the protocol means for the user (translated where shown)."""


def in_words(code: object, message: str) -> str:
    """An error in the user's language: the words for its code, else the server's message."""
    words = ERRORS_IN_WORDS.get(str(code))
    return _(words) if words is not None else message


@dataclass
class Draft:
    """What a user had written and not sent when logging out: given back at the next login."""

    text: str
    unsent: list[tuple[ConversationKey, str]] = field(default_factory=list)


class ClientApp(ttk.App):
    """The GuiGui Chat desktop client."""

    def __init__(
        self, settings: ClientSettings | None = None, *, save_settings: bool = True
    ) -> None:
        self.settings = settings or ClientSettings.load()
        self.save_settings = save_settings
        set_language(self.settings.language)
        super().__init__(
            title="GuiGui Chat",
            theme=THEMES[self.settings.theme],
            size=(1040, 680),
            minsize=(760, 480),
        )
        self.model = ChatModel()
        self.network = NetworkThread(self.settings)
        self.files = FileActions(self, self, self.ask_conflict)
        self.sanction: Sanctioned | None = None
        """The kick or ban in force on us, shown until it ends."""
        self.reconnect_at: float | None = None
        """When the network thread tries to reconnect (``time.monotonic()``), if it does."""
        self.drafts: dict[str, Draft] = {}
        self.screen: ttk.Frame | None = None
        self.settings_dialog: SettingsDialog | None = None
        self._build_screens()
        self.bind_all("<Control-k>", lambda _e: self.quick_switch())
        self.bind_all("<Control-q>", lambda _e: self.quit_app())
        self.bind_all("<Control-Q>", lambda _e: self.quit_app())
        self.bind_all("<Control-comma>", lambda _e: self.show_settings())
        self.protocol("WM_DELETE_WINDOW", self.quit_app)
        self.show_login()
        self.after(PUMP_MS, self._pump)

    def _build_screens(self) -> None:
        self.login_form = LoginForm(self, self)
        self.register_form = RegisterForm(self, self)
        self.main_window = MainWindow(self, self)
        apply_palette(self.style, self.settings.theme)

    # ---- screens ----------------------------------------------------------------------

    def _show(self, screen: ttk.Frame) -> None:
        if self.screen is not None:
            self.screen.pack_forget()
        self.main_window.status_bar.pack_forget()
        self.screen = screen
        if screen is self.main_window:
            self.main_window.status_bar.pack(side="bottom", fill="x")
            screen.pack(fill="both", expand=True)
        else:
            screen.pack(expand=True)

    def show_login(self) -> None:
        """The login screen."""
        self.login_form.refresh()
        self._show(self.login_form)
        self.focus_first_field()

    def show_register(self) -> None:
        """The registration screen."""
        self._show(self.register_form)
        self.focus_first_field()

    def show_settings(self) -> SettingsDialog:
        """The settings dialog, above whatever screen is shown (which it leaves as it is)."""
        if self.settings_dialog is None or not self.settings_dialog.winfo_exists():
            self.settings_dialog = SettingsDialog(self, self)
        self.settings_dialog.lift()
        return self.settings_dialog

    def focus_first_field(self) -> None:
        """Put the keyboard in the screen's first field a user has to fill."""
        if self.screen is self.login_form:
            form = self.login_form
            (form.password if form.login.get() else form.login).focus_set()
        elif self.screen is self.register_form:
            self.register_form.entries[RegisterForm.FIELDS[0]].focus_set()
        elif self.screen is self.main_window:
            self.main_window.input.focus_set()

    def apply_settings(self) -> None:
        """Save the settings; switch theme and language at once, keeping what was typed."""
        if self.save_settings:
            self.settings.save()
        self.style.theme_use(THEMES[self.settings.theme])
        set_language(self.settings.language)
        on_register = self.screen is self.register_form
        typed = self._typed()
        for screen in (self.login_form, self.register_form, self.main_window):
            screen.destroy()
        self.main_window.status_bar.destroy()
        self.model.listeners.clear()
        self.screen = None
        self._build_screens()
        self._retype(typed)
        if self.model.me is not None:  # logged in: stay in the chat
            self._show(self.main_window)
            self.main_window.draw_all()
            self.focus_first_field()
        elif on_register:
            self.show_register()
        else:
            self.show_login()

    def _typed(self) -> dict[str, str]:
        """What the user typed in the forms and the message box (kept across a rebuild)."""
        typed = {
            f"register.{name}": entry.get() for name, entry in self.register_form.entries.items()
        }
        typed["login.login"] = self.login_form.login.get()
        typed["login.password"] = self.login_form.password.get()
        typed["main.input"] = self.main_window.input.get("1.0", "end-1c")
        return typed

    def _retype(self, typed: dict[str, str]) -> None:
        for name, entry in self.register_form.entries.items():
            entry.delete(0, "end")
            entry.insert(0, typed[f"register.{name}"])
        for entry, key in (
            (self.login_form.login, "login.login"),
            (self.login_form.password, "login.password"),
        ):
            entry.delete(0, "end")
            entry.insert(0, typed[key])
        self.main_window.input.insert("1.0", typed["main.input"])
        self.main_window._count()

    # ---- the update pump ---------------------------------------------------------------

    def _pump(self) -> None:
        try:
            while True:
                update = self.network.updates.get_nowait()
                self.apply(update)
        except queue.Empty:
            pass
        self.after(PUMP_MS, self._pump)

    def apply(self, update: Update) -> None:
        """Apply one update from the network thread: each update class and its method.

        Each method is named after its class: ``MessageAcknowledged`` goes to
        ``_on_message_acknowledged``, so grep finds one from the other.

        An update without a case here is an error: mypy says so (``assert_never``),
        and so does the run, loudly.
        """
        match update:
            case ConnectionChanged(state, retry_in):
                self._on_connection_changed(state, retry_in)
            case LoggedIn(session, resumed):
                self._on_logged_in(session, resumed)
            case LoginFailed(code, message, details):
                self._on_login_failed(code, message, details)
            case Registered(user):
                self._on_registered(user)
            case RegisterFailed(code, message, details):
                self._on_register_failed(code, message, details)
            case ResumeRefused(code, message, details):
                self._on_resume_refused(code, message, details)
            case StillSanctioned(code, until, details):
                self._on_still_sanctioned(code, until, details)
            case HistoryPage(key, messages, more, older):
                self._on_history_page(key, messages, more, older)
            case MessageAcknowledged(nonce, message):
                self._on_message_acknowledged(nonce, message)
            case MessageRefused(nonce, code, reason):
                self._on_message_refused(nonce, code, reason)
            case RoomJoined(room):
                self._on_room_joined(room)
            case JoinPending(room, request_id):
                self._on_join_pending(room, request_id)
            case LoggedOut():
                self._on_logged_out()
            case NewServerTrusted(server, fingerprint):
                self._on_new_server_trusted(server, fingerprint)
            case RequestError(code, message):
                self._on_request_error(code, message)
            case ServerEvent(event):
                self._on_server_event(event)
            case ConversationsLoaded(states):
                self._on_conversations_loaded(states)
            case ReadStateSaved(state):
                self._on_read_state_saved(state)
            case TransferProgress(transfer, done, total):
                self.files.on_progress(transfer, done, total)
            case TransferDone(transfer, message, path):
                self.files.on_done(transfer, message, path)
            case TransferFailed(transfer, reason):
                self.files.on_failed(transfer, reason)  # in words already (transfer_runner)
            case TransferCancelled(transfer):
                self.files.on_cancelled(transfer)
            case _:
                assert_never(update)

    def _on_connection_changed(self, state: str, retry_in: float | None = None) -> None:
        self.reconnect_at = None if retry_in is None else time.monotonic() + retry_in
        self.model.set_connection_state(state)

    def _on_logged_in(self, session: SessionOk, resumed: bool) -> None:
        self.sanction = None
        self.model.start_session(session.user.login, session.rooms, session.online)
        self.network.load_conversations()  # read state kept by the server
        if self.save_settings:
            self.settings.save()
        self.title(f"GuiGui Chat — {session.user.login}")
        if not resumed:
            self._show(self.main_window)
            self.main_window.draw_all()
            self.register_form.clear()
            if self.model.selected is not None:
                self.open_conversation(self.model.selected)
            self._restore_draft(session.user.login)
            return
        for key, conversation in list(self.model.conversations.items()):
            if conversation.loaded:
                self.network.catch_up(key, conversation.newest_id)
        self.model.notice(_("Reconnected."))

    def unreachable(self) -> str:
        """The words for a server that does not answer, naming its address."""
        address = self.settings.address_text
        return _("The server {address} cannot be reached. Check its address in Settings.").format(
            address=address
        )

    def _on_login_failed(self, code: str, message: str, details: dict[str, Any]) -> None:
        if str(code) == "unavailable":
            self.login_form.failed(self.unreachable(), offer_settings=True)
            return
        words = in_words(code, message)
        if str(code) in ("banned", "kicked"):
            until = details.get("until")
            reason = details.get("reason") or _("no reason given")
            words += f" ({until_in_words(until if isinstance(until, int) else None)}: {reason})"
        self.login_form.failed(words)

    def _on_registered(self, user: Any) -> None:
        self.register_form.clear()
        self.login_form.login.delete(0, "end")
        self.login_form.login.insert(0, user.login)
        self.show_login()
        self.login_form.message.configure(
            text=_("Account created: you can log in."), bootstyle="success"
        )

    def _on_register_failed(self, code: str, message: str, details: dict[str, Any]) -> None:
        field = details.get("field")
        if str(code) == "login_taken":
            field = "login"
        elif str(code) == "email_taken":
            field = "email"
        elif str(code) == "unavailable":
            self.register_form.failed(None, self.unreachable(), offer_settings=True)
            return
        self.register_form.failed(field, in_words(code, message))

    def _on_resume_refused(self, code: str, message: str, details: dict[str, Any]) -> None:
        self.sanction = None
        self.model.notice(in_words(code, message))
        self.show_login()
        self._on_login_failed(code, message, details)

    def _on_history_page(
        self, key: ConversationKey, messages: list[Any], more: bool, older: bool
    ) -> None:
        self.model.add_history(key, messages, more, older=older)
        self.send_read(key)

    def _on_message_acknowledged(self, nonce: str, message: Any) -> None:
        self.model.acknowledged(nonce, message)

    def _on_message_refused(self, nonce: str, code: str, reason: str) -> None:
        self.model.refused(nonce, in_words(code, reason))

    def _on_still_sanctioned(self, code: str, until: int, details: dict[str, Any]) -> None:
        kind = SanctionKind.BAN if str(code) == "banned" else SanctionKind.KICK
        self._sanctioned(Sanctioned(kind, until, str(details.get("reason") or "")))

    def _on_room_joined(self, joined: Room) -> None:
        self.model.room_joined(joined)
        self.model.notice(_("You joined {room}.").format(room=joined.name))
        self.open_conversation(ConversationKey.room(joined.name))

    def _on_join_pending(self, name: str, request_id: Any) -> None:
        self.model.room_pending(name)
        self.model.notice(_("Your request to join {room} waits for an admin.").format(room=name))
        self.main_window.draw_conversation()

    def _on_logged_out(self) -> None:
        self.files.forget()
        self.sanction = None
        self.reconnect_at = None
        self.model.__init__()  # type: ignore[misc]
        self.model.listeners.append(self.main_window.on_model_changed)
        self.main_window.draw_status()
        self.register_form.clear()
        self.login_form.clear_password()
        self.show_login()

    def _on_new_server_trusted(self, server: str, fingerprint: str) -> None:
        text = _("New server {server}: its certificate is now trusted. Fingerprint: {fingerprint}")
        self.model.notice(text.format(server=server, fingerprint=fingerprint))

    def _on_request_error(self, code: str, message: str) -> None:
        self.model.notice(f"⚠ {in_words(code, message)}")

    def _on_server_event(self, event: Any) -> None:
        model = self.model
        if isinstance(event, MessageEvent):
            if model.receive(event.message) and not self.focus_displayof():
                self.toast(event.message.sender, event.message.text)
            self.send_read(model.key_of(event.message))
        elif isinstance(event, ReadStateEvent):
            model.apply_read_state(event.conversation)
        elif isinstance(event, PresenceEvent):
            model.set_presence(event)
        elif isinstance(event, AccessDecision):
            model.access_decided(event.room, event.granted)
            verdict = _("granted") if event.granted else _("refused")
            model.notice(_("Access to {room}: {verdict}.").format(room=event.room, verdict=verdict))
            if model.selected == ConversationKey.room(event.room):
                self.open_conversation(model.selected)
        elif isinstance(event, RoomUpdate):
            model.room_joined(event.room) if event.room.member else model.rooms.update(
                {event.room.name: event.room}
            )
        elif isinstance(event, Sanctioned):
            self._sanctioned(event)
        elif isinstance(event, Shutdown):
            stopping = _("The server stops in {seconds} s: {reason}")
            model.notice(stopping.format(seconds=event.in_seconds, reason=event.reason))

    def _sanctioned(self, sanction: Sanctioned) -> None:
        """Kicked or banned: said in the window (not a modal dialog: one may still write)."""
        self.sanction = sanction
        self.main_window.draw_status()

    def _restore_draft(self, login: str) -> None:
        """Give back what this user had written and not sent before logging out."""
        draft = self.drafts.pop(login, None)
        if draft is None:
            return
        self.main_window.input.delete("1.0", "end")
        self.main_window.input.insert("1.0", draft.text)
        for key, text in draft.unsent:
            nonce = uuid.uuid4().hex
            self.model.queue_outgoing(key, text, nonce)
            self.network.send(key, text, nonce)

    # ---- actions --------------------------------------------------------------------------

    def retry_message(self, nonce: str) -> None:
        """Send a failed message again."""
        outgoing = self.model.retry(nonce)
        if outgoing is not None:
            self.network.send(outgoing.key, outgoing.text, nonce)

    def delete_message(self, nonce: str) -> None:
        """Forget a failed message."""
        self.model.discard(nonce)

    def open_conversation(self, key: ConversationKey) -> None:
        """Show a conversation, loading its last messages the first time."""
        self.model.select(key)
        self.send_read(key)
        conversation = self.model.conversation(key)
        room = self.model.rooms.get(key.name) if key.kind == "room" else None
        if not conversation.loaded and (room is None or room.member):
            self.network.load_history(key, None)
        self.main_window.draw_conversation()
        self.main_window.input.focus_set()

    # ---- read state kept by the server (issue 13) ------------------------------------------

    def _on_conversations_loaded(self, states: list[ConversationState]) -> None:
        self.model.apply_conversations(states)
        if self.model.selected is not None:
            self.send_read(self.model.selected)

    def _on_read_state_saved(self, state: ConversationState) -> None:
        self.model.apply_read_state(state)

    def send_read(self, key: ConversationKey) -> None:
        """Tell the server the conversation on screen is read, when it has news."""
        up_to = self.model.read_to_send(key)
        if up_to is not None:
            self.network.mark_read(key, up_to)

    def ask_conflict(self, path: Path) -> str | None:
        """A download's name is taken in the Downloads folder: replace, keep both, or cancel."""
        replace, keep, cancel = _("Replace"), _("Keep both"), _("Cancel")
        dialog = MessageDialog(
            _("{name} already exists in {folder}.").format(name=path.name, folder=path.parent),
            title=_("File already exists"),
            buttons=[f"{cancel}:secondary", f"{keep}:primary", f"{replace}:danger"],
            parent=self,
            default=keep,
            icon="question-circle-fill",
            localize=False,
        )
        dialog.show()
        return {replace: REPLACE, keep: KEEP_BOTH}.get(str(dialog.result))

    def toast(self, title: str, text: str) -> None:
        """A notification for a direct message or a mention while the window is not focused."""
        with contextlib.suppress(Exception):  # a toast is a nicety: never let it break the chat
            toast = ttk.ToastNotification(
                title=f"GuiGui — {title}", message=text[:200], duration=5000
            )
            toast.show_toast()

    def quick_switch(self) -> None:
        """Ctrl+K: type a few letters of a room or a person, Enter to open."""
        if self.screen is not self.main_window:
            return
        dialog = ttk.Toplevel(title=_("Go to…"), transient=self, size=(340, 320))
        prompt = ttk.Label(
            dialog, text=_("Type a room or a person, then Enter to open it."), wraplength=320
        )
        prompt.pack(fill="x", padx=8, pady=(8, 0))
        entry = ttk.Entry(dialog)
        entry.pack(fill="x", padx=8, pady=8)
        choices = ttk.Treeview(dialog, show="tree", height=10)
        choices.pack(fill="both", expand=True, padx=8, pady=(0, 8))

        def candidates() -> list[ConversationKey]:
            keys = [
                ConversationKey.room(name) for name, room in self.model.rooms.items() if room.member
            ]
            keys += [c.key for c in self.model.direct_conversations()]
            keys += [
                ConversationKey.direct(login)
                for login, _s in self.model.online_users()
                if login != self.model.me
            ]
            return list(dict.fromkeys(keys))

        def refresh(_event: object = None) -> None:
            typed = entry.get().strip().casefold()
            choices.delete(*choices.get_children())
            for key in candidates():
                if typed in key.name.casefold():
                    choices.insert("", "end", iid=f"{key.kind}:{key.name}", text=str(key))
            first = choices.get_children()
            if first:
                choices.selection_set(first[0])

        def go(_event: object = None) -> None:
            selection = choices.selection()
            if selection:
                kind, name = selection[0].split(":", 1)
                self.open_conversation(ConversationKey(kind, name))
            dialog.destroy()

        entry.bind("<KeyRelease>", refresh)
        entry.bind("<Return>", go)
        choices.bind("<Double-1>", go)
        dialog.bind("<Escape>", lambda _e: dialog.destroy())
        refresh()
        entry.focus_set()
        self.quick_switcher = dialog
        self.quick_switcher_prompt = prompt

    def log_out(self) -> None:
        """Log out and go back to the login screen; what was not sent waits for the next login.

        The draft is kept in memory only, for the same login: the next person on a
        shared computer does not see it.
        """
        me = self.model.me
        text = self.main_window.input.get("1.0", "end-1c")
        unsent = [(o.key, o.text) for o in self.model.outgoing.values() if o.error is None]
        if me is not None and (text.strip() or unsent):
            self.drafts[me] = Draft(text, unsent)
        self.main_window.input.delete("1.0", "end")
        self.network.logout()

    def quit_app(self) -> None:
        """Close the window and the connection."""
        self.network.close()
        self.destroy()


def main() -> None:
    """Run the desktop client."""
    ClientApp().mainloop()
