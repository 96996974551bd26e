"""The main window: rooms and people on the left, the conversation in the middle.

A thin view of ``ChatModel``: it redraws the part the model says changed and
forwards what the user does to the app (which talks to the network thread),
which it knows only through ``MainWindowActions``: the few things it uses of it.
"""

from __future__ import annotations

import time
import tkinter as tk
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import ttkbootstrap as ttk

from guigui.client.file_display import is_picture
from guigui.client.gui.attachments import (
    FileCard,
    PictureView,
    TransferPanel,
    enable_file_drop,
    paste_picture,
)
from guigui.client.gui.file_actions import FileActions
from guigui.client.gui.theme import PALETTES, Palette
from guigui.client.model import ChatModel, ConversationKey, DaySeparator, TimelineMessage
from guigui.client.network_thread import NetworkThread
from guigui.client.settings import ClientSettings
from guigui.common.dates import delay_in_words, long_date, until_in_words
from guigui.common.i18n import _
from guigui.common.messages import Sanctioned
from guigui.common.objects import FileInfo
from guigui.common.protocol import DEFAULT_MAX_TEXT, SanctionKind, Status

NOTICE_SECONDS = 8.0
"""How long a notice stays in the status bar (a new connection state also clears it)."""
TICK_MS = 1000
"""How often the countdowns (end of a kick, next reconnection) are redrawn."""


def status_in_words(status: Status | str) -> str:
    """A presence status in the user's language."""
    words = {
        Status.ONLINE: _("online"),
        Status.AWAY: _("away"),
        Status.BUSY: _("busy"),
        Status.OFFLINE: _("offline"),
    }
    return words.get(Status(status), str(status))


def badge_in_words(badge: str) -> str:
    """A room's badge from the model, in the user's language (counts stay as they are)."""
    return {"pending": _("pending"), "join": _("join")}.get(badge, badge)


def _sidebar_list(
    master: Any, title: str, height: int, on_select: Any, *, grow: bool = False
) -> ttk.Treeview:
    """A titled list of the sidebar: a name column and a short value on the right."""
    ttk.Label(master, text=title, bootstyle="secondary").pack(anchor="w", pady=(10, 2))
    tree = ttk.Treeview(master, columns=("value",), show="tree", height=height, selectmode="browse")
    tree.column("#0", width=150)
    tree.column("value", width=70, anchor="e")
    tree.pack(fill="both" if grow else "x", expand=grow)
    tree.bind("<<TreeviewSelect>>", on_select)
    tree.bind("<FocusIn>", lambda _event: _focus_a_row(tree))
    return tree


def _focus_a_row(tree: ttk.Treeview) -> None:
    """A list reached with Tab has a current row, so the arrow keys move at once."""
    if not tree.focus():
        rows = tree.selection() or tree.get_children()
        if rows:
            tree.focus(rows[0])


def _move_focus(widget: Any, backwards: bool = False) -> str:
    """Tab out of a text box (where Tk would insert a tab): to the next or previous control."""
    target = widget.tk_focusPrev() if backwards else widget.tk_focusNext()
    if target is not None:
        target.focus_set()
    return "break"


def _fill(tree: ttk.Treeview, rows: list[tuple[str, str, str]]) -> None:
    """Make a one-column tree show ``(iid, text, value)`` rows, changing only what differs."""
    wanted = [iid for iid, _text, _value in rows]
    for iid in tree.get_children():
        if iid not in wanted:
            tree.delete(iid)
    for index, (iid, text, value) in enumerate(rows):
        if tree.exists(iid):
            tree.item(iid, text=text, values=(value,))
            if tree.index(iid) != index:
                tree.move(iid, "", index)
        else:
            tree.insert("", index, iid=iid, text=text, values=(value,))


class MessageView(ttk.Frame):
    """The messages of one conversation, with day separators; older ones load at the top."""

    def __init__(
        self,
        master: Any,
        on_scrolled_to_top: Any,
        on_retry: Callable[[str], None] | None = None,
        on_delete: Callable[[str], None] | None = None,
        attachment_for: Callable[[Any, FileInfo], ttk.Frame] | None = None,
    ) -> None:
        super().__init__(master)
        self.attachment_for = attachment_for
        """Builds the widget that shows a message's file (a thumbnail or a card)."""
        self.attachments: list[ttk.Frame] = []
        # A small requested size: the window's size decides, and the scrollbar always fits.
        self.on_retry = on_retry or (lambda _nonce: None)
        self.on_delete = on_delete or (lambda _nonce: None)
        self.failed_actions: dict[str, tuple[ttk.Button, ttk.Button]] = {}
        """The Retry and Delete buttons of each failed message, by nonce."""
        self.text = tk.Text(
            self, wrap="word", state="disabled", padx=10, pady=6, relief="flat", height=4, width=20
        )
        self.scrollbar = scrollbar = ttk.Scrollbar(self, orient="vertical", command=self.text.yview)
        self.text.configure(yscrollcommand=self._scrolled(scrollbar))
        scrollbar.pack(side="right", fill="y")
        self.text.pack(side="left", fill="both", expand=True)
        self.on_scrolled_to_top = on_scrolled_to_top
        self.text.tag_configure("day", justify="center", spacing1=8, spacing3=4)
        self.text.tag_configure("sender", font="-weight bold")
        self.text.tag_configure("mine")
        self.text.tag_configure("clock", font="-size 8")
        self.text.tag_configure("outgoing", font="-slant italic")
        self.text.tag_configure("error")
        self.text.tag_configure("mention")
        self.lines: list[str] = []

    def use_palette(self, palette: Palette) -> None:
        """Colour the view and its tags for the theme (each pair readable, see ``theme``)."""
        self.text.configure(background=palette.background, foreground=palette.foreground)
        self.text.tag_configure("day", foreground=palette.muted)
        self.text.tag_configure("mine", foreground=palette.mine)
        self.text.tag_configure("clock", foreground=palette.muted)
        self.text.tag_configure("outgoing", foreground=palette.muted)
        self.text.tag_configure("error", foreground=palette.error)
        self.text.tag_configure("mention", background=palette.mention_background)

    def _add_failed_actions(self, nonce: str) -> None:
        """Retry and Delete, after a failed message, inside the text."""
        retry = ttk.Button(
            self.text,
            text=_("Retry"),
            bootstyle="link",
            padding=(4, 0),
            cursor="hand2",
            command=lambda: self.on_retry(nonce),
        )
        delete = ttk.Button(
            self.text,
            text=_("Delete"),
            bootstyle="link",
            padding=(4, 0),
            cursor="hand2",
            command=lambda: self.on_delete(nonce),
        )
        self.text.insert("end", "  ")
        self.text.window_create("end", window=retry)
        self.text.window_create("end", window=delete)
        self.failed_actions[nonce] = (retry, delete)

    def _scrolled(self, scrollbar: ttk.Scrollbar) -> Any:
        def update(first: str, last: str) -> None:
            scrollbar.set(first, last)
            if float(first) <= 0.0 and float(last) < 1.0:
                self.on_scrolled_to_top()

        return update

    def show(self, items: list[Any], *, keep_position: bool = False) -> None:
        """Redraw the timeline; stay at the bottom unless reading older messages."""
        top_before = self.text.yview()[0]
        at_bottom = self.text.yview()[1] >= 0.999
        old_size = float(self.text.index("end"))
        self.text.configure(state="normal")
        self.text.delete("1.0", "end")
        for buttons in self.failed_actions.values():
            for button in buttons:
                button.destroy()
        self.failed_actions = {}
        for attachment in self.attachments:
            attachment.destroy()
        self.attachments = []
        self.lines = []
        for item in items:
            if isinstance(item, DaySeparator):
                line = f"— {long_date(item.day)} —"
                self.text.insert("end", line + "\n", ("day",))
            else:
                assert isinstance(item, TimelineMessage)
                tags: tuple[str, ...] = ("mention",) if item.mentions_me else ()
                self.text.insert("end", f"{item.clock} ", ("clock", *tags))
                self.text.insert("end", item.sender, ("sender", "mine" if item.mine else "", *tags))
                body_tags = tags + (("outgoing",) if item.outgoing else ())
                suffix = ""
                if item.outgoing:
                    state = (
                        _("not sent: {reason}").format(reason=item.error)
                        if item.error
                        else _("sending…")
                    )
                    suffix = f"  ({state})"
                    body_tags += ("error",) if item.error else ()
                self.text.insert("end", f": {item.text}{suffix}", body_tags)
                if item.error and item.nonce:
                    self._add_failed_actions(item.nonce)
                self.text.insert("end", "\n")
                if item.file is not None and self.attachment_for is not None:
                    attachment = self.attachment_for(self.text, item.file)
                    self.text.window_create("end", window=attachment, padx=40, pady=4)
                    self.text.insert("end", "\n")
                    self.attachments.append(attachment)
                line = f"{item.clock} {item.sender}: {item.text}{suffix}"
            self.lines.append(line)
        self.text.configure(state="disabled")
        if keep_position:
            added = float(self.text.index("end")) - old_size
            total = float(self.text.index("end"))
            self.text.yview_moveto(max(0.0, top_before + added / max(total, 1.0)))
        elif at_bottom or not keep_position:
            self.text.see("end")
            # The thumbnails and cards just embedded have no height until Tk lays them
            # out: "end" was seen as if they were one line high, so once more. (Laid out
            # while at the top, the view would ask for older history: hence the first see.)
            self.text.update_idletasks()
            self.text.see("end")


class MainWindowActions(Protocol):
    """What the main window uses of the app: what it shows, and where user actions go."""

    @property
    def model(self) -> ChatModel:
        """The chat the window shows."""

    @property
    def settings(self) -> ClientSettings:
        """The settings: the theme's colours."""

    @property
    def network(self) -> NetworkThread:
        """The network thread: send, join, load history, set one's status."""

    @property
    def sanction(self) -> Sanctioned | None:
        """The kick or ban in force on us, shown until it ends."""

    @property
    def reconnect_at(self) -> float | None:
        """When the network thread tries to reconnect (``time.monotonic()``), if it does."""

    @property
    def files(self) -> FileActions:
        """Attach, download, cancel files; the thumbnails of pictures."""

    def open_conversation(self, key: ConversationKey) -> None:
        """Show a conversation, loading its last messages the first time."""

    def retry_message(self, nonce: str) -> None:
        """Send a failed message again."""

    def delete_message(self, nonce: str) -> None:
        """Forget a failed message."""

    def show_settings(self) -> object:
        """Open the settings dialog."""

    def log_out(self) -> None:
        """Log out and go back to the login screen."""


class MainWindow(ttk.Frame):
    """Sidebar, conversation, input and status bar."""

    def __init__(self, master: tk.Misc, app: MainWindowActions) -> None:
        super().__init__(master)
        self.app = app
        self.model = app.model
        self._build_sidebar()
        self._build_conversation()
        self._build_status_bar()
        self.model.listeners.append(self.on_model_changed)
        self._loading_older = False
        self._notice_until = 0.0
        """When the notice in the status bar goes away (``time.monotonic()``)."""
        self._ticking = False

    # ---- layout ------------------------------------------------------------------

    def _build_sidebar(self) -> None:
        side = ttk.Frame(self, padding=(8, 8, 0, 8), width=230)
        side.pack(side="left", fill="y")
        # Packed first, at the bottom: the lists shrink before these buttons do.
        bottom = ttk.Frame(side)
        bottom.pack(side="bottom", fill="x", pady=(6, 0))
        self.logout_button = ttk.Button(
            bottom, text=_("Log out"), bootstyle="secondary-link", command=self.app.log_out
        )
        self.logout_button.pack(side="left")
        self.settings_button = ttk.Button(
            bottom, text=_("Settings"), bootstyle="secondary-link", command=self.app.show_settings
        )
        self.settings_button.pack(side="right")
        top = ttk.Frame(side)
        top.pack(fill="x")
        self.me_label = ttk.Label(top, text="", font="-weight bold")
        self.me_label.pack(side="left")
        self.settable_statuses = [Status.ONLINE, Status.AWAY, Status.BUSY]
        self.my_status = ttk.Combobox(
            top,
            values=[status_in_words(s) for s in self.settable_statuses],
            state="readonly",
            width=9,
        )
        self.my_status.set(status_in_words(Status.ONLINE))
        self.my_status.bind("<<ComboboxSelected>>", lambda _e: self._status_chosen())
        self.my_status.pack(side="right")
        self.room_list = _sidebar_list(side, _("Rooms"), 5, self._room_clicked)
        self.direct_list = _sidebar_list(side, _("Direct messages"), 3, self._direct_clicked)
        self.people_list = _sidebar_list(side, _("Online"), 2, self._person_clicked, grow=True)
        for status, color in PALETTES[self.app.settings.theme].status.items():
            self.people_list.tag_configure(str(status), foreground=color)
        self.people_list.tag_configure(
            "stale", foreground=PALETTES[self.app.settings.theme].status[Status.OFFLINE]
        )

    def _build_conversation(self) -> None:
        middle = ttk.Frame(self, padding=8)
        middle.pack(side="left", fill="both", expand=True)
        header = ttk.Frame(middle)
        header.pack(fill="x")
        self.title = ttk.Label(header, text="", font="-size 14 -weight bold")
        self.title.pack(side="left")
        self.join_button = ttk.Button(
            header, text="", bootstyle="primary", command=self._join_selected
        )
        self.sanction_banner = ttk.Label(
            middle, text="", bootstyle="@primary", padding=(10, 6), wraplength=600
        )
        self.message_view = MessageView(
            middle,
            self._load_older,
            self.app.retry_message,
            self.app.delete_message,
            self._attachment,
        )
        # The input box is packed before the messages: they shrink first when the window does.
        composer = ttk.Frame(middle)
        composer.pack(side="bottom", fill="x")
        self.transfer_panel = TransferPanel(middle, self.app.files.cancel)
        self.message_view.pack(fill="both", expand=True, pady=(6, 6))
        palette = PALETTES[self.app.settings.theme]
        self.message_view.use_palette(palette)
        right = ttk.Frame(composer)
        right.pack(side="right", padx=(6, 0))
        self.input = tk.Text(
            composer,
            width=20,
            height=3,
            wrap="word",
            relief="solid",
            borderwidth=1,
            background=palette.background,
            foreground=palette.foreground,
            insertbackground=palette.foreground,
        )
        self.attach_button = ttk.Button(
            composer,
            icon="paperclip",
            icon_only=True,
            bootstyle="secondary-outline",
            command=self.choose_files,
        )
        self.attach_button.pack(side="left", padx=(0, 6), fill="y")
        self.input.pack(side="left", fill="x", expand=True)
        self.input.bind("<<Paste>>", self._paste)
        self.drop_enabled = enable_file_drop(self, self.app.files.attach)
        self.input.bind("<Return>", self._enter)
        self.input.bind("<KP_Enter>", self._enter)
        self.input.bind("<Control-Return>", self._enter)
        self.input.bind("<Shift-Return>", lambda _e: None)  # Shift+Enter: a new line
        self.input.bind("<KeyRelease>", lambda _e: self._count())
        self.input.bind("<Tab>", lambda _e: _move_focus(self.input))
        self.input.bind("<ISO_Left_Tab>", lambda _e: _move_focus(self.input, backwards=True))
        self.input.bind("<Shift-Tab>", lambda _e: _move_focus(self.input, backwards=True))
        self.send_button = ttk.Button(
            right, text=_("Send"), bootstyle="primary", command=self.send_message
        )
        self.send_button.pack(fill="x")
        right.lift(self.input)  # Tab goes from the box to Send (traversal follows stacking)
        # As wide as its longest text: "4000 / 4000" is never cut.
        longest = f"{DEFAULT_MAX_TEXT} / {DEFAULT_MAX_TEXT}"
        self.counter = ttk.Label(
            right,
            text=f"0 / {DEFAULT_MAX_TEXT}",
            font="-size 8",
            bootstyle="secondary",
            width=len(longest) + 1,
            anchor="center",
        )
        self.counter.pack()

    def _build_status_bar(self) -> None:
        self.status_bar = ttk.Label(self.master, text="", padding=(8, 3), bootstyle="secondary")

    # ---- redraw --------------------------------------------------------------------

    def on_model_changed(self, what: str, detail: object) -> None:
        """Redraw what the model says changed."""
        if what == "rooms":
            self.draw_rooms()
        elif what == "presence":
            self.draw_people()
        elif what == "conversation" and detail == self.model.selected:
            self.draw_conversation(keep_position=self._loading_older)
            self._loading_older = False
        elif what == "connection":
            self._notice_until = 0.0  # a notice is about the connection it came with
            self.draw_status()
            self.draw_people()
        elif what == "transfers":
            self.draw_transfers()
        elif what == "notice":
            self._notice_until = time.monotonic() + NOTICE_SECONDS
            self.after(int(NOTICE_SECONDS * 1000) + 50, self.draw_status)
            self.draw_status()

    def draw_all(self) -> None:
        """Redraw everything (after login)."""
        self.me_label.configure(text=self.model.me or "")
        self.my_status.set(status_in_words(self.model.my_status))
        self.draw_rooms()
        self.draw_people()
        self.draw_conversation()
        self.draw_transfers()
        self.draw_status()

    def draw_rooms(self) -> None:
        """The rooms and direct conversations with their badges (rows updated in place)."""
        rooms = [
            (f"room:{room.name}", f"# {room.name}", badge_in_words(self.model.room_badge(room)))
            for room in self.model.rooms.values()
        ]
        _fill(self.room_list, rooms)
        directs = [
            (f"dm:{c.key.name}", f"@ {c.key.name}", str(c.unread) if c.unread else "")
            for c in self.model.direct_conversations()
        ]
        _fill(self.direct_list, directs)
        selected = self.model.selected
        for tree in (self.room_list, self.direct_list):
            iid = f"{selected.kind}:{selected.name}" if selected else ""
            wanted = (iid,) if tree.exists(iid) else ()
            if tree.selection() != wanted:
                tree.selection_set(wanted)

    def draw_people(self) -> None:
        """Who is online, each coloured by status; greyed, without statuses, while offline."""
        online = self.model.online_users()
        connected = self.model.connection_state == "online"
        _fill(
            self.people_list,
            [
                (f"user:{login}", login, f"● {status_in_words(status)}" if connected else "")
                for login, status in online
            ],
        )
        for login, status in online:
            tag = str(status) if connected else "stale"
            self.people_list.item(f"user:{login}", tags=(tag,))

    def draw_conversation(self, keep_position: bool = False) -> None:
        """The selected conversation (or the invitation to join its room)."""
        key = self.model.selected
        if key is None:
            return
        self.title.configure(text=str(key))
        self.join_button.pack_forget()
        room = self.model.rooms.get(key.name) if key.kind == "room" else None
        if room is not None and not room.member:
            text = _("Request access") if str(room.access) == "approval" else _("Join")
            if room.pending:
                text = _("Request pending…")
            self.join_button.configure(text=text, state="disabled" if room.pending else "normal")
            self.join_button.pack(side="right")
        self.message_view.show(self.model.timeline(key), keep_position=keep_position)

    def draw_transfers(self) -> None:
        """The progress bars of files being sent or fetched, above the message box."""
        transfers = self.model.shown_transfers()
        self.transfer_panel.show(transfers)
        if transfers and not self.transfer_panel.winfo_manager():
            self.transfer_panel.pack(side="bottom", fill="x", before=self.message_view)
        elif not transfers:
            self.transfer_panel.pack_forget()  # an emptied frame would keep its height

    def draw_status(self) -> None:
        """Connection state (or the sanction in force) and the last notice, while it is fresh."""
        now = time.monotonic()
        fresh = self.model.notices and now < self._notice_until
        notice = self.model.notices[-1] if fresh else ""
        sanction = self.app.sanction
        connection_state = self.model.connection_state
        if sanction is not None:
            what = _("banned") if sanction.kind is SanctionKind.BAN else _("kicked")
            state = f"{what} {until_in_words(sanction.until)}"
        elif connection_state == "online":
            state = _("connected")
        elif connection_state == "connecting":
            state = _("connecting…")
        elif self.app.reconnect_at is not None:
            delay = delay_in_words(self.app.reconnect_at - now)
            state = _("offline: reconnecting in {delay}").format(delay=delay)
        else:
            state = _("offline")
        self.status_bar.configure(text=f"● {state}    {notice}")
        self.draw_sanction()
        counting = sanction is not None or (
            connection_state == "offline" and self.app.reconnect_at is not None
        )
        if counting and not self._ticking:
            self._ticking = True
            self.after(TICK_MS, self._tick)

    def _tick(self) -> None:
        self._ticking = False
        self.draw_status()

    def draw_sanction(self) -> None:
        """The banner that says we are kicked or banned, until when, and what happens then."""
        sanction = self.app.sanction
        if sanction is None:
            self.sanction_banner.pack_forget()
            return
        what = _("banned") if sanction.kind is SanctionKind.BAN else _("kicked")
        text = _("You have been {what} {until}: {reason}.").format(
            what=what,
            until=until_in_words(sanction.until),
            reason=sanction.reason or _("no reason given"),
        )
        if sanction.until is not None:
            text += " " + _(
                "The chat comes back by itself when it ends; what you write meanwhile is sent then."
            )
        self.sanction_banner.configure(text=text)
        if not self.sanction_banner.winfo_ismapped():
            self.sanction_banner.pack(fill="x", pady=(6, 0), before=self.message_view)

    # ---- actions ---------------------------------------------------------------------

    def _open(self, key: ConversationKey) -> None:
        # Selecting a row programmatically fires the same event: ignore what is already open.
        if key != self.model.selected:
            self.app.open_conversation(key)

    def _room_clicked(self, _event: object) -> None:
        selection = self.room_list.selection()
        if selection:
            self._open(ConversationKey.room(selection[0].split(":", 1)[1]))

    def _direct_clicked(self, _event: object) -> None:
        selection = self.direct_list.selection()
        if selection:
            self._open(ConversationKey.direct(selection[0].split(":", 1)[1]))

    def _person_clicked(self, _event: object) -> None:
        selection = self.people_list.selection()
        if selection:
            login = selection[0].split(":", 1)[1]
            if login != self.model.me:
                self._open(ConversationKey.direct(login))

    def _status_chosen(self) -> None:
        index = self.my_status.current()
        if 0 <= index < len(self.settable_statuses):
            self.app.network.set_status(str(self.settable_statuses[index]))

    def _join_selected(self) -> None:
        key = self.model.selected
        if key is not None and key.kind == "room":
            self.app.network.join(key.name)

    def _load_older(self) -> None:
        key = self.model.selected
        if key is None or self._loading_older:
            return
        conversation = self.model.conversations.get(key)
        if (
            conversation
            and conversation.loaded
            and conversation.more_history
            and conversation.oldest_id
        ):
            self._loading_older = True
            self.app.network.load_history(key, conversation.oldest_id)

    # ---- files --------------------------------------------------------------------------

    def _attachment(self, master: Any, file: FileInfo) -> ttk.Frame:
        """The widget of a message's file: a picture's thumbnail, or a card to download."""
        files = self.app.files
        if not is_picture(file):
            return FileCard(master, file, files.download)
        picture = files.picture(file)
        return PictureView(master, file, picture, files.download, broken=files.is_broken(file))

    def choose_files(self) -> None:
        """The paperclip: pick files to send to the conversation on screen."""
        if self.model.selected is None:
            return
        chosen = ttk.Querybox.get_open_filenames(parent=self, title=_("Attach files"))
        if chosen:
            self.app.files.attach([Path(name) for name in chosen])

    def _paste(self, _event: object) -> str | None:
        """Ctrl+V: a picture on the clipboard is sent; anything else pastes as text."""
        if self.model.selected is None:
            return None
        path = paste_picture(self.input, self.app.files.paste_folder)
        if path is None:
            return None  # Tk's own paste goes on
        self.app.files.attach([path])
        return "break"

    def _count(self) -> None:
        length = len(self.input.get("1.0", "end-1c"))
        self.counter.configure(
            text=f"{length} / {DEFAULT_MAX_TEXT}",
            bootstyle="danger" if length > DEFAULT_MAX_TEXT else "secondary",
        )

    def _enter(self, event: tk.Event[Any]) -> str:
        self.send_message()
        return "break"  # no newline in the box

    def send_message(self) -> None:
        """Send what is in the input box to the selected conversation."""
        key = self.model.selected
        text = self.input.get("1.0", "end-1c").strip()
        if key is None or not text:
            return
        if len(text) > DEFAULT_MAX_TEXT:
            self.model.notice(_("A message has at most 4000 characters."))
            return
        nonce = uuid.uuid4().hex
        self.model.queue_outgoing(key, text, nonce)
        self.app.network.send(key, text, nonce)
        self.input.delete("1.0", "end")
        self._count()
