"""What every family of request handlers shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from guigui.common.errors import ProtocolError
from guigui.common.protocol import ErrorCode
from guigui.common.validation import text_problem
from guigui.server.connection import Connection, Phase
from guigui.server.store import UserRecord

RequestHandler = Callable[[Connection, Any], None]
"""A handler: called on the loop thread with the connection and its typed request."""


class HandlerFamily:
    """A group of related request handlers.

    Each family is a dataclass whose fields are what it uses (the core's
    directories, the store worker, the delivery...): what a handler can touch
    is written at the top of its class, and given by ``ChatServer`` when it
    builds the family.
    """

    def handlers(self) -> dict[type, RequestHandler]:
        """Request class to the method that handles it (an explicit table, for grep)."""
        raise NotImplementedError

    @staticmethod
    def require_login(connection: Connection) -> UserRecord:
        """The connection's user, or ``ERROR not_authenticated``."""
        if connection.phase is not Phase.LOGGED_IN or connection.user is None:
            raise ProtocolError(ErrorCode.NOT_AUTHENTICATED, "log in first")
        return connection.user


def check_text(text: str, max_text: int) -> None:
    """Refuse a message's text (or a file's caption) that ``validation.text_problem`` faults.

    Too long: ``text_too_long`` with ``max_text``; blank or otherwise wrong:
    ``invalid_field`` on ``text``.
    """
    problem = text_problem(text, max_text)
    if problem is None:
        return
    if len(text) > max_text:
        raise ProtocolError(ErrorCode.TEXT_TOO_LONG, problem, max_text=max_text)
    raise ProtocolError(ErrorCode.INVALID_FIELD, problem, field="text", reason=problem)
