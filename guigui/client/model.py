"""What the desktop client shows, as plain Python (no Tk): testable without a display.

``ChatModel`` holds the rooms with their state and unread counts, the
conversations (rooms and direct ones) with their messages, our outgoing
messages (being sent, or refused), who is online, and the connection state.
Files on their way up or down (``Transfer``) are listed here too, with
their progress. Unread counts and the list of direct conversations come from
the server after each login (``apply_conversations``) and follow what the
user reads on other computers (``apply_read_state``); between two, live
messages are counted here. The Tk thread owns it:
network results reach it through a queue, it changes, and it tells its
listeners what changed so that the views redraw only that.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from guigui.common.objects import ChatMessage, ConversationState, FileInfo, Presence, Room
from guigui.common.protocol import RoomAccess, Status


@dataclass(frozen=True, order=True)
class ConversationKey:
    """A room (``kind`` "room") or a direct conversation with a user (``kind`` "dm")."""

    kind: str
    name: str

    @classmethod
    def room(cls, name: str) -> ConversationKey:
        """The key of a room."""
        return cls("room", name)

    @classmethod
    def direct(cls, login: str) -> ConversationKey:
        """The key of a direct conversation with ``login``."""
        return cls("dm", login)

    def __str__(self) -> str:
        return f"#{self.name}" if self.kind == "room" else f"@{self.name}"


@dataclass
class OutgoingMessage:
    """A message typed by the user and not yet acknowledged by the server."""

    nonce: str
    key: ConversationKey
    text: str
    created: float = field(default_factory=time.time)
    error: str | None = None
    """Why the server refused it (it will not be sent again), if it did."""
    failed_after: int = 0
    """The newest message id of its conversation when it was refused: it stays there."""


@dataclass
class Conversation:
    """The messages of a room or of a direct conversation."""

    key: ConversationKey
    messages: list[ChatMessage] = field(default_factory=list)
    unread: int = 0
    mentioned: bool = False
    more_history: bool = True
    loaded: bool = False
    last_id: int = 0
    """The newest message id the server reported (CONVERSATIONS), loaded or not."""
    read_up_to: int = 0
    """The server's read marker, or the last READ sent: the newest message id read."""

    def add(self, message: ChatMessage) -> bool:
        """Insert in id order; False if it was already there."""
        if any(existing.id == message.id for existing in self.messages[-200:]):
            return False
        if self.messages and message.id < self.messages[-1].id:
            if any(existing.id == message.id for existing in self.messages):
                return False
            self.messages.append(message)
            self.messages.sort(key=lambda m: m.id)
        else:
            self.messages.append(message)
        return True

    @property
    def oldest_id(self) -> int | None:
        """The id of the oldest message held (for loading older ones)."""
        return self.messages[0].id if self.messages else None

    @property
    def newest_id(self) -> int:
        """The id of the newest message held, 0 if none."""
        return self.messages[-1].id if self.messages else 0

    @property
    def last_activity(self) -> int:
        """The id of the newest message known, held or reported by the server (for sorting)."""
        return max(self.newest_id, self.last_id)


@dataclass(frozen=True)
class DaySeparator:
    """A line between the messages of two days."""

    day: date


@dataclass(frozen=True)
class TimelineMessage:
    """A message as the message view shows it."""

    sender: str
    clock: str
    text: str
    mine: bool
    outgoing: bool = False
    """One of ours not yet stored: being sent, or refused (then ``error`` says why)."""
    error: str | None = None
    mentions_me: bool = False
    nonce: str | None = None
    """Set on our outgoing messages."""
    id: int | None = None
    """The server's id of a stored message (None while outgoing): what a later
    feature (editing, replying, a link to a message) names it by."""
    file: FileInfo | None = None
    """The file the message carries: a thumbnail for a picture, else a card."""


@dataclass
class Transfer:
    """A file on its way to the server (``upload``) or from it (``download``).

    ``shown`` is False for the copies of pictures the client fetches to draw
    thumbnails: those get no progress bar.
    """

    key: str
    """The network thread's key for it (``NetworkThread.send_file`` / ``get_file``)."""
    direction: str
    name: str
    total: int
    conversation: ConversationKey | None = None
    file: FileInfo | None = None
    """The file downloaded (None for an upload)."""
    destination: Path | None = None
    done: int = 0
    shown: bool = True


TimelineItem = DaySeparator | TimelineMessage
Listener = Callable[[str, object], None]
"""Called with what changed: "rooms", "conversation" (a key), "presence", "connection",
"notice", "transfers"."""


def mentions(text: str, login: str) -> bool:
    """Whether ``text`` names ``login`` (``@login`` or the login as a word, any case)."""
    return re.search(rf"(?<![\w.-])@?{re.escape(login)}(?![\w-])", text, re.IGNORECASE) is not None


class ChatModel:
    """The client's state (owned by the Tk thread)."""

    def __init__(self) -> None:
        self.me: str | None = None
        self.my_status = Status.ONLINE
        self.rooms: dict[str, Room] = {}
        self.conversations: dict[ConversationKey, Conversation] = {}
        self.outgoing: dict[str, OutgoingMessage] = {}
        self.online: dict[str, Status] = {}
        self.selected: ConversationKey | None = None
        self.connection_state = "offline"
        """``connecting``, ``online`` or ``offline``, as the network thread last said."""
        self.notices: list[str] = []
        self.transfers: dict[str, Transfer] = {}
        """Files being sent or fetched, by the network thread's key, oldest first."""
        self.listeners: list[Listener] = []

    # ---- notifications --------------------------------------------------------

    def _changed(self, what: str, detail: object = None) -> None:
        for listener in list(self.listeners):
            listener(what, detail)

    def notice(self, text: str) -> None:
        """A message for the user (access granted, kicked, server stopping...)."""
        self.notices.append(text)
        self._changed("notice", text)

    def set_connection_state(self, state: str) -> None:
        """``connecting``, ``online``, ``offline``..., shown in the status bar."""
        self.connection_state = state
        self._changed("connection", state)

    # ---- session ------------------------------------------------------------------

    def start_session(self, me: str, rooms: list[Room], online: list[Presence]) -> None:
        """A login or resume succeeded: rooms and presence as the server says."""
        self.me = me
        self.rooms = {room.name: room for room in rooms}
        self.online = {p.login: p.status for p in online if p.status is not Status.OFFLINE}
        for room in rooms:
            if room.member:
                self.conversation(ConversationKey.room(room.name))
        if self.selected is None:
            self.selected = ConversationKey.room(rooms[0].name) if rooms else None
        self._changed("rooms")
        self._changed("presence")

    def conversation(self, key: ConversationKey) -> Conversation:
        """The conversation of that key (created empty when new)."""
        if key not in self.conversations:
            self.conversations[key] = Conversation(key)
        return self.conversations[key]

    def direct_conversations(self) -> list[Conversation]:
        """Direct conversations, most recent first."""
        directs = [c for c in self.conversations.values() if c.key.kind == "dm"]
        return sorted(directs, key=lambda c: -c.last_activity)

    # ---- read state kept by the server -----------------------------------------------

    @staticmethod
    def key_of_state(state: ConversationState) -> ConversationKey:
        """The conversation a server's ``ConversationState`` is about."""
        if state.room is not None:
            return ConversationKey.room(state.room)
        return ConversationKey.direct(state.with_user or "")

    def _take_state(self, state: ConversationState) -> ConversationKey:
        key = self.key_of_state(state)
        conversation = self.conversation(key)
        conversation.last_id = max(conversation.last_id, state.last_id)
        conversation.read_up_to = max(conversation.read_up_to, state.read)
        if key == self.selected or state.read >= conversation.last_activity:
            conversation.unread = 0  # on screen, or read up to the newest message we know
        else:
            conversation.unread = state.unread
        if conversation.unread == 0:
            conversation.mentioned = False
        return key

    def apply_conversations(self, states: list[ConversationState]) -> None:
        """The server's list (CONVERSATIONS): direct conversations appear, with its counts."""
        for state in states:
            self._take_state(state)
        self._changed("rooms")

    def apply_read_state(self, state: ConversationState) -> None:
        """A conversation was read (a READ reply, or READ_STATE: read on another computer)."""
        self._take_state(state)
        self._changed("rooms")

    def read_to_send(self, key: ConversationKey) -> int | None:
        """The message id to send READ with for a conversation on screen, None when nothing new.

        Call it when the user sees the conversation (opened, or a message
        arrived in it, or history loaded). It records the id as read, so the
        same READ is not sent twice.
        """
        if key != self.selected or (key.kind == "room" and not self._is_member(key.name)):
            return None
        conversation = self.conversations.get(key)
        if conversation is None or conversation.newest_id <= conversation.read_up_to:
            return None
        conversation.read_up_to = conversation.newest_id
        return conversation.newest_id

    def _is_member(self, room_name: str) -> bool:
        room = self.rooms.get(room_name)
        return room is not None and room.member

    # ---- selection ------------------------------------------------------------------

    def select(self, key: ConversationKey) -> None:
        """Show a conversation: its unread count and mention marker are cleared."""
        self.selected = key
        conversation = self.conversation(key)
        conversation.unread = 0
        conversation.mentioned = False
        self._changed("rooms")
        self._changed("conversation", key)

    # ---- messages ----------------------------------------------------------------------

    def key_of(self, message: ChatMessage) -> ConversationKey:
        """The conversation a message belongs to."""
        if message.room is not None:
            return ConversationKey.room(message.room)
        other = message.recipient if message.sender == self.me else message.sender
        return ConversationKey.direct(other or message.sender)

    def receive(self, message: ChatMessage) -> bool:
        """A live message. Returns whether it deserves a notification (DM or mention)."""
        key = self.key_of(message)
        conversation = self.conversation(key)
        if not conversation.add(message):
            return False
        mine = message.sender == self.me
        named = not mine and self.me is not None and mentions(message.text, self.me)
        if key != self.selected and not mine:
            conversation.unread += 1
            conversation.mentioned = conversation.mentioned or named
        self._changed("rooms")
        self._changed("conversation", key)
        return not mine and (key.kind == "dm" or named)

    def add_history(
        self, key: ConversationKey, messages: list[ChatMessage], more: bool, *, older: bool
    ) -> None:
        """A page of history: older pages say whether even older ones exist."""
        conversation = self.conversation(key)
        for message in messages:
            conversation.add(message)
        if older or not conversation.loaded:
            conversation.more_history = more
        conversation.loaded = True
        self._changed("conversation", key)

    def queue_outgoing(self, key: ConversationKey, text: str, nonce: str) -> OutgoingMessage:
        """The user sent a message: shown as being sent until acknowledged."""
        outgoing = OutgoingMessage(nonce, key, text)
        self.outgoing[nonce] = outgoing
        self._changed("conversation", key)
        return outgoing

    def acknowledged(self, nonce: str, message: ChatMessage) -> None:
        """The server stored a message we sent."""
        outgoing = self.outgoing.pop(nonce, None)
        key = outgoing.key if outgoing else self.key_of(message)
        self.conversation(key).add(message)
        if outgoing is not None:  # a message refused after this one was written stays below it
            for other in self.outgoing.values():
                later = other.created >= outgoing.created
                if other.key == key and other.error is not None and later:
                    other.failed_after = max(other.failed_after, message.id)
        self._changed("conversation", key)

    def refused(self, nonce: str, reason: str) -> None:
        """The server refused a message for good (too long, not a member...)."""
        outgoing = self.outgoing.get(nonce)
        if outgoing is not None:
            outgoing.error = reason
            outgoing.failed_after = self.conversation(outgoing.key).newest_id
            self._changed("conversation", outgoing.key)

    def retry(self, nonce: str) -> OutgoingMessage | None:
        """Send a failed message again: being sent once more, at the bottom."""
        outgoing = self.outgoing.get(nonce)
        if outgoing is None or outgoing.error is None:
            return None
        outgoing.error, outgoing.failed_after, outgoing.created = None, 0, time.time()
        self._changed("conversation", outgoing.key)
        return outgoing

    def discard(self, nonce: str) -> None:
        """Forget a failed message (the user deleted it)."""
        outgoing = self.outgoing.pop(nonce, None)
        if outgoing is not None:
            self._changed("conversation", outgoing.key)

    def outgoing_in(self, key: ConversationKey) -> list[OutgoingMessage]:
        """Our messages in that conversation not yet stored (sending or refused), oldest first."""
        return sorted((o for o in self.outgoing.values() if o.key == key), key=lambda o: o.created)

    # ---- files (issue 18) --------------------------------------------------------------

    def transfer_started(self, transfer: Transfer) -> None:
        """A file began to go up or down."""
        self.transfers[transfer.key] = transfer
        self._changed("transfers", transfer.key)

    def transfer_progressed(self, key: str, done: int, total: int) -> None:
        """More of a file went through."""
        transfer = self.transfers.get(key)
        if transfer is not None:
            transfer.done, transfer.total = done, total
            self._changed("transfers", key)

    def transfer_ended(self, key: str) -> Transfer | None:
        """A transfer is over (done, failed or cancelled): its progress bar goes away."""
        transfer = self.transfers.pop(key, None)
        if transfer is not None:
            self._changed("transfers", key)
        return transfer

    def redraw_selected(self) -> None:
        """Have the conversation on screen drawn again (a thumbnail's picture arrived)."""
        if self.selected is not None:
            self._changed("conversation", self.selected)

    def shown_transfers(self) -> list[Transfer]:
        """The transfers that get a progress bar, oldest first."""
        return [t for t in self.transfers.values() if t.shown]

    def fetching(self, file: FileInfo) -> bool:
        """Whether a copy of this picture is being fetched already (for its thumbnail)."""
        return any(
            not t.shown and t.file is not None and t.file.sha256 == file.sha256
            for t in self.transfers.values()
        )

    # ---- rooms and people ------------------------------------------------------------

    def room_joined(self, room: Room) -> None:
        """We are a member now."""
        self.rooms[room.name] = room
        self.conversation(ConversationKey.room(room.name))
        self._changed("rooms")

    def room_pending(self, name: str) -> None:
        """Our request to join is waiting for an admin."""
        room = self.rooms.get(name)
        if room is not None:
            self.rooms[name] = Room(room.name, room.access, room.member, True)
        self._changed("rooms")

    def access_decided(self, name: str, granted: bool) -> None:
        """An admin decided our request."""
        room = self.rooms.get(name)
        if room is not None:
            self.rooms[name] = Room(room.name, room.access, granted, False)
        if granted:
            self.conversation(ConversationKey.room(name))
        self._changed("rooms")

    def set_presence(self, presence: Presence) -> None:
        """Someone came, left or changed status."""
        if presence.status is Status.OFFLINE:
            self.online.pop(presence.login, None)
        else:
            self.online[presence.login] = presence.status
        if presence.login == self.me and presence.status is not Status.OFFLINE:
            self.my_status = presence.status
        self._changed("presence")

    def online_users(self) -> list[tuple[str, Status]]:
        """Who is online, by login."""
        return sorted(self.online.items(), key=lambda item: item[0].casefold())

    def room_badge(self, room: Room) -> str:
        """The state a sidebar shows next to a room's name."""
        conversation = self.conversations.get(ConversationKey.room(room.name))
        if room.member:
            if conversation and conversation.unread:
                marker = "@ " if conversation.mentioned else ""
                return f"{marker}{conversation.unread}"
            return ""
        if room.pending:
            return "pending"
        return "🔒" if room.access is RoomAccess.APPROVAL else "join"

    # ---- the message view ----------------------------------------------------------------

    def timeline(self, key: ConversationKey) -> list[TimelineItem]:
        """What the message view shows: day separators, messages, then our outgoing ones.

        A refused message stays where the server refused it (after the messages
        stored before); what is stored later comes below it.
        """
        items: list[TimelineItem] = []
        last_day: date | None = None
        conversation = self.conversations.get(key) or Conversation(key)
        ours = self.outgoing_in(key)
        failed = [o for o in ours if o.error is not None]
        sending = [o for o in ours if o.error is None]
        for message in conversation.messages:
            while failed and failed[0].failed_after < message.id:
                last_day = self._add_outgoing(items, failed.pop(0), last_day)
            moment = datetime.fromtimestamp(message.ts / 1000)
            if moment.date() != last_day:
                last_day = moment.date()
                items.append(DaySeparator(last_day))
            mine = message.sender == self.me
            named = not mine and self.me is not None and mentions(message.text, self.me)
            items.append(
                TimelineMessage(
                    message.sender,
                    moment.strftime("%H:%M"),
                    message.text,
                    mine,
                    mentions_me=named,
                    id=message.id,
                    file=message.file,
                )
            )
        for outgoing in sorted(failed + sending, key=lambda o: o.created):
            last_day = self._add_outgoing(items, outgoing, last_day)
        return items

    def _add_outgoing(
        self, items: list[TimelineItem], outgoing: OutgoingMessage, last_day: date | None
    ) -> date | None:
        moment = datetime.fromtimestamp(outgoing.created)
        if moment.date() != last_day:
            last_day = moment.date()
            items.append(DaySeparator(last_day))
        items.append(
            TimelineMessage(
                self.me or "",
                moment.strftime("%H:%M"),
                outgoing.text,
                True,
                outgoing=True,
                error=outgoing.error,
                nonce=outgoing.nonce,
            )
        )
        return last_day
