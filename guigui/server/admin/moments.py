"""Dates, times and durations as the admin reads them, in French or English.

The store keeps moments as milliseconds since the epoch; the panel and the
console never show those numbers. French reads ``28/11/2026 13:41:05`` and
``samedi 28 novembre 2026``; English ``2026-11-28 13:41:05`` and
``Saturday 28 November 2026``. The day and month names come from
``guigui.common.dates``, shared with the desktop client: from the catalog, not
from the C library's locale, which is often missing on servers.
"""

from __future__ import annotations

import time
from datetime import datetime

from guigui.common.dates import long_date
from guigui.common.i18n import _


def _local(ms: int | float) -> datetime:
    return datetime.fromtimestamp(ms / 1000)


def moment(ms: int | float) -> str:
    """Date and time to the second: ``28/11/2026 13:41:05`` (French) or ``2026-11-28 13:41:05``."""
    at = _local(ms)
    # The order of the date's parts is the language's; the translator chooses it.
    date = _("{year}-{month:02d}-{day:02d}").format(year=at.year, month=at.month, day=at.day)
    return f"{date} {at:%H:%M:%S}"


def clock(ms: int | float) -> str:
    """The time of day to the second: ``13:41:05``."""
    return f"{_local(ms):%H:%M:%S}"


def day(ms: int | float) -> str:
    """The day in words: ``samedi 28 novembre 2026`` or ``Saturday 28 November 2026``."""
    return long_date(_local(ms).date())


def span(seconds: float) -> str:
    """A length of time in words, rounded to its two largest units: ``1 h 05 min``, ``30 s``."""
    total = max(0, round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return (
            _("{days} d {hours} h").format(days=days, hours=hours)
            if hours
            else _("{days} d").format(days=days)
        )
    if hours:
        return (
            _("{hours} h {minutes:02d} min").format(hours=hours, minutes=minutes)
            if minutes
            else _("{hours} h").format(hours=hours)
        )
    if minutes:
        return (
            _("{minutes} min {seconds:02d} s").format(minutes=minutes, seconds=secs)
            if secs
            else _("{minutes} min").format(minutes=minutes)
        )
    return _("{seconds} s").format(seconds=secs)


def relative(ms: int | float, now_ms: float | None = None) -> str:
    """How far a moment is from now: ``in 5 min``, ``2 h 03 min ago``, ``now``."""
    now = time.time() * 1000 if now_ms is None else now_ms
    seconds = (ms - now) / 1000
    if abs(seconds) < 1:
        return _("now")
    if seconds > 0:
        return _("in {span}").format(span=span(seconds))
    return _("{span} ago").format(span=span(-seconds))


def until(ms: int | None, now_ms: float | None = None) -> str:
    """When a sanction ends: ``until 28/11/2026 13:41:05 (in 5 min)``, or ``permanently``."""
    if ms is None:
        return _("permanently")
    return _("until {moment} ({relative})").format(moment=moment(ms), relative=relative(ms, now_ms))


__all__ = ["clock", "day", "moment", "relative", "span", "until"]
