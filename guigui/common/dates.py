"""Dates, clocks and delays in the user's language, without the system's locale.

``strftime("%A %B")`` speaks the language of the locale the operating system
has installed, which is often English only (a fresh Windows or a container):
the day and month names here come from the translation catalogs instead, so a
French interface says "samedi 28 novembre 2026" on any computer.
"""

from __future__ import annotations

from datetime import date, datetime

from guigui.common.i18n import _


def weekday_name(day: date) -> str:
    """The name of the day of the week, e.g. "Saturday" or "samedi"."""
    names = (
        _("Monday"),
        _("Tuesday"),
        _("Wednesday"),
        _("Thursday"),
        _("Friday"),
        _("Saturday"),
        _("Sunday"),
    )
    return names[day.weekday()]


def month_name(day: date) -> str:
    """The name of the month, e.g. "November" or "novembre"."""
    names = (
        _("January"),
        _("February"),
        _("March"),
        _("April"),
        _("May"),
        _("June"),
        _("July"),
        _("August"),
        _("September"),
        _("October"),
        _("November"),
        _("December"),
    )
    return names[day.month - 1]


def long_date(day: date) -> str:
    """A day in words: "Saturday 28 November 2026", "samedi 28 novembre 2026"."""
    return _("{weekday} {day} {month} {year}").format(
        weekday=weekday_name(day), day=day.day, month=month_name(day), year=day.year
    )


def clock(moment: datetime, *, seconds: bool = False) -> str:
    """The time of day on a 24-hour clock (as both languages write it): "13:41" or "13:41:05"."""
    return moment.strftime("%H:%M:%S" if seconds else "%H:%M")


def delay_in_words(seconds: float) -> str:
    """A delay, short and rounded up to the second: "30 s", "5 min 3 s", "2 h 5 min", "3 d 4 h"."""
    left = max(0, int(seconds + 0.999))
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes, secs = divmod(left, 60)
    parts = [
        (days, _("{n} d")),
        (hours, _("{n} h")),
        (minutes, _("{n} min")),
        (secs, _("{n} s")),
    ]
    shown = [(n, unit) for n, unit in parts if n]
    if not shown:
        return _("{n} s").format(n=0)
    return " ".join(unit.format(n=n) for n, unit in shown[:2])


def until_in_words(until_ms: int | None, now: datetime | None = None) -> str:
    """When a sanction ends: "until 13:41:05, in 30 s", or "permanently" when it does not."""
    if until_ms is None:
        return _("permanently")
    now = now or datetime.now()
    end = datetime.fromtimestamp(until_ms / 1000)
    when = clock(end, seconds=True)
    if end.date() != now.date():
        when = _("{date} at {time}").format(date=long_date(end.date()), time=when)
    delay = delay_in_words((end - now).total_seconds())
    return _("until {when}, in {delay}").format(when=when, delay=delay)
