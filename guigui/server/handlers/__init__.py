"""Request handlers: one module per family of requests.

Each handler runs on the loop thread, checks the request against the core,
hands blocking work to a worker and answers in the worker's callback. A
handler either answers at once or makes sure its callback answers: every
request gets exactly one reply. Errors are raised as ``ProtocolError`` and
turned into ERROR frames in one place, ``ChatServer.dispatch``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guigui.server.chat_server import ChatServer
    from guigui.server.connection import Connection

RequestHandler = Callable[["Connection", Any], None]


def build_handlers(server: ChatServer) -> dict[type, RequestHandler]:
    """The table from request class to the bound method that handles it."""
    from guigui.server.handlers.messaging import MessagingHandlers
    from guigui.server.handlers.read_state import ReadStateHandlers
    from guigui.server.handlers.rooms import RoomHandlers
    from guigui.server.handlers.session import SessionHandlers

    table: dict[type, RequestHandler] = {}
    families = (
        SessionHandlers(server),
        RoomHandlers(server),
        MessagingHandlers(server),
        ReadStateHandlers(server),
    )
    for family in families:
        table.update(family.handlers())
    return table
