"""The client's networking: one connection to the server, usable from any thread.

``ChatConnection`` owns a socket and a reader thread. ``request`` sends a
request and blocks until its reply arrives (replies are matched by ``id``, so
several threads may wait at once). Events (MESSAGE, PRESENCE, ...) go to the
``events`` queue and to an optional ``on_event`` callback, both fed by the
reader thread: a GUI must not touch its widgets from that callback, but drain
the queue from its own thread (Tk: ``after``). The reader answers the server's
PING itself; a heartbeat thread sends PING when the client has been silent.

The command-line client uses it now; the desktop client uses it too.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import msgspec

from guigui import __version__
from guigui.client.addresses import AddressRing, ServerAddress
from guigui.client.trust import TrustPolicy
from guigui.common.codec import Frame, FrameDecoder
from guigui.common.errors import ProtocolError
from guigui.common.messages import (
    Conversations,
    ConversationsOk,
    Direct,
    Error,
    Hello,
    HelloOk,
    History,
    HistoryOk,
    Join,
    JoinOk,
    Leave,
    ListRooms,
    Login,
    Logout,
    MarkRead,
    Message,
    MessageOk,
    Ping,
    Pong,
    ReadOk,
    Register,
    RegisterOk,
    Request,
    Resume,
    RoomsOk,
    Say,
    SessionOk,
    SetStatus,
    decode_as,
    decode_event,
    decode_reply,
    encode,
    request_id_of,
)
from guigui.common.objects import ChatMessage, ConversationState, Room, User
from guigui.common.protocol import (
    CONVERSATIONS_DEFAULT_LIMIT,
    CONVERSATIONS_MAX_LIMIT,
    DEFAULT_HEARTBEAT,
    DEFAULT_MAX_FRAME,
    DEFAULT_MAX_TEXT,
    HISTORY_DEFAULT_LIMIT,
    MAX_REQUEST_ID,
    PROTOCOL_VERSION,
    ErrorCode,
    MessageType,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0


class ConnectionLost(Exception):
    """The connection closed (or could not be used) before the reply came."""


class RequestFailed(ProtocolError):
    """The server answered a request with ERROR; ``code``, ``message``, ``details`` say why."""


class NoServerReachable(OSError):
    """None of the servers answered; ``failures`` says why for each one tried, one line each."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__("; ".join(failures) or "no server to try")
        self.failures = failures


@dataclass(frozen=True)
class ServerInfo:
    """The HELLO reply: the server's name and its limits."""

    server: str
    max_frame: int
    max_text: int
    heartbeat: float


class ChatConnection:
    """A connection to a GuiGui server (thread-safe)."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        on_event: Callable[[Any], None] | None = None,
        on_disconnect: Callable[[], None] | None = None,
    ) -> None:
        self._sock = sock
        self._decoder = FrameDecoder(DEFAULT_MAX_FRAME)
        self._send_lock = threading.Lock()
        # OpenSSL does not allow one TLS connection to be read and written by two
        # threads at once (a HELLO written while the reader handled a session ticket
        # was lost): with TLS, reads and writes take turns under this lock.
        self._tls_lock = threading.Lock() if isinstance(sock, ssl.SSLSocket) else None
        self._waiting: dict[int, Future[Frame]] = {}
        """The requests waiting for their reply, by id: the reader thread completes them."""
        self._waiting_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closed = threading.Event()
        self._last_sent = time.monotonic()
        self.events: queue.Queue[Any] = queue.Queue()
        self.on_event = on_event
        self.on_disconnect = on_disconnect
        self.info = ServerInfo("?", DEFAULT_MAX_FRAME, DEFAULT_MAX_TEXT, DEFAULT_HEARTBEAT)
        self._reader = threading.Thread(target=self._read_loop, name="guigui-reader", daemon=True)
        self._reader.start()

    # ---- opening and closing --------------------------------------------------

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        *,
        timeout: float = 10.0,
        client_name: str = f"guigui-cli/{__version__}",
        tls: bool = False,
        trust: TrustPolicy | None = None,
        on_event: Callable[[Any], None] | None = None,
        on_disconnect: Callable[[], None] | None = None,
    ) -> ChatConnection:
        """Connect, say HELLO and return the ready connection.

        With ``tls`` the stream is TLS, its certificate checked by ``trust`` (a CA
        file, or the fingerprint pinned at first use).
        Raises ``OSError`` when the server cannot be reached (``ssl.SSLError``
        is one: a certificate that does not verify) and
        ``RequestFailed`` when it refuses the handshake.
        """
        sock = socket.create_connection((host, port), timeout=timeout)
        return cls._greet(
            sock,
            ServerAddress(host, port),
            timeout,
            client_name,
            tls,
            trust,
            on_event,
            on_disconnect,
        )

    @classmethod
    def connect_any(
        cls,
        servers: AddressRing,
        *,
        timeout: float = 10.0,
        client_name: str = f"guigui-cli/{__version__}",
        tls: bool = False,
        trust: TrustPolicy | None = None,
        on_event: Callable[[Any], None] | None = None,
        on_disconnect: Callable[[], None] | None = None,
    ) -> ChatConnection:
        """Connect to the first of ``servers`` that answers, trying each IP address in turn.

        The round starts after the endpoint ``servers`` last used (round robin),
        and the one that answers becomes its ``last_used``. A server that cannot
        be reached, or answers HELLO with ``unavailable``, is passed over.
        Raises ``NoServerReachable`` (an ``OSError``, naming each failure) when none
        answers, ``ssl.SSLError`` at once when a certificate does not verify (a
        refused certificate is not an outage) and ``RequestFailed`` when a server
        refuses the handshake otherwise.
        """
        endpoints, failures = servers.round()
        for endpoint in endpoints:
            try:
                sock = endpoint.open(timeout)
                connection = cls._greet(
                    sock,
                    endpoint.address,
                    timeout,
                    client_name,
                    tls,
                    trust,
                    on_event,
                    on_disconnect,
                )
            except ssl.SSLError:
                raise
            except RequestFailed as error:
                if error.code != ErrorCode.UNAVAILABLE:
                    raise
                failures.append(f"{endpoint}: {error.message}")
            except (OSError, ConnectionLost, TimeoutError) as error:
                failures.append(f"{endpoint}: {error}")
            else:
                servers.used(endpoint)
                return connection
            log.info("server %s not reached: %s", endpoint, failures[-1])
        raise NoServerReachable(failures)

    @classmethod
    def _greet(
        cls,
        sock: socket.socket,
        address: ServerAddress,
        timeout: float,
        client_name: str,
        tls: bool,
        trust: TrustPolicy | None,
        on_event: Callable[[Any], None] | None,
        on_disconnect: Callable[[], None] | None,
    ) -> ChatConnection:
        """Wrap a connected socket in TLS if asked, say HELLO; the ready connection."""
        if tls:
            try:
                sock = (trust or TrustPolicy()).wrap(sock, address.host, address.port)
            except BaseException:
                sock.close()
                raise
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = cls(sock, on_event=on_event, on_disconnect=on_disconnect)
        try:
            reply: HelloOk = connection.request(
                Hello(0, PROTOCOL_VERSION, client_name), timeout=timeout
            )
        except BaseException:
            connection.close()
            raise
        connection.info = ServerInfo(
            server=reply.server,
            max_frame=reply.max_frame,
            max_text=reply.max_text,
            heartbeat=reply.heartbeat,
        )
        connection._decoder.max_frame = max(connection.info.max_frame, DEFAULT_MAX_FRAME)
        threading.Thread(
            target=connection._heartbeat_loop, name="guigui-heartbeat", daemon=True
        ).start()
        return connection

    @property
    def closed(self) -> bool:
        """Whether the connection is closed."""
        return self._closed.is_set()

    def close(self) -> None:
        """Close the connection (idempotent); waiting requests get ``ConnectionLost``."""
        if self._closed.is_set():
            return
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the reader thread
        # Close the descriptor only once the reader has left recv(): closed earlier,
        # its number could be reused by a new socket, and a reader about to call recv()
        # would steal that socket's bytes (seen as failed TLS handshakes).
        if threading.current_thread() is not self._reader:
            self._reader.join(timeout=5)
        self._sock.close()
        self._fail_waiting()

    # ---- requests --------------------------------------------------------------

    def request(self, request: Request, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Send a request and wait for its reply; returns the typed OK (``REPLY_TYPES``).

        The request's ``id`` is replaced by a fresh one (build it with ``id=0``).
        Raises ``RequestFailed`` (ERROR), ``ConnectionLost`` or ``TimeoutError``.
        """
        request_id = self._next_id()
        future: Future[Frame] = Future()
        with self._waiting_lock:
            self._waiting[request_id] = future
        try:
            self._send(msgspec.structs.replace(request, id=request_id))
            try:
                frame = future.result(timeout)
            except TimeoutError:
                raise TimeoutError(f"no reply from the server within {timeout:.0f} s") from None
        finally:
            with self._waiting_lock:
                self._waiting.pop(request_id, None)
        reply = decode_reply(frame, type(request))
        if isinstance(reply, Error):
            try:
                error_code = ErrorCode(reply.code)
            except ValueError:
                error_code = ErrorCode.INTERNAL
            raise RequestFailed(error_code, reply.message or reply.code, **reply.details())
        return reply

    def register(
        self, login: str, password: str, first_name: str, last_name: str, email: str
    ) -> User:
        """Create an account (does not log in)."""
        reply: RegisterOk = self.request(Register(0, login, password, first_name, last_name, email))
        return reply.user

    def login(self, login: str, password: str) -> SessionOk:
        """Open a session with a password."""
        reply: SessionOk = self.request(Login(0, login, password))
        return reply

    def resume(self, token: str) -> SessionOk:
        """Open a session with the token of an earlier login."""
        reply: SessionOk = self.request(Resume(0, token))
        return reply

    def logout(self) -> None:
        """End the session and revoke its token."""
        self.request(Logout(0))

    def set_status(self, status: str) -> None:
        """``online``, ``away`` or ``busy``."""
        self.request(SetStatus(0, status))

    def rooms(self) -> list[Room]:
        """Every room, as this user sees it."""
        reply: RoomsOk = self.request(ListRooms(0))
        return reply.rooms

    def join(self, room: str) -> JoinOk:
        """Join a room: status ``joined`` (with the room) or ``pending`` (with the request's id)."""
        reply: JoinOk = self.request(Join(0, room))
        return reply

    def leave(self, room: str) -> None:
        """Leave a room."""
        self.request(Leave(0, room))

    def history(
        self,
        room: str | None = None,
        with_user: str | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> tuple[list[ChatMessage], bool]:
        """A page of history, oldest first, and whether older messages exist."""
        request = History(0, room, with_user, before, limit or HISTORY_DEFAULT_LIMIT)
        reply: HistoryOk = self.request(request)
        return reply.messages, reply.more

    def say(self, room: str, text: str, nonce: str | None = None) -> ChatMessage:
        """Send a message to a room; returns it as stored."""
        reply: MessageOk = self.request(Say(0, room, text, nonce))
        return reply.message

    def direct(self, to: str, text: str, nonce: str | None = None) -> ChatMessage:
        """Send a direct message; returns it as stored."""
        reply: MessageOk = self.request(Direct(0, to, text, nonce))
        return reply.message

    def conversations(
        self, before: int | None = None, limit: int | None = None
    ) -> tuple[list[ConversationState], bool]:
        """A page of the user's conversations with their read state, and whether more exist.

        The first page (``before`` None) has every room the user is in, then the
        newest direct conversations; pass the last one's ``last_id`` as ``before``
        for older ones.
        """
        request = Conversations(0, before, limit or CONVERSATIONS_DEFAULT_LIMIT)
        reply: ConversationsOk = self.request(request)
        return reply.conversations, reply.more

    def all_conversations(self, max_pages: int = 20) -> list[ConversationState]:
        """Every conversation (at most ``max_pages`` pages of direct ones), rooms first."""
        found, more = self.conversations(limit=CONVERSATIONS_MAX_LIMIT)
        for _page in range(max_pages - 1):
            directs = [state for state in found if state.with_user is not None]
            if not more or not directs:
                break
            page, more = self.conversations(directs[-1].last_id, CONVERSATIONS_MAX_LIMIT)
            found += page
        return found

    def mark_read(
        self, up_to: int, room: str | None = None, with_user: str | None = None
    ) -> ConversationState:
        """Tell the server the conversation was read up to message ``up_to``; its state after."""
        reply: ReadOk = self.request(MarkRead(0, room=room, with_user=with_user, up_to=up_to))
        return reply.conversation

    # ---- internals -----------------------------------------------------------

    def _next_id(self) -> int:
        return next(self._ids) % MAX_REQUEST_ID + 1

    def _send(self, message: Message) -> None:
        data = encode(message)
        with self._send_lock, self._tls_lock or contextlib.nullcontext():
            if self._closed.is_set():
                raise ConnectionLost("the connection is closed")
            try:
                self._sock.sendall(data)
            except OSError as error:
                raise ConnectionLost(f"cannot send: {error}") from error
            self._last_sent = time.monotonic()

    def _receive(self) -> bytes:
        """The next bytes from the server (b"" at the end), taking turns with writers on TLS."""
        if self._tls_lock is None:
            return self._sock.recv(65536)
        sock = self._sock
        assert isinstance(sock, ssl.SSLSocket)
        while True:
            if not sock.pending():
                select.select([sock], [], [], 1.0)  # wait for bytes without the lock
            with self._tls_lock:
                sock.setblocking(False)
                try:
                    return sock.recv(65536)
                except (ssl.SSLWantReadError, BlockingIOError):
                    continue  # a partial record, or no data after all
                finally:
                    sock.setblocking(True)

    def _read_loop(self) -> None:
        try:
            while True:
                data = self._receive()
                if not data:
                    break
                self._decoder.feed(data)
                while (frame := self._decoder.next_frame()) is not None:
                    self._handle(frame)
        except (OSError, ProtocolError) as error:
            if not self._closed.is_set():
                log.info("connection lost: %s", error)
        finally:
            was_open = not self._closed.is_set()
            self.close()
            if was_open and self.on_disconnect is not None:
                self.on_disconnect()

    def _handle(self, frame: Frame) -> None:
        if frame.type in (MessageType.OK, MessageType.ERROR):
            request_id = request_id_of(frame)
            if request_id is not None:
                with self._waiting_lock:
                    future = self._waiting.get(request_id)
                if future is None:
                    log.warning("reply to unknown request %r ignored", request_id)
                elif not future.done():
                    future.set_result(frame)
                return
        if frame.type == MessageType.PING:
            with contextlib.suppress(ConnectionLost, ProtocolError):
                self._send(Pong(decode_as(Ping, frame.payload).nonce))
            return
        if frame.type == MessageType.PONG:
            return
        # An ERROR with no id, or an event this client does not know, is passed on raw.
        event: Any = frame
        with contextlib.suppress(ProtocolError):
            event = decode_event(frame)
        self.events.put(event)
        if self.on_event is not None:
            self.on_event(event)

    def _heartbeat_loop(self) -> None:
        interval = max(self.info.heartbeat, 1.0)
        while not self._closed.wait(interval / 4):
            if time.monotonic() - self._last_sent >= interval:
                try:
                    self._send(Ping(msgspec.Raw(b"%d" % time.time())))
                except ConnectionLost:
                    return

    def _fail_waiting(self) -> None:
        with self._waiting_lock:
            waiting = list(self._waiting.values())
        for future in waiting:
            if not future.done():
                future.set_exception(ConnectionLost("the connection closed"))
