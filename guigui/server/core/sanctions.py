"""Sanctions: kicks and bans on a login, an IP address, or both.

A kick always has an end; a ban may be permanent (``until`` None). A sanction
matches a session when its login matches the session's login (case-insensitive)
or its IP matches the session's address. Expired sanctions are dropped lazily.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from guigui.common.errors import ProtocolError
from guigui.common.protocol import ErrorCode, SanctionKind
from guigui.common.validation import login_key
from guigui.server.store.base import SanctionRecord

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds in a duration like ``30s``, ``10m``, ``1h`` or ``2d``; ``ValueError`` otherwise."""
    match = _DURATION.match(text.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 10m, 1h, 2d)")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def sanction_error(sanction: SanctionRecord, *, fatal: bool = False) -> ProtocolError:
    """The ``banned`` or ``kicked`` error that refuses a sanctioned login or IP."""
    if sanction.kind is SanctionKind.BAN:
        code, what = ErrorCode.BANNED, "banned"
    else:
        code, what = ErrorCode.KICKED, "kicked"
    if sanction.until is None:
        when = "permanently"
    else:
        end = datetime.fromtimestamp(sanction.until / 1000, tz=UTC)
        when = f"until {end:%Y-%m-%d %H:%M} UTC"
    reason = sanction.reason or "no reason given"
    return ProtocolError(
        code,
        f"you are {what} {when}: {reason}",
        fatal=fatal,
        until=sanction.until,
        reason=sanction.reason,
    )


def matches(sanction: SanctionRecord, login: str | None, ip: str | None) -> bool:
    """Whether the sanction applies to a session of ``login`` from ``ip``."""
    same_login = (
        sanction.login is not None
        and login is not None
        and login_key(sanction.login) == login_key(login)
    )
    return same_login or (sanction.ip is not None and sanction.ip == ip)


def is_active(sanction: SanctionRecord, now: int) -> bool:
    """Whether the sanction is still in force at ``now`` (ms)."""
    return sanction.lifted_at is None and (sanction.until is None or sanction.until > now)


@dataclass
class SanctionBook:
    """The sanctions in force, by id."""

    _active: dict[int, SanctionRecord] = field(default_factory=dict)

    def add(self, sanction: SanctionRecord) -> None:
        """Put a sanction in force."""
        self._active[sanction.id] = sanction

    def has(self, sanction_id: int) -> bool:
        """Whether the sanction is known here (in force or not yet expired)."""
        return sanction_id in self._active

    def remove(self, sanction_id: int) -> None:
        """Take a sanction out of force (lifted)."""
        self._active.pop(sanction_id, None)

    def active(self, now: int) -> list[SanctionRecord]:
        """The sanctions in force at ``now``, oldest first; expired ones are forgotten."""
        for sanction_id in [s.id for s in self._active.values() if not is_active(s, now)]:
            del self._active[sanction_id]
        return sorted(self._active.values(), key=lambda sanction: sanction.id)

    def blocking(self, login: str | None, ip: str | None, now: int) -> SanctionRecord | None:
        """The sanction that refuses this login or IP at ``now``, if any.

        A ban wins over a kick, then the one that ends last (permanent first).
        """
        found = [s for s in self.active(now) if matches(s, login, ip)]
        if not found:
            return None
        return max(
            found,
            key=lambda s: (s.kind is SanctionKind.BAN, s.until is None, s.until or 0),
        )

    def targeting(self, target: str, kind: SanctionKind | None, now: int) -> list[SanctionRecord]:
        """Sanctions in force whose login (case-insensitive) or IP is ``target``."""
        return [
            s
            for s in self.active(now)
            if (kind is None or s.kind is kind)
            and (
                s.ip == target or (s.login is not None and login_key(s.login) == login_key(target))
            )
        ]
