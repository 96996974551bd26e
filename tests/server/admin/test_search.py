"""The admin's message search: criteria checks and one-line display, without a server."""

from __future__ import annotations

import pytest

from guigui.server.admin.search import MAX_SEARCH_LIMIT, FoundMessage, MessageSearch, one_line


def test_a_search_names_a_login_or_an_ip_not_both() -> None:
    assert MessageSearch.checked(login="alice").target == "login alice"
    by_ip = MessageSearch.checked(ip="2001:DB8:0::1", room="Général", limit=5)
    assert by_ip.ip == "2001:db8::1" and by_ip.target == "ip 2001:db8::1"
    assert by_ip.details == "room Général, limit 5"
    for login, ip in ((None, None), ("alice", "10.0.0.1")):
        with pytest.raises(ValueError, match="one of the two"):
            MessageSearch.checked(login, ip)


@pytest.mark.parametrize(
    ("login", "ip", "limit", "why"),
    [
        ("no spaces", None, 10, "is not a login"),
        (None, "10.0.0.256", 10, "is not an IP address"),
        (None, "x" * 10_000, 10, "is not an IP address"),
        ("alice", None, 0, "from 1 to"),
        ("alice", None, MAX_SEARCH_LIMIT + 1, "from 1 to"),
    ],
)
def test_bad_criteria_are_refused_with_a_reason(
    login: str | None, ip: str | None, limit: int, why: str
) -> None:
    with pytest.raises(ValueError, match=why) as refused:
        MessageSearch.checked(login, ip, None, limit)
    assert len(str(refused.value)) < 200  # hostile input is quoted short


def test_one_line_escapes_terminal_controls_and_line_breaks() -> None:
    assert one_line("a\x1b[2Jb\r\nc\td\u202ee\u0085") == r"a\x1b[2Jb\x0d\nc\td\u202ee\x85"
    assert one_line("Ça va ? 😀") == "Ça va ? 😀"


def test_a_found_message_says_where_it_was_said() -> None:
    in_room = FoundMessage(1, 0, "Général", None, "alice", "10.0.0.1", "hi")
    direct = FoundMessage(2, 0, None, "bob", "alice", None, "hi")
    assert (in_room.place, direct.place) == ("Général", "to bob")
