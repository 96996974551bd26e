"""Delivery: who receives what, once the store has it.

``Delivery.messages_saved`` is where a stored message becomes frames: the
store worker hands it every group commit, in one call on the loop thread
(``StoreWorker``'s ``messages_saved``), and it answers each sender and gives
every reader its MESSAGE events, in the order the messages were stored.

Why a whole group commit at once: profiling scenario A-max of the benchmark
(100 readers, 20,000 messages/s) showed the loop thread saturated by the
fan-out itself; giving each of n readers each of k messages costs k·n calls
to ``Connection.send``, most of it Python call overhead. Consecutive messages
for one room (a *run*) are therefore joined once into ONE chunk shared by all
the room's readers, so k messages cost one join and n appends. A sender gets
its own chunk in which each of its messages is replaced by its reply (``OK``),
since nobody hears back their own message.

Order is what sending one by one would give, for every connection, because
nothing else runs while this does: a run ends at the first message for
another room, a direct message, a failure or a repeated nonce, and is written
out before that one is handled. The audience is the room's sessions at the
moment the batch comes back.

The other fan-outs (presence, read state, moderation's notices) go through
``send_to`` and ``to_everyone``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

from guigui.common.messages import MessageEvent, MessageOk, PresenceEvent, encode
from guigui.common.objects import ChatMessage, FileInfo, Presence
from guigui.server.announcements import Announcements
from guigui.server.connection import Connection
from guigui.server.core.accounts import UserDirectory
from guigui.server.core.rooms import RoomDirectory
from guigui.server.replies import error_for, reject, reply
from guigui.server.sessions import SessionRegistry
from guigui.server.store import FileRecord, StoredMessage
from guigui.server.workers import SavedMessage


def file_info(file: FileRecord) -> FileInfo:
    """The protocol's ``FileInfo`` of a stored file: what a client shows and checks."""
    return FileInfo(file.id, file.name, file.size, file.type, file.sha256)


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent a message, to be answered once it is stored: a connection and its request."""

    connection: Connection
    request_id: int


class Delivery:
    """Hands stored messages and events to the sessions that should receive them."""

    def __init__(
        self,
        sessions: SessionRegistry,
        rooms: RoomDirectory,
        users: UserDirectory,
        announce: Announcements,
    ) -> None:
        self.sessions = sessions
        self.rooms = rooms
        self.users = users
        self.announce = announce
        """Tells the other nodes of a cluster of each new message (nobody, on a single node)."""
        self.messages_stored = 0
        """Messages stored since start (for the admin's live figures)."""

    def public_message(self, message: StoredMessage) -> ChatMessage:
        """The protocol's ``Message`` for a stored message (names instead of ids), with its file."""
        return ChatMessage(
            id=message.id,
            room=None if message.room_id is None else self.rooms.get(message.room_id).name,
            sender=self.users.get(message.sender_id).login,
            recipient=(
                None if message.recipient_id is None else self.users.get(message.recipient_id).login
            ),
            text=message.text,
            ts=message.ts,
            file=None if message.file is None else file_info(message.file),
        )

    # ---- messages, once stored -----------------------------------------------

    def messages_saved(self, saved: Sequence[SavedMessage[Sender]]) -> None:
        """Answer every sender of a group commit and deliver its new messages, in order."""
        new: list[StoredMessage] = []  # for the other nodes of a cluster
        run: list[tuple[Connection, bytes, bytes]] = []  # (sender, event, reply) for one room
        run_room: int | None = None
        for item in saved:
            connection, request_id = item.sender.connection, item.sender.request_id
            outcome = item.outcome
            stored = outcome if isinstance(outcome, StoredMessage) else None
            is_new = stored is not None and item.first_time
            if run and not (is_new and stored is not None and stored.room_id == run_room):
                self._hand_out_run(run_room, run)
                run = []
            if stored is None:
                assert isinstance(outcome, BaseException)
                reject(connection, request_id, error_for(outcome, connection))
                continue
            public = self.public_message(stored)
            if not is_new:  # a repeated nonce: delivered the first time, answered again
                reply(connection, MessageOk(request_id, public))
                continue
            self.messages_stored += 1
            new.append(stored)
            # Both frames fit in max_frame: the server checks at start that a
            # message of max_text characters does (ServerConfig).
            event, ok = encode(MessageEvent(public)), encode(MessageOk(request_id, public))
            if stored.room_id is None:
                self._hand_out_direct(stored, connection, event, ok)
            else:
                run_room = stored.room_id
                run.append((connection, event, ok))
        if run:
            self._hand_out_run(run_room, run)
        if new:
            self.announce.messages_saved(new)

    def _hand_out_run(
        self, room_id: int | None, run: list[tuple[Connection, bytes, bytes]]
    ) -> None:
        """Give every reader of the room the run's events in one chunk, each sender its OKs."""
        assert room_id is not None
        audience = self.sessions.in_room(room_id)
        sent_by = Counter(sender for sender, _, _ in run)
        shared = b"".join(event for _, event, _ in run)
        for connection in audience:
            if connection not in sent_by:
                connection.send(shared)
        for sender, count in sent_by.items():
            if sender in audience:
                own = b"".join(ok if who is sender else event for who, event, ok in run)
            else:  # it left the room meanwhile: its replies, not the room's messages
                own = b"".join(ok for who, _, ok in run if who is sender)
            sender.send(own)
            for _ in range(count):
                sender.request_answered()

    def _hand_out_direct(
        self, message: StoredMessage, sender: Connection, event: bytes, ok: bytes
    ) -> None:
        """The OK to the sender, the event to both users' other sessions."""
        sender.send(ok)
        sender.request_answered()
        audience = self._both_users(message)
        audience.discard(sender)
        self.send_to(audience, event)

    def _both_users(self, message: StoredMessage) -> set[Connection]:
        """The sessions of a direct message's sender and recipient (a new set)."""
        assert message.recipient_id is not None
        return self.sessions.of_user(message.recipient_id) | self.sessions.of_user(
            message.sender_id
        )

    def messages_from_another_node(self, messages: Sequence[StoredMessage]) -> None:
        """Messages stored by another node of the cluster: their MESSAGE to this node's readers.

        Their senders were answered by that node; here every session that
        should see them gets the events, in order: consecutive messages for one
        room as one chunk per reader (as ``messages_saved`` does), a direct
        message to both users' sessions.
        """
        for room_id, group in groupby(messages, key=lambda message: message.room_id):
            same_room = list(group)
            if room_id is not None:
                events = (encode(MessageEvent(self.public_message(m))) for m in same_room)
                self.send_to(self.sessions.in_room(room_id), b"".join(events))
                continue
            for message in same_room:  # direct messages
                event = encode(MessageEvent(self.public_message(message)))
                self.send_to(self._both_users(message), event)

    # ---- events --------------------------------------------------------------

    @staticmethod
    def send_to(connections: Iterable[Connection], data: bytes) -> None:
        """Send the same encoded frame to several connections (encoded once by the caller)."""
        for connection in connections:
            connection.send(data)

    def to_everyone(self, data: bytes, skip: Connection | None = None) -> None:
        """Send an encoded frame to every logged-in session (but ``skip``)."""
        self.send_to((c for c in self.sessions.all() if c is not skip), data)

    def presence(self, presence: Presence, skip: Connection | None = None) -> None:
        """PRESENCE to every logged-in session (but ``skip``)."""
        self.to_everyone(encode(PresenceEvent(presence.login, presence.status)), skip)
