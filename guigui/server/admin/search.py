"""The admin's search of messages: what an admin looks for, and what comes back.

The assignment asks the server to record messages "by login and by IP"; an
admin can list the messages one login sent, or those sent from one IP address,
optionally in one room. Reading other people's messages is an admin power:
``AdminAPI.messages`` writes every search to the audit log (action
``messages``). This module holds no server state: it checks the criteria and
describes the results, so that the console and the panel show the same thing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from guigui.common.errors import quote
from guigui.common.i18n import _
from guigui.common.validation import login_problem, printable_for_terminal

DEFAULT_SEARCH_LIMIT = 50
"""Messages listed when the admin gives no limit."""
MAX_SEARCH_LIMIT = 500
"""Most messages one search lists."""


@dataclass(frozen=True)
class MessageSearch:
    """Messages by one login or from one IP (exactly one of them), maybe in one room.

    Build it with ``MessageSearch.checked``, which refuses bad criteria with a
    ``ValueError`` saying why, and writes an IP address in its standard form.
    """

    login: str | None
    ip: str | None
    room: str | None
    limit: int

    @classmethod
    def checked(
        cls,
        login: str | None = None,
        ip: str | None = None,
        room: str | None = None,
        limit: int = DEFAULT_SEARCH_LIMIT,
    ) -> MessageSearch:
        """The search these criteria ask for; ``ValueError`` if they are not usable."""
        if (login is None) == (ip is None):
            raise ValueError(_("search by a login or by an IP address (one of the two)"))
        if login is not None and login_problem(login):
            raise ValueError(_("{login} is not a login").format(login=quote(login)))
        if ip is not None:
            try:
                ip = str(ipaddress.ip_address(ip))
            except ValueError:
                raise ValueError(_("{ip} is not an IP address").format(ip=quote(ip))) from None
        if not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise ValueError(
                _("the limit is a number from 1 to {most}").format(most=MAX_SEARCH_LIMIT)
            )
        return cls(login, ip, room, limit)

    @property
    def target(self) -> str:
        """Whose messages, for the audit log: ``login alice`` or ``ip 10.0.0.7``."""
        return f"login {self.login}" if self.login is not None else f"ip {self.ip}"

    @property
    def details(self) -> str:
        """The other criteria, for the audit log: ``room Général, limit 50``."""
        where = "any room" if self.room is None else f"room {self.room}"
        return f"{where}, limit {self.limit}"


@dataclass(frozen=True)
class FoundMessage:
    """A message found by a search, with names where the store has ids."""

    id: int
    ts: int
    """When the server received it (milliseconds since the epoch)."""
    room: str | None
    """The room, or None for a direct message."""
    to: str | None
    """The recipient's login for a direct message, None in a room."""
    login: str
    """The sender."""
    ip: str | None
    """The address it came from; None for messages stored before it was kept."""
    text: str

    @property
    def place(self) -> str:
        """Where it was said: the room's name, or ``to bob`` for a direct message."""
        return self.room if self.room is not None else f"to {self.to}"


def one_line(text: str) -> str:
    """``text`` shown on one line, with nothing a terminal would act on.

    Terminal controls (ANSI escapes, bidi overrides...) become visible escapes
    (``printable_for_terminal``), and so do line breaks and tabs, so that one
    message cannot pass for several lines of a listing.
    """
    printable = printable_for_terminal(text)
    return printable.replace("\n", "\\n").replace("\t", "\\t")


__all__ = [
    "DEFAULT_SEARCH_LIMIT",
    "MAX_SEARCH_LIMIT",
    "FoundMessage",
    "MessageSearch",
    "one_line",
]
