"""The room rules, without sockets or SQL."""

from __future__ import annotations

import pytest

from guigui.common.errors import ProtocolError
from guigui.common.protocol import ErrorCode, RoomAccess
from guigui.server.core.rooms import JoinOutcome, RoomDirectory
from guigui.server.store.base import AccessRequestRecord, RoomRecord

GENERAL = RoomRecord(1, "Général", RoomAccess.OPEN)
BLABLA = RoomRecord(2, "Blabla", RoomAccess.ON_REQUEST)
IT = RoomRecord(4, "Informatique", RoomAccess.APPROVAL)
ALICE = 10


@pytest.fixture
def rooms() -> RoomDirectory:
    directory = RoomDirectory()
    for room in (GENERAL, BLABLA, IT):
        directory.add_room(room)
    directory.add_member(ALICE, GENERAL.id)
    return directory


def code_of(error: pytest.ExceptionInfo[ProtocolError]) -> ErrorCode:
    return error.value.code


def test_arrival_room_is_the_open_one(rooms: RoomDirectory) -> None:
    assert rooms.arrival_room() == GENERAL


def test_unknown_room(rooms: RoomDirectory) -> None:
    with pytest.raises(ProtocolError) as error:
        rooms.require("Cuisine")
    assert code_of(error) is ErrorCode.NO_SUCH_ROOM


def test_on_request_room_is_joined_at_once(rooms: RoomDirectory) -> None:
    assert rooms.check_join(ALICE, BLABLA) is JoinOutcome.JOIN_NOW


def test_approval_room_needs_a_request(rooms: RoomDirectory) -> None:
    assert rooms.check_join(ALICE, IT) is JoinOutcome.REQUEST_ACCESS


def test_joining_twice_is_refused(rooms: RoomDirectory) -> None:
    with pytest.raises(ProtocolError) as error:
        rooms.check_join(ALICE, GENERAL)
    assert code_of(error) is ErrorCode.ALREADY_MEMBER


def test_a_pending_request_blocks_another(rooms: RoomDirectory) -> None:
    rooms.add_pending(AccessRequestRecord(7, ALICE, IT.id, "pending", 0))
    with pytest.raises(ProtocolError) as error:
        rooms.check_join(ALICE, IT)
    assert code_of(error) is ErrorCode.ALREADY_PENDING
    view = rooms.view_for(ALICE, IT)
    assert view.pending and not view.member


def test_granting_makes_a_member(rooms: RoomDirectory) -> None:
    rooms.add_pending(AccessRequestRecord(7, ALICE, IT.id, "pending", 0))
    rooms.settle(7, granted=True)
    assert rooms.is_member(ALICE, IT.id)
    assert not rooms.is_pending(ALICE, IT.id)
    assert rooms.pending_requests() == []


def test_refusing_leaves_the_user_out_and_free_to_ask_again(rooms: RoomDirectory) -> None:
    rooms.add_pending(AccessRequestRecord(7, ALICE, IT.id, "pending", 0))
    rooms.settle(7, granted=False)
    assert not rooms.is_member(ALICE, IT.id)
    assert rooms.check_join(ALICE, IT) is JoinOutcome.REQUEST_ACCESS


def test_unknown_request(rooms: RoomDirectory) -> None:
    with pytest.raises(LookupError):
        rooms.require_pending(99)


def test_nobody_leaves_the_arrival_room(rooms: RoomDirectory) -> None:
    with pytest.raises(ProtocolError) as error:
        rooms.check_leave(ALICE, GENERAL)
    assert code_of(error) is ErrorCode.CANNOT_LEAVE


def test_leaving_a_room_one_is_not_in(rooms: RoomDirectory) -> None:
    with pytest.raises(ProtocolError) as error:
        rooms.check_leave(ALICE, BLABLA)
    assert code_of(error) is ErrorCode.NOT_MEMBER


def test_views_follow_display_order(rooms: RoomDirectory) -> None:
    views = rooms.views_for(ALICE)
    assert [view.name for view in views] == ["Général", "Blabla", "Informatique"]
    assert [view.member for view in views] == [True, False, False]
