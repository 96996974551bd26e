"""What the client shows, without a display: ChatModel alone."""

from __future__ import annotations

from datetime import datetime

from guigui.client.model import ChatModel, ConversationKey, DaySeparator, TimelineMessage, mentions
from guigui.common.objects import ChatMessage, ConversationState, Presence, Room
from guigui.common.protocol import RoomAccess, Status

GENERAL, BLABLA = ConversationKey.room("Général"), ConversationKey.room("Blabla")
ROOMS = [
    Room("Général", RoomAccess.OPEN, True, False),
    Room("Blabla", RoomAccess.ON_REQUEST, True, False),
    Room("Informatique", RoomAccess.APPROVAL, False, False),
    Room("Marketing", RoomAccess.APPROVAL, False, True),
]


def ms(year: int, month: int, day: int, hour: int = 12) -> int:
    return int(datetime(year, month, day, hour).timestamp() * 1000)


def model() -> tuple[ChatModel, list[tuple[str, object]]]:
    chat = ChatModel()
    changes: list[tuple[str, object]] = []
    chat.listeners.append(lambda what, detail: changes.append((what, detail)))
    chat.start_session(
        "alice", ROOMS, [Presence("alice", Status.ONLINE), Presence("bob", Status.AWAY)]
    )
    return chat, changes


def say(message_id: int, text: str, sender: str = "bob", room: str | None = "Général",
        to: str | None = None, ts: int | None = None) -> ChatMessage:  # fmt: skip
    return ChatMessage(message_id, room, sender, to, text, ts or ms(2026, 11, 24))


def test_session_selects_the_arrival_room_and_lists_presence() -> None:
    chat, _ = model()
    assert chat.selected == GENERAL
    assert chat.online_users() == [("alice", Status.ONLINE), ("bob", Status.AWAY)]


def test_room_badges() -> None:
    chat, _ = model()
    badges = {room.name: chat.room_badge(room) for room in chat.rooms.values()}
    assert badges == {"Général": "", "Blabla": "", "Informatique": "🔒", "Marketing": "pending"}


def test_unread_counts_and_mentions_outside_the_selected_room() -> None:
    chat, _ = model()
    assert chat.receive(say(1, "hello", room="Blabla")) is False
    assert chat.receive(say(2, "@alice look", room="Blabla")) is True
    conversation = chat.conversation(BLABLA)
    assert (conversation.unread, conversation.mentioned) == (2, True)
    assert chat.room_badge(chat.rooms["Blabla"]) == "@ 2"
    chat.select(BLABLA)
    assert (conversation.unread, conversation.mentioned) == (0, False)
    assert chat.receive(say(3, "in view", room="Blabla")) is False
    assert conversation.unread == 0


def test_direct_messages_notify_and_are_keyed_by_the_other_user() -> None:
    chat, _ = model()
    assert chat.receive(say(1, "psst", room=None, to="alice")) is True
    assert chat.receive(say(2, "mine", sender="alice", room=None, to="bob")) is False
    [direct] = chat.direct_conversations()
    assert direct.key == ConversationKey.direct("bob") and [m.id for m in direct.messages] == [1, 2]
    assert direct.unread == 1


def test_duplicates_are_ignored_and_order_is_by_id() -> None:
    chat, _ = model()
    chat.receive(say(5, "five"))
    chat.add_history(
        GENERAL, [say(3, "three"), say(4, "four"), say(5, "five")], more=True, older=True
    )
    assert [m.id for m in chat.conversation(GENERAL).messages] == [3, 4, 5]
    assert chat.conversation(GENERAL).oldest_id == 3 and chat.conversation(GENERAL).more_history


def test_outgoing_messages_until_acknowledged_or_refused() -> None:
    chat, _ = model()
    chat.queue_outgoing(GENERAL, "on its way", "n1")
    chat.queue_outgoing(GENERAL, "too long", "n2")
    first = chat.timeline(GENERAL)[1]
    assert isinstance(first, TimelineMessage) and first.outgoing and first.mine
    chat.refused("n2", "a message has at most 4000 characters")
    timeline = chat.timeline(GENERAL)
    assert isinstance(timeline[-1], TimelineMessage) and timeline[-1].error
    chat.acknowledged("n1", say(9, "on its way", sender="alice"))
    shown = [i for i in chat.timeline(GENERAL) if isinstance(i, TimelineMessage)]
    assert [(i.text, i.outgoing, i.id) for i in shown] == [
        ("on its way", False, 9),  # stored: shown with the server's id
        ("too long", True, None),
    ]


def test_timeline_has_day_separators() -> None:
    chat, _ = model()
    chat.receive(say(1, "monday", ts=ms(2026, 11, 23)))
    chat.receive(say(2, "tuesday", ts=ms(2026, 11, 24, 9)))
    chat.receive(say(3, "tuesday again", ts=ms(2026, 11, 24, 10)))
    kinds = [type(item).__name__ for item in chat.timeline(GENERAL)]
    assert kinds == [
        "DaySeparator",
        "TimelineMessage",
        "DaySeparator",
        "TimelineMessage",
        "TimelineMessage",
    ]
    first = chat.timeline(GENERAL)[0]
    assert isinstance(first, DaySeparator) and first.day.day == 23


def test_access_decisions_and_presence() -> None:
    chat, changes = model()
    chat.room_pending("Informatique")
    assert chat.room_badge(chat.rooms["Informatique"]) == "pending"
    chat.access_decided("Informatique", True)
    assert (
        chat.rooms["Informatique"].member
        and ConversationKey.room("Informatique") in chat.conversations
    )
    chat.set_presence(Presence("bob", Status.OFFLINE))
    assert "bob" not in chat.online
    assert ("presence", None) in changes and ("rooms", None) in changes


def test_mentions_are_whole_words() -> None:
    assert mentions("hi @Alice!", "alice")
    assert mentions("alice, look", "alice")
    assert not mentions("malice aforethought", "alice")
    assert not mentions("alice_b", "alice")


# ---- read state kept by the server ------------------------------------------------------


def state(room: str | None = None, with_user: str | None = None, last_id: int = 0,
          read: int = 0, unread: int = 0) -> ConversationState:  # fmt: skip
    return ConversationState(room, with_user, last_id, 1 if last_id else None, read, unread)


def test_the_server_fills_the_direct_list_and_the_counts_after_login() -> None:
    chat, changes = model()  # Général selected
    assert chat.direct_conversations() == []
    chat.apply_conversations(
        [
            state("Général", last_id=9, read=7, unread=2),
            state("Blabla", last_id=8, read=5, unread=3),
            state(with_user="carol", last_id=6, read=6),
            state(with_user="bob", last_id=4, read=3, unread=1),
        ]
    )
    assert [c.key.name for c in chat.direct_conversations()] == ["carol", "bob"]
    assert chat.conversation(GENERAL).unread == 0  # on screen
    assert chat.room_badge(ROOMS[1]) == "3"
    assert chat.conversation(ConversationKey.direct("bob")).unread == 1
    assert ("rooms", None) in changes
    # A live message makes bob's conversation the most recent
    chat.receive(say(10, "re", to="alice", room=None))
    assert [c.key.name for c in chat.direct_conversations()] == ["bob", "carol"]
    assert chat.conversation(ConversationKey.direct("bob")).unread == 2


def test_read_elsewhere_clears_the_count_here() -> None:
    chat, _ = model()
    chat.receive(say(3, "salut alice", room="Blabla"))
    blabla = chat.conversation(BLABLA)
    assert (blabla.unread, blabla.mentioned) == (1, True)
    chat.apply_read_state(state("Blabla", last_id=3, read=3))
    assert (blabla.unread, blabla.mentioned) == (0, False)
    # Read up to an older message elsewhere: the server's count stands
    chat.receive(say(4, "one", room="Blabla"))
    chat.receive(say(5, "two", room="Blabla"))
    chat.apply_read_state(state("Blabla", last_id=5, read=4, unread=1))
    assert blabla.unread == 1


def test_read_to_send_once_per_new_message_on_screen() -> None:
    chat, _ = model()
    assert chat.read_to_send(GENERAL) is None  # nothing held
    chat.add_history(GENERAL, [say(1, "a"), say(2, "b")], False, older=False)
    assert chat.read_to_send(GENERAL) == 2
    assert chat.read_to_send(GENERAL) is None  # already sent
    chat.receive(say(3, "c"))
    assert chat.read_to_send(GENERAL) == 3
    chat.receive(say(4, "d", room="Blabla"))
    assert chat.read_to_send(BLABLA) is None  # not on screen
    chat.select(BLABLA)
    assert chat.read_to_send(BLABLA) == 4
    chat.apply_conversations([state("Blabla", last_id=4, read=4)])
    assert chat.read_to_send(BLABLA) is None
    informatique = ConversationKey.room("Informatique")
    chat.conversation(informatique).add(say(5, "x", room="Informatique"))
    chat.select(informatique)
    assert chat.read_to_send(informatique) is None  # not a member: the server would refuse
