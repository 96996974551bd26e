"""How a request of the client fails: the connection went away, or the server said no.

Apart from ``guigui.client.connection`` (which re-exports them) so that the
modules it uses, such as ``guigui.client.file_transfer``, raise and catch them
without importing the connection.
"""

from __future__ import annotations

from guigui.common.errors import ProtocolError


class ConnectionLost(Exception):
    """The connection closed (or could not be used) before the reply came."""


class RequestFailed(ProtocolError):
    """The server answered a request with ERROR; ``code``, ``message``, ``details`` say why."""
