"""Kicks and bans, without sockets or SQL."""

from __future__ import annotations

import pytest

from guigui.common.protocol import ErrorCode, SanctionKind
from guigui.server.core.sanctions import SanctionBook, parse_duration, sanction_error
from guigui.server.store.base import SanctionRecord

NOW = 1_000_000


def sanction(
    sanction_id: int,
    kind: SanctionKind,
    login: str | None = None,
    ip: str | None = None,
    until: int | None = None,
) -> SanctionRecord:
    return SanctionRecord(sanction_id, kind, login, ip, until, "spam", NOW - 10, "admin")


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("10m", 600), ("1h", 3600), ("2d", 172800), (" 5M ", 300)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "m", "0s", "1w", "-5m", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_login_ban_matches_case_insensitively() -> None:
    book = SanctionBook()
    book.add(sanction(1, SanctionKind.BAN, login="Alice"))
    assert book.blocking("alice", "10.0.0.1", NOW) is not None
    assert book.blocking("bob", "10.0.0.1", NOW) is None


def test_ip_ban_matches_any_login() -> None:
    book = SanctionBook()
    book.add(sanction(1, SanctionKind.BAN, ip="10.0.0.9"))
    assert book.blocking("bob", "10.0.0.9", NOW) is not None
    assert book.blocking(None, "10.0.0.9", NOW) is not None
    assert book.blocking("bob", "10.0.0.8", NOW) is None


def test_expired_kick_no_longer_blocks_and_is_forgotten() -> None:
    book = SanctionBook()
    book.add(sanction(1, SanctionKind.KICK, login="alice", until=NOW + 1000))
    assert book.blocking("alice", None, NOW) is not None
    assert book.blocking("alice", None, NOW + 1000) is None
    assert book.active(NOW + 1000) == []


def test_ban_wins_over_kick_and_permanent_over_timed() -> None:
    book = SanctionBook()
    book.add(sanction(1, SanctionKind.KICK, login="alice", until=NOW + 10_000))
    book.add(sanction(2, SanctionKind.BAN, login="alice", until=NOW + 5_000))
    book.add(sanction(3, SanctionKind.BAN, ip="10.0.0.1"))
    found = book.blocking("alice", "10.0.0.1", NOW)
    assert found is not None and found.id == 3


def test_lifting_by_target_and_kind() -> None:
    book = SanctionBook()
    book.add(sanction(1, SanctionKind.KICK, login="alice", ip="10.0.0.1", until=NOW + 10_000))
    book.add(sanction(2, SanctionKind.BAN, login="ALICE"))
    assert [s.id for s in book.targeting("alice", SanctionKind.BAN, NOW)] == [2]
    assert [s.id for s in book.targeting("10.0.0.1", None, NOW)] == [1]
    book.remove(2)
    assert [s.id for s in book.active(NOW)] == [1]


def test_errors_carry_until_and_reason() -> None:
    error = sanction_error(sanction(1, SanctionKind.KICK, login="a", until=NOW + 60_000))
    assert error.code is ErrorCode.KICKED
    assert error.details == {"until": NOW + 60_000, "reason": "spam"}
    assert sanction_error(sanction(2, SanctionKind.BAN, login="a")).code is ErrorCode.BANNED
