"""What the network thread tells the Tk thread: one small immutable class per kind of update.

``NetworkThread`` (the network thread) puts these on its ``updates`` queue;
``ClientApp.apply`` (the Tk thread) matches each class to the method that
handles it. A new kind of update is a new class here, added to ``Update``:
mypy then points at the ``match`` in ``ClientApp.apply`` until it is handled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from guigui.client.model import ConversationKey
from guigui.common.messages import Event, SessionOk
from guigui.common.objects import ChatMessage, ConversationState, Room, User


@dataclass(frozen=True)
class ConnectionChanged:
    """The connection is ``online``, ``connecting`` or ``offline``.

    ``retry_in`` is the seconds before the next attempt to reconnect, when
    offline and reconnecting by itself; else None.
    """

    state: str
    retry_in: float | None = None


@dataclass(frozen=True)
class LoggedIn:
    """A session is open: after a login, or ``resumed`` after a reconnection."""

    session: SessionOk
    resumed: bool


@dataclass(frozen=True)
class LoginFailed:
    """The login was refused (``code``, ``message``, ``details`` of the server's ERROR)."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Registered:
    """The account was created."""

    user: User


@dataclass(frozen=True)
class RegisterFailed:
    """The registration was refused; ``details`` may name the ``field`` at fault."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResumeRefused:
    """The server refused to resume the session after a reconnection: log in again."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StillSanctioned:
    """Reconnecting at the end of a kick found it still in force, until ``until`` (ms)."""

    code: str
    until: int
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryPage:
    """A page of a conversation's messages, oldest first; ``older`` when paging back."""

    key: ConversationKey
    messages: list[ChatMessage]
    more: bool
    older: bool


@dataclass(frozen=True)
class MessageAcknowledged:
    """The server stored the message sent with ``nonce``."""

    nonce: str
    message: ChatMessage


@dataclass(frozen=True)
class MessageRefused:
    """The server refused the message sent with ``nonce`` for good."""

    nonce: str
    code: str
    reason: str


@dataclass(frozen=True)
class RoomJoined:
    """We are now a member of ``room``."""

    room: Room


@dataclass(frozen=True)
class JoinPending:
    """Our request to join ``room`` waits for an admin."""

    room: str
    request_id: int | None


@dataclass(frozen=True)
class LoggedOut:
    """We logged out: the token is revoked and the outbox emptied."""


@dataclass(frozen=True)
class NewServerTrusted:
    """A server seen for the first time: its certificate's fingerprint is now pinned."""

    server: str
    fingerprint: str


@dataclass(frozen=True)
class RequestError:
    """A request failed in a way the user should hear about."""

    code: str
    message: str


@dataclass(frozen=True)
class ServerEvent:
    """An event the server pushed (a message, a presence, a sanction...)."""

    event: Event


@dataclass(frozen=True)
class ConversationsLoaded:
    """The read state of every conversation, kept by the server."""

    states: list[ConversationState]


@dataclass(frozen=True)
class ReadStateSaved:
    """The server recorded how far a conversation is read."""

    state: ConversationState


# ---- files (issue 18): one transfer, named by the key send_file / get_file returned ----


@dataclass(frozen=True)
class TransferProgress:
    """A transfer has moved ``done`` of its ``total`` bytes (at most ~10 a second each)."""

    transfer: str
    done: int
    total: int


@dataclass(frozen=True)
class TransferDone:
    """A transfer finished: an upload gives its stored ``message``, a download its ``path``."""

    transfer: str
    message: ChatMessage | None
    path: Path | None


@dataclass(frozen=True)
class TransferFailed:
    """A transfer stopped for good; ``reason`` is a sentence to show the user."""

    transfer: str
    reason: str


@dataclass(frozen=True)
class TransferCancelled:
    """A transfer stopped because the user cancelled it."""

    transfer: str


Update: TypeAlias = (
    ConnectionChanged
    | LoggedIn
    | LoginFailed
    | Registered
    | RegisterFailed
    | ResumeRefused
    | StillSanctioned
    | HistoryPage
    | MessageAcknowledged
    | MessageRefused
    | RoomJoined
    | JoinPending
    | LoggedOut
    | NewServerTrusted
    | RequestError
    | ServerEvent
    | ConversationsLoaded
    | ReadStateSaved
    | TransferProgress
    | TransferDone
    | TransferFailed
    | TransferCancelled
)
"""Anything the network thread tells the Tk thread."""
