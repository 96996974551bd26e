"""Protocol errors as values: an error code, a human message and details.

Anything that goes wrong with a request is raised as a ``ProtocolError`` and
turned into one ERROR frame at the edge (``ChatServer.dispatch`` on the server).
"""

from __future__ import annotations

from typing import Any

from guigui.common.protocol import ErrorCode


class ProtocolError(Exception):
    """An error with a stable protocol code (PROTOCOL.md section 5).

    ``fatal`` means the connection must be closed once the ERROR is sent;
    ``details`` are extra fields of the ERROR body (``field``, ``until``...).
    """

    def __init__(self, code: ErrorCode, message: str, *, fatal: bool = False, **details: Any):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fatal = fatal
        self.details = details

    def to_body(self, request_id: int | None) -> dict[str, Any]:
        """The body of the ERROR frame answering ``request_id`` (None: no request)."""
        return {"id": request_id, "code": str(self.code), "message": self.message, **self.details}
