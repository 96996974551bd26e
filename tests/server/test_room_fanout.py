"""RoomFanout alone: what each connection receives, and in which order."""

from __future__ import annotations

from typing import Any, cast

from guigui.server.connection import Connection
from guigui.server.room_fanout import RoomFanout


class Recorder:
    """Stands for a connection: records the chunks it is given."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.chunks: list[bytes] = []

    def send(self, data: bytes) -> None:
        self.chunks.append(data)

    @property
    def received(self) -> bytes:
        return b"".join(self.chunks)


def as_connections(*recorders: Recorder) -> set[Connection]:
    return cast(set[Connection], set(recorders))


def conn(recorder: Recorder) -> Connection:
    return cast(Connection, cast(Any, recorder))


def test_a_run_of_messages_reaches_each_reader_as_one_chunk() -> None:
    fanout = RoomFanout()
    alice, bob, carol = Recorder("alice"), Recorder("bob"), Recorder("carol")
    room = as_connections(alice, bob, carol)
    fanout.add(1, room, conn(alice), b"[m1]", b"<ok1>")
    fanout.add(1, room, conn(bob), b"[m2]", b"<ok2>")
    fanout.add(1, room, conn(alice), b"[m3]", b"<ok3>")
    assert not carol.chunks  # nothing is written before the flush
    fanout.flush()
    assert not fanout.pending
    assert carol.chunks == [b"[m1][m2][m3]"]
    assert alice.chunks == [b"<ok1>[m2]<ok3>"]  # its own messages replaced by its replies
    assert bob.chunks == [b"[m1]<ok2>[m3]"]
    fanout.flush()  # nothing waits any more
    assert carol.chunks == [b"[m1][m2][m3]"]


def test_a_message_for_another_room_sends_the_first_run_before() -> None:
    fanout = RoomFanout()
    alice, bob = Recorder("alice"), Recorder("bob")
    fanout.add(1, as_connections(alice, bob), conn(alice), b"[r1]", b"<ok1>")
    fanout.add(2, as_connections(bob), conn(alice), b"[r2]", b"<ok2>")
    assert bob.chunks == [b"[r1]"]
    fanout.flush()
    assert bob.received == b"[r1][r2]"
    assert alice.received == b"<ok1><ok2>"  # not in room 2's audience: its reply only


def test_a_sender_gone_from_the_audience_still_gets_its_reply_only() -> None:
    fanout = RoomFanout()
    alice, bob = Recorder("alice"), Recorder("bob")
    fanout.add(1, as_connections(bob), conn(alice), b"[m1]", b"<ok1>")
    fanout.add(1, as_connections(bob), conn(bob), b"[m2]", b"<ok2>")
    fanout.flush()
    assert alice.received == b"<ok1>"
    assert bob.received == b"[m1]<ok2>"
