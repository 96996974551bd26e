"""The chat server: one event-loop thread owning every socket and all chat state.

``ChatServer.start`` loads the store's snapshot into the core objects, binds the
listening socket, starts the store worker and runs the loop in its own thread.
From then on only the loop thread touches connections, the core and the
registries; bcrypt and the store run on workers whose results come back
through the loop's wake-up socketpair (see ``guigui.server.workers``).

This module holds the plumbing shared by every request: dispatch, replies,
errors, broadcasts, sessions, heartbeats and the clean stop. The requests
themselves are handled in ``guigui.server.handlers``.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from guigui.common.codec import Frame
from guigui.common.errors import ProtocolError
from guigui.common.messages import (
    Error,
    Message,
    Ping,
    Pong,
    PresenceEvent,
    Reply,
    Shutdown,
    decode_as,
    decode_request,
    encode,
    request_id_of,
)
from guigui.common.objects import ChatMessage, Presence
from guigui.common.protocol import (
    HEADER_SIZE,
    MAX_ERRORS_BEFORE_CLOSE,
    ErrorCode,
    MessageType,
    SanctionKind,
)
from guigui.server.clock import now_ms
from guigui.server.config import ServerConfig
from guigui.server.connection import Connection, Phase
from guigui.server.core.accounts import UserDirectory
from guigui.server.core.limits import FailureThrottle, SlidingWindow
from guigui.server.core.presence import PresenceBook
from guigui.server.core.rooms import RoomDirectory
from guigui.server.core.sanctions import SanctionBook, sanction_error
from guigui.server.handlers import RequestHandler, build_handlers
from guigui.server.handoff import Outcome
from guigui.server.hashing import PasswordHasher
from guigui.server.loop import EventLoop
from guigui.server.personal_data import MessageRetention
from guigui.server.room_fanout import RoomFanout
from guigui.server.sessions import SessionRegistry
from guigui.server.store import Snapshot, Store, StoredMessage, StoreError, open_store
from guigui.server.tls import tls_server_context
from guigui.server.workers import StoreWorker

log = logging.getLogger(__name__)

RETRY_AFTER_MS = 1000
"""What ``ERROR unavailable`` suggests to wait before retrying."""

ADMIN_FREE_FAILURES = 3
"""Failed admin logins allowed per admin login before it is locked for a while."""
ADMIN_FIRST_LOCK = 5.0
"""Seconds of the first lock of an admin login; each further failure doubles it."""
ADMIN_MAX_LOCK = 300.0
"""Longest lock of an admin login (seconds)."""

_COUNTED_ERRORS = frozenset({ErrorCode.BAD_JSON, ErrorCode.UNKNOWN_TYPE, ErrorCode.BAD_REQUEST})
"""Malformed-input errors: ``MAX_ERRORS_BEFORE_CLOSE`` of them close the connection."""


class _Listener:
    """The listening socket's handler: accepts every waiting client."""

    def __init__(self, server: ChatServer, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock

    def on_readable(self) -> None:
        for _ in range(256):  # bounded, so a connection storm cannot starve the rest
            try:
                client, address = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # e.g. out of file descriptors: try again next turn
                log.warning("accept failed: %s", error)
                return
            self.server.accept(client, address)

    def on_writable(self) -> None:
        pass


class ChatServer:
    """The GuiGui chat server. Create, ``start()``, then ``stop()`` from any thread."""

    def __init__(self, config: ServerConfig, store: Store | None = None) -> None:
        self.config = config
        self.store = store if store is not None else open_store(config.database_url)
        self.loop = EventLoop()
        self.loop.after_events = self._flush_pending_output
        self.users = UserDirectory()
        self.rooms = RoomDirectory()
        self.presence = PresenceBook()
        self.sanctions = SanctionBook()
        self.room_fanout = RoomFanout()
        self.sessions = SessionRegistry(before_change=self.room_fanout.flush)
        self.connections: set[Connection] = set()
        self.pending_output: set[Connection] = set()
        self.held_back: set[Connection] = set()
        """Connections not read from while the store worker catches up."""
        self._last_hold_back_log = -math.inf
        self.hold_backs = 0
        """Times a connection was held back since start (flow control at work)."""
        self.hasher = PasswordHasher(self.loop, config.bcrypt_cost)
        self.store_worker = StoreWorker(self.loop, self.store)
        self.address: tuple[str, int] = (config.host, config.port)
        self.started_at = time.time()
        self.stopping = False
        self.ip_connections: Counter[str] = Counter()
        self.account_failures = FailureThrottle(
            config.login_free_failures, config.login_first_lock, config.login_max_lock
        )
        # Per IP, attempts in flight count only after a failure: a whole office
        # behind one NAT may log in at once. An attacker's first burst is still
        # bounded: one LOGIN at a time per connection, max_connections_per_ip.
        self.ip_failures = FailureThrottle(
            config.login_free_failures * 4,
            config.login_first_lock,
            config.login_max_lock,
            strict_in_flight=False,
        )
        self.registrations = SlidingWindow(config.registrations_per_ip_per_hour, 3600.0)
        self.tls_context = tls_server_context(config) if config.tls_cert else None
        self._last_message_id = 0
        self._handlers: dict[type, RequestHandler] = build_handlers(self)
        self._listener: _Listener | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._stop_deadline = 0.0
        self._ping_counter = 0
        self.stop_reason = "the server is stopping"
        self.admin_throttle = FailureThrottle(ADMIN_FREE_FAILURES, ADMIN_FIRST_LOCK, ADMIN_MAX_LOCK)
        """Failed admin logins per admin login (``login_key``), shared by every admin view."""
        self.messages_stored = 0
        """Messages stored since start (for the admin's live figures)."""

    # ---- lifecycle (any thread) ----------------------------------------------

    def start(self) -> None:
        """Load the store, listen, and run the loop in a new thread; returns once listening."""
        self.store.migrate()
        self._load(self.store.load_snapshot(now_ms()))
        sock = socket.create_server(
            (self.config.host, self.config.port), backlog=self.config.backlog, reuse_port=False
        )
        sock.setblocking(False)
        self._listener = _Listener(self, sock)
        self.loop.add_reader(sock, self._listener)
        self.address = sock.getsockname()[:2]
        self.store_worker.start()
        # Scheduled before the loop thread starts: from then on only that thread
        # may touch the loop's timers.
        self.loop.call_later(self._sweep_interval(), self._heartbeat_sweep)
        if self.config.message_retention_days is not None:
            MessageRetention(self, self.config.message_retention_days).start()
        self._thread = threading.Thread(target=self._run, name="event-loop")
        self._thread.start()
        log.info("listening on %s:%d", *self.address)

    def stop(self, timeout: float | None = None) -> None:
        """Stop cleanly (see ``request_stop``) and wait until it is done."""
        self.request_stop()
        self.wait(timeout)

    def request_stop(self) -> None:
        """Begin a clean stop: no new clients or requests; pending work stored and flushed."""
        self.loop.call_soon_threadsafe(self._begin_stop)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the server has stopped; returns whether it has."""
        return self._stopped.wait(timeout)

    def call_soon_threadsafe(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the loop thread (the only way other threads act on the server)."""
        self.loop.call_soon_threadsafe(callback)

    def _run(self) -> None:
        try:
            self.loop.run()
        finally:
            self.store_worker.stop()
            self.hasher.shutdown()
            self.store.close()
            log.info("server stopped")
            self._stopped.set()

    def _load(self, snapshot: Snapshot) -> None:
        for user in snapshot.users:
            self.users.add(user)
        for room in snapshot.rooms:
            self.rooms.add_room(room)
        for user_id, room_id in snapshot.memberships:
            self.rooms.add_member(user_id, room_id)
        for request in snapshot.pending_requests:
            self.rooms.add_pending(request)
        for sanction in snapshot.active_sanctions:
            self.sanctions.add(sanction)
        self._last_message_id = snapshot.last_message_id
        log.info(
            "loaded %d users, %d rooms, %d pending requests, %d sanctions",
            len(self.users),
            len(snapshot.rooms),
            len(snapshot.pending_requests),
            len(snapshot.active_sanctions),
        )

    # ---- connections ---------------------------------------------------------

    def accept(self, client: socket.socket, address: tuple[str, int]) -> None:
        """Take a newly accepted client socket into the loop."""
        if self.stopping:
            client.close()
            return
        client.setblocking(False)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls_context is not None:  # the handshake runs in the loop, without blocking
            client = self.tls_context.wrap_socket(
                client, server_side=True, do_handshake_on_connect=False
            )
        connection = Connection(self, client, address)
        self.connections.add(connection)
        self.ip_connections[connection.ip] += 1
        self.loop.add_reader(client, connection)
        ban = self.sanctions.blocking(None, connection.ip, now_ms())
        limit = self.config.max_connections_per_ip
        if ban is not None and ban.kind is SanctionKind.BAN:
            log.info("%s: refused at connect (banned IP)", connection.peer)
            self.refuse(connection, sanction_error(ban, fatal=True))
        elif limit and self.ip_connections[connection.ip] > limit:
            error = self.rate_limited(
                f"more than {limit} connections from this IP", 10.0, connection
            )
            error.fatal = True
            self.refuse(connection, error)

    def rate_limited(self, what: str, wait: float, connection: Connection) -> ProtocolError:
        """The ``rate_limited`` error for a tripped limit, logged."""
        log.warning("%s: rate limited: %s (retry in %.1f s)", connection.peer, what, wait)
        return ProtocolError(
            ErrorCode.RATE_LIMITED,
            f"too many requests: {what}; try again in {wait:.0f} s",
            retry_after_ms=max(1, math.ceil(wait * 1000)),
        )

    def connection_closed(self, connection: Connection) -> None:
        """Forget a closed connection (called by ``Connection.close``)."""
        self.end_session(connection)
        if connection in self.connections:
            self.connections.discard(connection)
            self.ip_connections[connection.ip] -= 1
            if self.ip_connections[connection.ip] <= 0:
                del self.ip_connections[connection.ip]
        self.pending_output.discard(connection)
        self.held_back.discard(connection)

    # ---- flow control --------------------------------------------------------

    def store_backlogged(self) -> bool:
        """Whether the store worker is so far behind that readers should wait."""
        return self.store_worker.pending > self.config.store_high_water

    def hold_back(self, connection: Connection) -> None:
        """Stop reading from ``connection`` until the store worker has caught up.

        Past ``store_high_water`` jobs waiting for the store, the connections
        that feed it are no longer read; below ``store_low_water`` they are read
        again. Their requests wait in TCP, which slows the senders down, instead
        of a queue (and every message's latency) growing without bound when
        messages come faster than the database stores them.
        """
        now = time.monotonic()
        if not self.held_back and now - self._last_hold_back_log > 10:
            self._last_hold_back_log = now
            log.warning(
                "the store is %d jobs behind: not reading the senders until it catches up",
                self.store_worker.pending,
            )
        connection.pause_reading()
        self.held_back.add(connection)
        self.hold_backs += 1

    def _release_held_back(self) -> None:
        if self.held_back and self.store_worker.pending <= self.config.store_low_water:
            held, self.held_back = self.held_back, set()
            for connection in held:
                connection.resume_reading()

    def _flush_pending_output(self) -> None:
        """Write every connection that has output, once per loop iteration.

        The loop's ``after_events`` hook, so it runs after the iteration's reads,
        worker results and timers. Writing here rather than in ``send`` is what
        lets a reader that got fifty messages in one iteration get one
        ``send`` call. Held-back connections are released first (the store
        worker may have caught up), then the room fan-out hands out what the
        group commits delivered, and only then is each connection written.
        """
        self._release_held_back()
        self.room_fanout.flush()
        if not self.pending_output:
            return
        pending, self.pending_output = self.pending_output, set()
        for connection in pending:
            connection.flush()

    # ---- requests ------------------------------------------------------------

    def dispatch(self, connection: Connection, frame: Frame) -> None:
        """Handle one frame from a client; every request gets exactly one reply.

        A frame that is no valid request is refused here (``refuse``). A valid
        request is counted in flight on its connection until it is answered
        (``reply`` or ``reject``), which is what keeps pipelined requests in
        order (see ``Connection.handle_frames``).
        """
        if connection.phase is Phase.NEW and frame.type != MessageType.HELLO:
            error = ProtocolError(ErrorCode.HELLO_REQUIRED, "send HELLO first", fatal=True)
            self.refuse(connection, error, request_id_of(frame))
            return
        if frame.type == MessageType.PING or frame.type == MessageType.PONG:
            try:
                ping = decode_as(Ping, frame.payload)
            except ProtocolError as error:
                self.refuse(connection, error)
                return
            if frame.type == MessageType.PING:
                connection.send(encode(Pong(ping.nonce)))
            return
        try:
            request = decode_request(frame)
        except ProtocolError as error:
            self.refuse(connection, error, request_id_of(frame))
            return
        connection.request_started(request)
        try:
            if self.stopping:
                raise ProtocolError(
                    ErrorCode.UNAVAILABLE,
                    "the server is stopping",
                    retry_after_ms=RETRY_AFTER_MS,
                )
            self._handlers[type(request)](connection, request)
        except ProtocolError as error:
            self.reject(connection, error, request.id)
        except Exception:
            log.exception("%s: request %s failed", connection.peer, type(request).__name__)
            self.reject(
                connection, ProtocolError(ErrorCode.INTERNAL, "internal server error"), request.id
            )

    def send(self, connection: Connection, message: Message) -> None:
        """Encode ``message`` and queue it for ``connection``, never over ``max_frame``.

        The answers that can grow (HISTORY, LOGIN's ``online``) cut themselves
        to fit; should one not, this is a bug, logged, and the client gets
        ``ERROR internal`` instead of a frame it would have to refuse.
        """
        data = encode(message)
        if len(data) - HEADER_SIZE > self.config.max_frame:
            log.error(
                "%s: a %s of %d bytes is over max_frame; sent ERROR internal instead",
                connection.peer,
                type(message).__name__,
                len(data),
            )
            request_id = message.id if isinstance(message, Reply) else None
            data = encode(Error(request_id, str(ErrorCode.INTERNAL), "the answer is too large"))
        connection.send(data)

    def reply(self, connection: Connection, reply: Reply) -> None:
        """Answer a request with its OK."""
        self.send(connection, reply)
        connection.request_answered()

    def reject(self, connection: Connection, error: ProtocolError, request_id: int) -> None:
        """Answer a request with ERROR, closing the connection if the error is fatal."""
        self.refuse(connection, error, request_id)
        connection.request_answered()

    def refuse(
        self, connection: Connection, error: ProtocolError, request_id: int | None = None
    ) -> None:
        """Send ERROR for a frame that is no request in flight (malformed, before HELLO...).

        Malformed frames count: ``MAX_ERRORS_BEFORE_CLOSE`` of them close the
        connection; a fatal error closes it once the ERROR is flushed.
        """
        connection.send(encode(Error.of(error, request_id)))
        if error.code in _COUNTED_ERRORS:
            connection.protocol_errors += 1
            if connection.protocol_errors >= MAX_ERRORS_BEFORE_CLOSE:
                connection.close_after_flush("too many malformed frames")
                return
        if error.fatal:
            connection.close_after_flush(f"fatal error {error.code}")

    def failed(self, connection: Connection, request_id: int, outcome: Outcome[Any]) -> bool:
        """If a worker's outcome is an exception, answer the request with it; say whether."""
        if not isinstance(outcome, BaseException):
            return False
        if isinstance(outcome, ProtocolError):
            error = outcome
        elif isinstance(outcome, StoreError):
            error = ProtocolError(
                ErrorCode.UNAVAILABLE,
                "storage is unavailable; nothing was lost, try again",
                retry_after_ms=RETRY_AFTER_MS,
            )
        else:
            log.error("%s: worker failed: %r", connection.peer, outcome)
            error = ProtocolError(ErrorCode.INTERNAL, "internal server error")
        self.reject(connection, error, request_id)
        return True

    # ---- sending to many -----------------------------------------------------

    def send_to(self, connections: Iterable[Connection], data: bytes) -> None:
        """Send the same encoded frame to several connections (encoded once by the caller)."""
        for connection in connections:
            connection.send(data)

    def announce_presence(self, presence: Presence, skip: Connection | None = None) -> None:
        """PRESENCE to every logged-in session (but ``skip``)."""
        data = encode(PresenceEvent(presence.login, presence.status))
        self.send_to((c for c in self.sessions.all() if c is not skip), data)

    # ---- messages ------------------------------------------------------------

    def next_message_id(self) -> int:
        """A new message id, increasing in send order."""
        self._last_message_id += 1
        return self._last_message_id

    def public_message(self, message: StoredMessage) -> ChatMessage:
        """The protocol's ``Message`` for a stored message."""
        return ChatMessage(
            id=message.id,
            room=None if message.room_id is None else self.rooms.get(message.room_id).name,
            sender=self.users.get(message.sender_id).login,
            recipient=(
                None if message.recipient_id is None else self.users.get(message.recipient_id).login
            ),
            text=message.text,
            ts=message.ts,
        )

    # ---- sessions ------------------------------------------------------------

    def end_session(self, connection: Connection) -> None:
        """Close the connection's session, if any: presence, subscriptions, connection log."""
        user = connection.user
        if connection.phase is not Phase.LOGGED_IN or user is None:
            return
        self.sessions.close(connection, user.id)
        connection.phase = Phase.READY
        connection.user = None
        connection.token_hash = None
        connection.wants_read_state = False
        change = self.presence.session_closed(user.id)
        if change is not None:
            self.announce_presence(change)
        log_id = connection.log_id
        connection.log_id = None
        if log_id is not None:
            ended = now_ms()
            self.store_worker.submit(
                lambda store: store.log_connection_end(log_id, ended), lambda _outcome: None
            )

    # ---- heartbeats ----------------------------------------------------------

    def _sweep_interval(self) -> float:
        return min(1.0, self.config.heartbeat / 4, self.config.hello_timeout / 4)

    def _heartbeat_sweep(self) -> None:
        """PING the silent, close the silent for too long, and those that never said HELLO."""
        now = time.monotonic()
        heartbeat = self.config.heartbeat
        for connection in list(self.connections):
            silence = now - connection.last_heard
            if (
                connection.phase is Phase.NEW
                and now - connection.opened >= self.config.hello_timeout
            ):
                log.warning(
                    "%s: closed, no HELLO within %.0f s", connection.peer, self.config.hello_timeout
                )
                connection.close("no HELLO in time")
            elif silence >= 3 * heartbeat:
                connection.close(f"silent for {silence:.0f} s")
            elif silence >= heartbeat and not connection.ping_outstanding:
                connection.ping_outstanding = True
                self._ping_counter += 1
                nonce = msgspec.Raw(b"%d" % self._ping_counter)
                connection.send(encode(Ping(nonce)))
        if not self.stopping:
            self.loop.call_later(self._sweep_interval(), self._heartbeat_sweep)

    # ---- clean stop ----------------------------------------------------------

    def _begin_stop(self) -> None:
        """Start the clean stop on the loop thread: refuse newcomers, then let work finish.

        ``request_stop`` posts this from any thread (a signal handler, the
        admin console, a test), so it runs between two iterations and never in
        the middle of a request. It closes the listening socket first, so no
        new client arrives while we wind down, and sets ``stopping``, which
        makes new requests refused and the heartbeat sweep stop rescheduling.
        The rest is ``_stop_step``, rescheduled on a timer rather than waited
        for: the loop must keep running for the workers' results to come back
        and for the goodbyes to be flushed. ``stop_timeout`` bounds the wait, so
        a stuck database cannot hold the stop forever. A second call does
        nothing.
        """
        if self.stopping:
            return
        self.stopping = True
        log.info("stopping: finishing pending work")
        self._stop_deadline = time.monotonic() + self.config.stop_timeout
        if self._listener is not None:
            self.loop.remove(self._listener.sock)
            self._listener.sock.close()
        self._stop_step(closed_connections=False)

    def _busy(self) -> bool:
        return self.store_worker.pending > 0 or self.hasher.in_flight > 0

    def _stop_step(self, closed_connections: bool) -> None:
        """Wait for workers, say goodbye, close everyone politely, then end the loop."""
        late = time.monotonic() > self._stop_deadline
        if not late and self._busy():
            self.loop.call_later(0.01, lambda: self._stop_step(closed_connections))
            return
        if not closed_connections:
            goodbye = encode(Shutdown(0, self.stop_reason))
            for connection in list(self.connections):
                connection.send(goodbye)
                connection.close_after_flush("server stopping")
            self.loop.call_later(0.01, lambda: self._stop_step(True))
            return
        if not late and (self.pending_output or any(c.output for c in self.connections)):
            self.loop.call_later(0.01, lambda: self._stop_step(True))
            return
        for connection in list(self.connections):
            connection.close("server stopped")
        self.loop.stop()
