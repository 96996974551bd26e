"""Which connections have output to write, and when to write it: at once, or a little later.

Writing is what costs a server most per delivery: one ``send()`` system call
per reader per write, and on loopback the kernel's share of each costs the
sender the receiver's TCP work too. The loop already writes each connection
once per iteration, however many messages it got in that iteration. Under a
steady stream (a room receiving a message every millisecond) that is still
one ``send()`` per message, since each iteration brings one.

So a connection that was written to less than ``bound`` seconds ago waits,
and what arrives meanwhile leaves in the same ``send()``: Nagle's idea, done
by the server with a bound of its own (1 ms by default: a person does not see
it, and at a thousand messages a second it halves the writes). A connection
that was idle is written at once: a message after a silence never waits. A
large buffer (``large``), or a connection closing, is written at once too.

The loop sleeps until the earliest deferred write is due (``flush`` returns
that moment), so nothing waits longer than ``bound`` once the loop is idle.
"""

from __future__ import annotations

from typing import Protocol


class Writable(Protocol):
    """What this module needs of a connection."""

    @property
    def last_write(self) -> float:
        """When bytes were last handed to the kernel (``time.monotonic()``)."""

    @property
    def pending_bytes(self) -> int:
        """Bytes waiting in the output buffer."""

    @property
    def closing(self) -> bool:
        """Whether the connection is closing (its last bytes go at once)."""

    def flush(self, now: float) -> None:
        """Write what the kernel takes now."""


LARGE = 64 * 1024
"""Bytes past which a buffer is written at once: a larger write gains nothing more."""


class PendingOutput:
    """The connections with output to write, each written at once or within ``bound``."""

    def __init__(self, bound: float, large: int = LARGE) -> None:
        self.bound = bound
        """Seconds a busy connection's output may wait for more (0: never waits)."""
        self.large = large
        self._pending: set[Writable] = set()

    def add(self, connection: Writable) -> None:
        """``connection`` has output: write it at the next ``flush`` that finds it due."""
        self._pending.add(connection)

    def discard(self, connection: Writable) -> None:
        """Forget ``connection`` (it closed)."""
        self._pending.discard(connection)

    def __bool__(self) -> bool:
        return bool(self._pending)

    def __contains__(self, connection: object) -> bool:
        return connection in self._pending

    def due(self, connection: Writable, now: float) -> bool:
        """Whether ``connection`` is written now rather than in a moment."""
        return (  # the same sum as flush's deadline: due exactly when the timer fires
            now >= connection.last_write + self.bound
            or connection.pending_bytes >= self.large
            or connection.closing
        )

    def flush(self, now: float) -> float | None:
        """Write every connection that is due; return when the earliest other one is (or None).

        A connection not due waits until ``last_write + bound`` at the latest:
        the caller makes the loop wake up by then.
        """
        if not self._pending:
            return None
        pending, self._pending = self._pending, set()
        wake_at: float | None = None
        for connection in pending:
            if self.due(connection, now):
                connection.flush(now)
                continue
            self._pending.add(connection)
            deadline = connection.last_write + self.bound
            if wake_at is None or deadline < wake_at:
                wake_at = deadline
        return wake_at
