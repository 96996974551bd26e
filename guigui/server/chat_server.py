"""The chat server: one event-loop thread owning every socket and all chat state.

``ChatServer.start`` loads the store's snapshot into the core objects, binds the
listening socket, starts the store worker and runs the loop in its own thread.
From then on only the loop thread touches connections, the core and the
registries; bcrypt and the store run on workers whose results come back
through the loop's wake-up socketpair (see ``guigui.server.workers``).

This module builds the parts and joins them: it owns the connections (it is
their ``ConnectionOwner``), hands each request to the handler that the table
names, and runs heartbeats and the clean stop. The
requests themselves are handled in ``guigui.server.handlers``, answered
through ``guigui.server.replies``, and stored messages are delivered by
``guigui.server.delivery``.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from functools import partial

import msgspec

from guigui.common.errors import ProtocolError
from guigui.common.file_frames import FileChunk
from guigui.common.messages import Ping, Request, Shutdown, encode
from guigui.common.protocol import ErrorCode, SanctionKind
from guigui.server.announcements import Announcements
from guigui.server.clock import now_ms
from guigui.server.config import ServerConfig, files_directory
from guigui.server.connection import Connection, Phase
from guigui.server.core.accounts import UserDirectory
from guigui.server.core.limits import FailureThrottle, SlidingWindow
from guigui.server.core.presence import PresenceBook
from guigui.server.core.rooms import RoomDirectory
from guigui.server.core.sanctions import SanctionBook, sanction_error
from guigui.server.delivery import Delivery, Sender
from guigui.server.file_storage import (
    ContentStore,
    DatabaseContent,
    DirectoryContent,
    FileWorker,
)
from guigui.server.files import FileService
from guigui.server.handlers.base import RequestHandler
from guigui.server.handlers.files import FileHandlers
from guigui.server.handlers.messaging import MessageIds, MessagingHandlers
from guigui.server.handlers.read_state import ReadStateHandlers
from guigui.server.handlers.rooms import RoomHandlers
from guigui.server.handlers.session import LoginLimits, SessionHandlers
from guigui.server.hashing import PasswordHasher
from guigui.server.loop import EventLoop
from guigui.server.pending_output import PendingOutput
from guigui.server.replies import RETRY_AFTER_MS, error_for, rate_limited, reject
from guigui.server.retention import MessageRetention
from guigui.server.sessions import SessionRegistry
from guigui.server.store import Snapshot, Store, open_store
from guigui.server.store.relational import RelationalStore
from guigui.server.thread_names import name_os_thread
from guigui.server.tls import tls_server_context
from guigui.server.workers import StoreWorker

log = logging.getLogger(__name__)

ADMIN_FREE_FAILURES = 3
"""Failed admin logins allowed per admin login before it is locked for a while."""
ADMIN_FIRST_LOCK = 5.0
"""Seconds of the first lock of an admin login; each further failure doubles it."""
ADMIN_MAX_LOCK = 300.0
"""Longest lock of an admin login (seconds)."""


def content_store(config: ServerConfig) -> ContentStore:
    """Where the content of files lives: the shared database in a cluster, else a directory.

    The database content has a store (a connection) of its own, for the file worker.
    """
    if config.files_in_database or config.cluster_url is not None:
        store = open_store(config.database_url)
        assert isinstance(store, RelationalStore)
        return DatabaseContent(store)
    return DirectoryContent(files_directory(config))


def countdown_steps(seconds: int) -> list[int]:
    """When to warn during a stop countdown: every 10 s, then every second from 10."""
    return sorted(
        {seconds, *range(min(seconds, 10), 0, -1), *range(0, seconds, 10)} - {0}, reverse=True
    )


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

    def __init__(
        self,
        config: ServerConfig,
        store: Store | None = None,
        *,
        cluster: Callable[[ChatServer], Announcements] | None = None,
    ) -> None:
        """``cluster``: makes this server's link to the other nodes (``ClusterNode``).

        Without it, the server is alone: it announces nothing.
        """
        self.config = config
        self.store = store if store is not None else open_store(config.database_url)
        self.loop = EventLoop()
        self.loop.after_events = self._flush_pending_output
        # The chat's state, plain Python (guigui/server/core) and live sessions.
        self.users = UserDirectory()
        self.rooms = RoomDirectory()
        self.presence = PresenceBook()
        self.sanctions = SanctionBook()
        self.sessions = SessionRegistry()
        # What the other nodes of a cluster must hear of (a lone server tells nobody).
        # A ClusterNode only keeps the server here: it uses its parts once started.
        self.announce = Announcements() if cluster is None else cluster(self)
        self.delivery = Delivery(self.sessions, self.rooms, self.users, self.announce)
        # The workers: what would block the loop runs there.
        self.hasher = PasswordHasher(self.loop, config.bcrypt_cost)
        # In a cluster, message ids come from the database, in commit order across
        # the nodes; alone, the loop gives them (guigui/server/store/relational.py).
        self.store_worker: StoreWorker[Sender] = StoreWorker(
            self.loop,
            self.store,
            self.delivery.messages_saved,
            number_ids=config.cluster_url is not None,
        )
        self.message_ids = MessageIds()
        # Files: their content off the loop, on the file worker (guigui/server/files.py).
        self.file_worker = FileWorker(self.loop)
        self.files = FileService(
            content_store(config),
            self.file_worker,
            self.store_worker,
            config.max_frame,
        )
        """Uploads, downloads and content; ``files.delete_file`` for the admin."""
        self.connections: set[Connection] = set()
        # Per IP, attempts in flight count only after a failure: a whole office
        # behind one NAT may log in at once. An attacker's first burst is still
        # bounded: one LOGIN at a time per connection, max_connections_per_ip.
        limits = LoginLimits(
            failures_per_account=FailureThrottle(
                config.login_free_failures, config.login_first_lock, config.login_max_lock
            ),
            failures_per_ip=FailureThrottle(
                config.login_free_failures * 4,
                config.login_first_lock,
                config.login_max_lock,
                strict_in_flight=False,
            ),
            registrations_per_ip=SlidingWindow(config.registrations_per_ip_per_hour, 3600.0),
        )
        # The handlers, each given what it uses; their tables joined into one.
        self.session_handlers = SessionHandlers(
            config,
            self.users,
            self.rooms,
            self.presence,
            self.sanctions,
            self.sessions,
            limits,
            self.hasher,
            self.store_worker,
            self.delivery,
            self.announce,
        )
        families = (
            self.session_handlers,
            RoomHandlers(self.rooms, self.sessions, self.store_worker, self.announce),
            MessagingHandlers(
                config,
                self.users,
                self.rooms,
                self.message_ids,
                self.store_worker,
                self.delivery,
            ),
            ReadStateHandlers(
                config, self.users, self.rooms, self.sessions, self.store_worker, self.announce
            ),
            FileHandlers(
                config,
                self.users,
                self.rooms,
                self.message_ids,
                self.store_worker,
                self.delivery,
                self.files,
            ),
        )
        self._handlers: dict[type, RequestHandler] = {}
        for family in families:
            self._handlers.update(family.handlers())
        # The connections and the server's own bookkeeping.
        self.pending_output = PendingOutput(config.write_coalescing)
        """Connections with output, written at once or within ``write_coalescing`` seconds."""
        self._output_wakeup: float | None = None
        """When the loop is set to wake up for deferred output (a timer), if it is."""
        self.held_back: set[Connection] = set()
        """Connections not read from while the store worker catches up."""
        self._last_hold_back_log = -math.inf
        self.hold_backs = 0
        """Times a connection was held back since start (flow control at work)."""
        self.ip_connections: Counter[str] = Counter()
        self.address: tuple[str, int] = (config.host, config.port)
        self.started_at = time.time()
        self.stopping = False
        self.tls_context = tls_server_context(config) if config.tls_cert else None
        self._listener: _Listener | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._stop_deadline = 0.0
        self._ping_counter = 0
        self.stop_reason = "the server is stopping"
        self.admin_throttle = FailureThrottle(ADMIN_FREE_FAILURES, ADMIN_FIRST_LOCK, ADMIN_MAX_LOCK)
        """Failed admin logins per admin login (``login_key``), shared by every admin view."""

    @property
    def messages_stored(self) -> int:
        """Messages stored since start (for the admin's live figures)."""
        return self.delivery.messages_stored

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
        self.file_worker.start()
        self.announce.join_cluster()
        # Scheduled before the loop thread starts: from then on only that thread
        # may touch the loop's timers.
        self.loop.call_later(self._sweep_interval(), self._heartbeat_sweep)
        self.loop.call_later(self._partial_sweep_interval(), self._partial_sweep)
        if self.config.message_retention_days is not None:
            days = self.config.message_retention_days
            MessageRetention(self.loop, self.store_worker, days, self.files).start()
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
        name_os_thread()
        try:
            self.loop.run()
        finally:
            self.file_worker.stop()
            self.files.storage.close()
            self.store_worker.stop()
            self.announce.leave_cluster()
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
        self.message_ids.last = snapshot.last_message_id
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
        connection = Connection(self, self.loop, self.config, client, address)
        self.connections.add(connection)
        self.ip_connections[connection.ip] += 1
        self.loop.add_reader(client, connection)
        ban = self.sanctions.blocking(None, connection.ip, now_ms())
        limit = self.config.max_connections_per_ip
        if ban is not None and ban.kind is SanctionKind.BAN:
            log.info("%s: refused at connect (banned IP)", connection.peer)
            connection.refuse(sanction_error(ban, fatal=True))
        elif limit and self.ip_connections[connection.ip] > limit:
            error = rate_limited(f"more than {limit} connections from this IP", 10.0, connection)
            error.fatal = True
            connection.refuse(error)

    # ---- what the connections tell their owner (ConnectionOwner) -------------

    def has_output(self, connection: Connection) -> None:
        """Flush ``connection`` at the end of this loop iteration."""
        self.pending_output.add(connection)

    def closing(self, connection: Connection) -> None:
        """End the connection's session, if any: it takes no more requests."""
        self.session_handlers.end_session(connection)

    def closed(self, connection: Connection) -> None:
        """Forget a closed connection."""
        if connection in self.connections:
            self.connections.discard(connection)
            self.ip_connections[connection.ip] -= 1
            if self.ip_connections[connection.ip] <= 0:
                del self.ip_connections[connection.ip]
        self.pending_output.discard(connection)
        self.held_back.discard(connection)
        self.files.connection_closed(connection)

    def chunk_received(self, connection: Connection, chunk: FileChunk) -> None:
        """A FILE_CHUNK: the file service checks it and has it written."""
        self.files.chunk_received(connection, chunk)

    # ---- flow control --------------------------------------------------------

    def done_reading(self, connection: Connection) -> None:
        """Stop reading from ``connection`` until the store worker has caught up, if behind.

        Past ``store_high_water`` jobs waiting for the store, the connections
        that feed it are no longer read; below ``store_low_water`` they are read
        again. Their requests wait in TCP, which slows the senders down, instead
        of a queue (and every message's latency) growing without bound when
        messages come faster than the database stores them.
        """
        if self.store_worker.pending <= self.config.store_high_water:
            return
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
        """Write the connections that have output, at most once per loop iteration.

        The loop's ``after_events`` hook, so it runs after the iteration's reads,
        worker results and timers. Writing here rather than in ``send`` is what
        lets a reader that got fifty messages in one iteration get one
        ``send`` call; a connection written less than ``write_coalescing``
        seconds ago waits for more, and the loop is set to wake up by then
        (``guigui.server.pending_output``). Held-back connections are released
        first (the store worker may have caught up).
        """
        self._release_held_back()
        # No new chunk once stopping: the clean stop waits for the file worker.
        downloads = bool(self.files.downloading) and not self.stopping
        if not self.pending_output:
            if downloads:
                self.files.pump()
            return
        now = time.monotonic()
        wake_at = self.pending_output.flush(now)
        if wake_at is not None and (self._output_wakeup is None or wake_at < self._output_wakeup):
            self._output_wakeup = wake_at
            self.loop.call_later(max(0.0, wake_at - now), self._output_due)
        if downloads:  # after the flush: which outputs have room for a chunk
            self.files.pump()

    def _output_due(self) -> None:
        """A deferred write is due: nothing to do here, the loop's ``after_events`` writes it."""
        self._output_wakeup = None

    # ---- requests ------------------------------------------------------------

    def request_received(self, connection: Connection, request: Request) -> None:
        """Hand a request to the handler the table names for its class.

        The connection has decoded and checked it (``Connection.handle_frames``)
        and counts it in flight until it is answered. What the handler raises
        is its ERROR (``replies.reject``, ``replies.error_for``).
        """
        try:
            if self.stopping:
                raise ProtocolError(
                    ErrorCode.UNAVAILABLE, "the server is stopping", retry_after_ms=RETRY_AFTER_MS
                )
            self._handlers[type(request)](connection, request)
        except Exception as failure:
            reject(connection, request.id, error_for(failure, connection))

    # ---- sending to many (for the admin's moderation) ------------------------

    def send_to(self, connections: Iterable[Connection], data: bytes) -> None:
        """Send the same encoded frame to several connections (encoded once by the caller)."""
        self.delivery.send_to(connections, data)

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

    def _partial_sweep_interval(self) -> float:
        """Hourly, or more often when uploads expire sooner (tests)."""
        return min(3600.0, self.config.partial_max_age / 4)

    def _partial_sweep(self) -> None:
        """Remove the unfinished uploads untouched for ``partial_max_age`` (on the file worker)."""
        if self.stopping:
            return
        self.files.sweep_partials(self.config.partial_max_age)
        self.loop.call_later(self._partial_sweep_interval(), self._partial_sweep)

    # ---- clean stop ----------------------------------------------------------

    def stop_in(self, seconds: int, reason: str) -> None:
        """Warn every client with SHUTDOWN counting down, then stop cleanly (loop thread)."""
        self.stop_reason = reason or "the server is stopping"

        def warn(remaining: int) -> None:
            frame = encode(Shutdown(remaining, self.stop_reason))
            self.send_to(list(self.connections), frame)

        for step in countdown_steps(seconds):
            self.loop.call_later(seconds - step, partial(warn, step))
        self.loop.call_later(seconds, self.request_stop)

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
        return (
            self.store_worker.pending > 0
            or self.hasher.in_flight > 0
            or self.file_worker.pending > 0
        )

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
