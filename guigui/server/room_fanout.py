"""Room messages of one group commit, handed to each reader as one chunk.

Profiling scenario A-max of the benchmark (100 readers, 20,000 messages/s)
showed the loop thread saturated by the fan-out itself: the store worker hands
back a group commit of k messages for one room, and giving each of the n
readers each message costs k·n calls to ``Connection.send``. Most of that is
Python call overhead, not copying.

``RoomFanout`` gathers the frames of consecutive room messages instead, and
writes them out in one pass: every reader gets ONE chunk, joined once and
shared by all readers. A connection that sent some of the messages gets its
own chunk in which each of its messages is replaced by its reply (``OK``),
since nobody hears back their own message. So k messages cost one join and n
appends, and ``n`` appends of a shared ``bytes`` object are cheap.

Order is exactly what sending one by one would give, for every connection:

- a run holds the messages of ONE room; a message for another room first
  flushes the run;
- any other output to any connection (``Connection.send``) first flushes the
  run, so nothing can overtake a gathered frame;
- any change in who receives the room (a session opening or closing, a join,
  a leave) first flushes the run, so the audience is the one of the moment the
  messages were stored;
- the loop flushes the run at the end of each iteration, before writing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guigui.server.connection import Connection


class RoomFanout:
    """The frames of consecutive messages for one room, not yet given to connections."""

    __slots__ = ("_audience", "_items", "_room_id")

    def __init__(self) -> None:
        self._room_id: int | None = None
        self._audience: set[Connection] = set()
        self._items: list[tuple[Connection, bytes, bytes]] = []

    @property
    def pending(self) -> bool:
        """Frames are waiting: ``flush`` before anything else is written."""
        return bool(self._items)

    def add(
        self,
        room_id: int,
        audience: set[Connection],
        sender: Connection,
        event: bytes,
        reply: bytes,
    ) -> None:
        """Queue a stored room message: ``event`` for the audience, ``reply`` for ``sender``.

        ``audience`` is the registry's live set of the room's sessions; it does not
        change while frames wait, since every change to it flushes first.
        """
        if self.pending and room_id != self._room_id:
            self.flush()
        self._room_id = room_id
        self._audience = audience
        self._items.append((sender, event, reply))

    def flush(self) -> None:
        """Give every connection its frames, in order; nothing waits afterwards."""
        if not self.pending:
            return
        items, audience = self._items, self._audience
        # Reset first: Connection.send flushes a pending run, and must find none.
        self._items, self._audience, self._room_id = [], set(), None
        senders = {sender for sender, _, _ in items}
        shared = b"".join(event for _, event, _ in items)
        for connection in audience:
            if connection not in senders:
                connection.send(shared)
        for sender in senders:
            if sender in audience:
                own = b"".join(reply if who is sender else event for who, event, reply in items)
            else:  # it left the room meanwhile: its replies, not the room's messages
                own = b"".join(reply for who, _, reply in items if who is sender)
            sender.send(own)
