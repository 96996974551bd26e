"""Delivery alone: what each connection receives from a group commit, and in which order.

The connections are stand-ins that record the frames given to them, decoded,
so a test reads as "alice got her OK, then bob's message".
"""

from __future__ import annotations

import json
from typing import Any, cast

from guigui.common.codec import FrameDecoder
from guigui.common.errors import ProtocolError
from guigui.common.messages import Error, encode
from guigui.common.protocol import ErrorCode, RoomAccess
from guigui.server.announcements import Announcements
from guigui.server.connection import Connection
from guigui.server.core.accounts import UserDirectory
from guigui.server.core.rooms import RoomDirectory
from guigui.server.delivery import Delivery, Sender
from guigui.server.handoff import Outcome
from guigui.server.sessions import SessionRegistry
from guigui.server.store import RoomRecord, StoredMessage, UserRecord
from guigui.server.workers import SavedMessage

GENERAL = RoomRecord(1, "Général", RoomAccess.OPEN)
BLABLA = RoomRecord(2, "Blabla", RoomAccess.ON_REQUEST)


class Recorder:
    """Stands for a connection: keeps the chunks sent to it and counts the answers."""

    max_frame = 65_536

    def __init__(self, name: str) -> None:
        self.name = name
        self.chunks: list[bytes] = []
        self.answered = 0

    def send(self, data: bytes) -> None:
        self.chunks.append(data)

    def request_answered(self) -> None:
        self.answered += 1

    def refuse(self, error: ProtocolError, request_id: int | None = None) -> None:
        self.send(encode(Error.of(error, request_id)))

    @property
    def peer(self) -> str:
        return self.name

    def frames(self) -> list[str]:
        """What it received, one word per frame: ``ok:3``, ``msg:3``, ``error:internal``."""
        decoder = FrameDecoder(1 << 20)
        decoder.feed(b"".join(self.chunks))
        words = []
        while (frame := decoder.next_frame()) is not None:
            body = json.loads(frame.payload)
            if "code" in body:
                words.append(f"error:{body['code']}")
            elif "id" in body:
                words.append(f"ok:{body['message']['id']}")
            else:
                words.append(f"msg:{body['message']['id']}")
        return words


def as_connection(recorder: Recorder) -> Connection:
    return cast(Connection, cast(Any, recorder))


class Told(Announcements):
    """Records the ids of the messages announced to the other nodes."""

    def __init__(self, told: list[int]) -> None:
        self.told = told

    def messages_saved(self, messages: list[StoredMessage]) -> None:
        self.told.extend(message.id for message in messages)


class Chat:
    """Three users online (alice, bob, carol), all in Général; only bob in Blabla."""

    def __init__(self) -> None:
        self.users, self.rooms, self.sessions = UserDirectory(), RoomDirectory(), SessionRegistry()
        self.told: list[int] = []
        self.delivery = Delivery(self.sessions, self.rooms, self.users, Told(self.told))
        self.online: dict[str, Recorder] = {}
        for room in (GENERAL, BLABLA):
            self.rooms.add_room(room)
        for user_id, login in enumerate(("alice", "bob", "carol"), start=1):
            self.users.add(UserRecord(user_id, login, "F", "L", f"{login}@x.org", b"", 0))
            self.rooms.add_member(user_id, GENERAL.id)
            rooms = [GENERAL.id] + ([BLABLA.id] if login == "bob" else [])
            self.online[login] = Recorder(login)
            self.sessions.open(as_connection(self.online[login]), user_id, rooms)

    def saved(
        self,
        login: str,
        message_id: int,
        *,
        room: RoomRecord | None = GENERAL,
        to: str | None = None,
        outcome: Outcome[StoredMessage] | None = None,
    ) -> SavedMessage[Sender]:
        """A message of ``login`` as the store worker hands it back (stored, unless told)."""
        sender = self.users.find(login)
        assert sender is not None
        recipient = None if to is None else self.users.find(to)
        message = StoredMessage(
            message_id,
            None if room is None else room.id,
            sender.id,
            None if recipient is None else recipient.id,
            f"text {message_id}",
            0,
            None,
            "10.0.0.1",
        )
        connection = as_connection(self.online[login])
        return SavedMessage(
            Sender(connection, 100 + message_id), message, outcome or message, outcome is None
        )


def test_a_run_of_messages_reaches_each_reader_as_one_chunk() -> None:
    chat = Chat()
    chat.delivery.messages_saved([chat.saved("alice", 1), chat.saved("bob", 2)])
    alice, bob, carol = (chat.online[name] for name in ("alice", "bob", "carol"))
    assert carol.frames() == ["msg:1", "msg:2"] and len(carol.chunks) == 1
    assert alice.frames() == ["ok:1", "msg:2"] and len(alice.chunks) == 1  # her OK in place
    assert bob.frames() == ["msg:1", "ok:2"]
    assert (alice.answered, bob.answered, carol.answered) == (1, 1, 0)
    assert chat.delivery.messages_stored == 2 and chat.told == [1, 2]  # for the other nodes


def test_another_room_or_a_direct_message_ends_the_run_in_order() -> None:
    chat = Chat()
    chat.delivery.messages_saved(
        [
            chat.saved("alice", 1),
            chat.saved("bob", 2, room=BLABLA),
            chat.saved("carol", 3, room=None, to="bob"),
            chat.saved("alice", 4),
        ]
    )
    assert chat.online["bob"].frames() == ["msg:1", "ok:2", "msg:3", "msg:4"]
    assert chat.online["carol"].frames() == ["msg:1", "ok:3", "msg:4"]  # not in Blabla
    assert chat.online["alice"].frames() == ["ok:1", "ok:4"]


def test_a_failure_is_answered_in_its_place_and_costs_nobody_else() -> None:
    chat = Chat()
    poisoned = ProtocolError(ErrorCode.INTERNAL, "the server could not store this message")
    chat.delivery.messages_saved(
        [
            chat.saved("alice", 1),
            chat.saved("alice", 2, outcome=poisoned),
            chat.saved("bob", 3),
        ]
    )
    assert chat.online["alice"].frames() == ["ok:1", "error:internal", "msg:3"]
    assert chat.online["carol"].frames() == ["msg:1", "msg:3"]
    assert chat.online["alice"].answered == 2 and chat.delivery.messages_stored == 2


def test_a_repeated_nonce_is_answered_again_and_told_to_nobody() -> None:
    chat = Chat()
    first = chat.saved("alice", 1)
    again = chat.saved("alice", 7, outcome=first.asked)  # the store returned the first one
    chat.delivery.messages_saved([again])
    assert chat.online["alice"].frames() == ["ok:1"]
    assert chat.online["bob"].frames() == [] and chat.delivery.messages_stored == 0
    assert chat.told == []  # nor the other nodes


def test_a_sender_gone_from_the_room_gets_its_replies_only() -> None:
    chat = Chat()
    alice = chat.online["alice"]
    chat.sessions.unsubscribe(1, GENERAL.id)  # she left Général while her message was stored
    chat.delivery.messages_saved([chat.saved("alice", 1), chat.saved("bob", 2)])
    assert alice.frames() == ["ok:1"]
    assert chat.online["carol"].frames() == ["msg:1", "msg:2"]


def test_a_message_from_another_node_reaches_this_nodes_readers_only() -> None:
    chat = Chat()
    stored = chat.saved("alice", 5, room=BLABLA).asked
    chat.delivery.messages_from_another_node([stored])
    assert chat.online["bob"].frames() == ["msg:5"]  # the only reader of Blabla here
    assert chat.online["alice"].frames() == [] and chat.told == []
    direct = chat.saved("carol", 6, room=None, to="alice").asked
    chat.delivery.messages_from_another_node([direct])
    assert chat.online["alice"].frames() == ["msg:6"] and chat.online["carol"].frames() == ["msg:6"]


def test_a_run_from_another_node_reaches_each_reader_as_one_chunk() -> None:
    chat = Chat()
    stored = [chat.saved("alice", n).asked for n in (7, 8)] + [
        chat.saved("bob", 9, room=BLABLA).asked
    ]
    chat.delivery.messages_from_another_node(stored)
    carol = chat.online["carol"]
    assert carol.frames() == ["msg:7", "msg:8"] and len(carol.chunks) == 1
    assert chat.online["bob"].frames() == ["msg:7", "msg:8", "msg:9"]
    assert len(chat.online["bob"].chunks) == 2  # one per run: Général, then Blabla
