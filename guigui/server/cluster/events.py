"""What one node tells the others: one frozen ``msgspec.Struct`` per kind of news.

Every event starts with ``node``, the name of the node that published it: a
node hears its own events back from Redis and drops them by that name, and a
receiver knows whose sessions an event speaks of (``SessionsChanged``,
``NodeAlive``, ``NodeGone``).

An event carries facts, not orders to send bytes: "messages 42 to 45 were saved",
"alice has 2 sessions on node b". Each receiving node decides what its own
clients must see, with its own state, exactly as it would for the same thing
happening locally. The events are small because the database holds the rest:
``UserChanged`` says "reload user 7", not the whole account.

On the wire an event is JSON with its class name in an ``event`` field, a
tagged union (``{"event": "NodeGone", "node": "b"}``): one channel carries
every kind and one decoder call gives back the right class, validated. The tag
field is ``event`` rather than ``kind`` because ``SanctionAdded`` has a field
``kind`` of its own (the store's ``SanctionRecord``'s: kick or ban).
Unknown fields are ignored, so a newer node may add a field without breaking
older ones during a rolling upgrade; an unknown kind of event is refused.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import msgspec

from guigui.common.protocol import SanctionKind
from guigui.server.store.base import SanctionRecord


class Event(msgspec.Struct, frozen=True, tag_field="event", tag=True):
    """What every cluster event has: the node that published it."""

    node: str
    """The publishing node's name (``--node``, unique in the cluster)."""


class NewFile(msgspec.Struct, frozen=True, array_like=True):
    """The file a ``NewMessage`` carries (where it was sent is its message's place)."""

    id: int
    sha256: str
    size: int
    name: str
    type: str
    owner_id: int
    created_at: int


class NewMessage(msgspec.Struct, frozen=True, array_like=True):
    """One stored message in ``MessagesSaved``: a room message (``recipient_id`` None) or a
    direct one (``room_id`` None), with the id the database gave it.

    Encoded as a JSON array, not an object: a group commit under load holds
    hundreds of them, and the field names would be most of the bytes.
    """

    id: int
    room_id: int | None
    sender_id: int
    recipient_id: int | None
    text: str
    ts: int
    file: NewFile | None = None
    """Its file, if it carries one (left out of the array when None)."""


class MessagesSaved(Event, frozen=True):
    """New messages were stored by one group commit, in id order.

    One event per group commit, not per message: under load a commit holds
    many messages, and one publish (one Redis command, one wake-up of each
    other node) serves them all. Receivers deliver each to their own sessions
    that should see it.
    """

    messages: list[NewMessage]


class SessionsChanged(Event, frozen=True):
    """A user's live sessions ON THE PUBLISHING NODE changed: ``sessions`` of them now.

    Cluster-wide presence is the sum over nodes: a user is offline when every
    node says 0. ``status`` is the user's presence status as that node knows it.
    """

    user_id: int
    login: str
    sessions: int
    status: str


class NodeAlive(Event, frozen=True):
    """The heartbeat: the node is alive, and who is connected to it.

    ``sessions`` holds one ``(user_id, login, status, count)`` per connected
    user. A node that stops sending it is taken for dead after a while, and
    its users' sessions are forgotten; a node that joins (or comes back after
    a Redis outage) learns the whole picture from one heartbeat per node.
    """

    at_ms: int
    sessions: list[tuple[int, str, str, int]]


class NodeGone(Event, frozen=True):
    """The node stops cleanly: forget its sessions now rather than after a missed heartbeat."""


class UserChanged(Event, frozen=True):
    """An account was registered or erased: reload user ``user_id`` from the store."""

    user_id: int


class MembershipChanged(Event, frozen=True):
    """User ``user_id`` joined (``member``) or left room ``room_id``."""

    user_id: int
    room_id: int
    member: bool


class RequestFiled(Event, frozen=True):
    """User ``user_id`` asked to join room ``room_id`` (request ``request_id``, pending)."""

    request_id: int
    user_id: int
    room_id: int
    created_at: int


class RequestDecided(Event, frozen=True):
    """Request ``request_id`` (user ``user_id``, room ``room_id``) was granted or refused."""

    request_id: int
    user_id: int
    room_id: int
    granted: bool


class SanctionAdded(Event, frozen=True, kw_only=True):
    """A kick or a ban was added: the fields of ``store.base.SanctionRecord``, in its order.

    Receivers close the matching sessions they hold and remember the sanction.
    Its fields are keyword-only: ``reason`` (a string) and ``until`` (a number
    or None) are easily swapped by position, and nothing would say so.
    ``from_record`` and ``record`` convert from and to the store's record.
    """

    id: int
    kind: SanctionKind
    login: str | None
    ip: str | None
    until: int | None
    reason: str
    created_at: int
    created_by: str

    @classmethod
    def from_record(cls, node: str, record: SanctionRecord) -> SanctionAdded:
        """The event announcing ``record`` (a new sanction, so not lifted)."""
        return cls(node=node, **{name: getattr(record, name) for name in _SANCTION_FIELDS})

    def record(self) -> SanctionRecord:
        """The store's record of this sanction."""
        return SanctionRecord(**{name: getattr(self, name) for name in _SANCTION_FIELDS})


_SANCTION_FIELDS = SanctionAdded.__struct_fields__[1:]
"""``SanctionAdded``'s fields after ``node``: the ``SanctionRecord`` fields it carries, by name."""


class SanctionLifted(Event, frozen=True):
    """Sanction ``sanction_id`` was lifted by an admin."""

    sanction_id: int


class ReadMoved(Event, frozen=True):
    """User ``user_id`` read a conversation: ``state`` is the READ_STATE event's body.

    Receivers send it to that user's sessions they hold, as the node where
    the READ happened does for its own.
    """

    user_id: int
    state: dict[str, Any]


class StopRequested(Event, frozen=True):
    """An admin asked for a stop in ``seconds``: of node ``target``, or of all (``None``)."""

    target: str | None
    reason: str
    seconds: int


ClusterEvent: TypeAlias = (
    MessagesSaved
    | SessionsChanged
    | NodeAlive
    | NodeGone
    | UserChanged
    | MembershipChanged
    | RequestFiled
    | RequestDecided
    | SanctionAdded
    | SanctionLifted
    | ReadMoved
    | StopRequested
)
"""Any event a node publishes."""

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[ClusterEvent] = msgspec.json.Decoder(ClusterEvent)


def encode_event(event: ClusterEvent) -> bytes:
    """The JSON bytes of ``event``, with its kind in the ``event`` field."""
    return _encoder.encode(event)


def decode_event(data: bytes | str) -> ClusterEvent:
    """The event encoded in ``data``; ``ValueError`` if it is not one, saying why."""
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as error:
        raise ValueError(f"not a cluster event: {error}") from error
