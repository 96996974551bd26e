"""Protocol errors as values: an error code, a human message and details.

Anything that goes wrong with a request is raised as a ``ProtocolError`` and
turned into one ERROR frame at the edge (``ChatServer`` on the server). An
error never echoes a client's input in full: ``quote`` cuts what a message
quotes to ``MAX_QUOTED`` characters, and the message itself is cut to
``MAX_ERROR_MESSAGE``, so an ERROR frame stays small whatever was sent.
"""

from __future__ import annotations

from typing import Any

from guigui.common.protocol import MAX_QUOTED, ErrorCode

MAX_ERROR_MESSAGE = 300
"""Longest ``message`` of an ERROR, in characters."""


def quote(value: str, limit: int = MAX_QUOTED) -> str:
    """``value`` quoted for an error message, cut to ``limit`` characters (then ``…``)."""
    if len(value) > limit:
        return repr(value[:limit]) + "…"
    return repr(value)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ProtocolError(Exception):
    """An error with a stable protocol code (PROTOCOL.md section 5).

    ``fatal`` means the connection must be closed once the ERROR is sent;
    ``details`` are extra fields of the ERROR body (``field``, ``until``...).
    Strings are cut to ``MAX_ERROR_MESSAGE`` characters.
    """

    def __init__(self, code: ErrorCode, message: str, *, fatal: bool = False, **details: Any):
        message = _cut(message, MAX_ERROR_MESSAGE)
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fatal = fatal
        self.details: dict[str, Any] = {
            key: _cut(value, MAX_ERROR_MESSAGE) if isinstance(value, str) else value
            for key, value in details.items()
        }
