"""What every family of request handlers shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guigui.common.errors import ProtocolError
from guigui.common.protocol import ErrorCode
from guigui.server.connection import Phase

if TYPE_CHECKING:
    from guigui.server.chat_server import ChatServer
    from guigui.server.connection import Connection
    from guigui.server.store import UserRecord


class HandlerFamily:
    """A group of related request handlers sharing the server."""

    def __init__(self, server: ChatServer) -> None:
        self.server = server

    def handlers(self) -> dict[type, Any]:
        """Request class to the method that handles it."""
        raise NotImplementedError

    @staticmethod
    def require_login(connection: Connection) -> UserRecord:
        """The connection's user, or ``ERROR not_authenticated``."""
        if connection.phase is not Phase.LOGGED_IN or connection.user is None:
            raise ProtocolError(ErrorCode.NOT_AUTHENTICATED, "log in first")
        return connection.user
