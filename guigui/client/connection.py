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
from pathlib import Path
from typing import Any

import msgspec

from guigui import __version__
from guigui.client import file_transfer
from guigui.client.addresses import AddressRing, ServerAddress
from guigui.client.errors import ConnectionLost as ConnectionLost
from guigui.client.errors import RequestFailed as RequestFailed
from guigui.client.file_transfer import Progress
from guigui.client.transfers import Upload
from guigui.client.trust import TrustPolicy
from guigui.common.codec import Frame, FrameDecoder
from guigui.common.errors import ProtocolError
from guigui.common.file_frames import FileChunk, decode_chunk, encode_chunk
from guigui.common.messages import (
    Conversations,
    ConversationsOk,
    Direct,
    Error,
    FileAck,
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
from guigui.common.objects import ChatMessage, ConversationState, FileInfo, Room, User
from guigui.common.protocol import (
    BINARY_TYPES,
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
    max_file: int = 0
    """Largest file the server takes, in bytes (0: a server without files)."""


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
        self._chat_writers = 0
        """Threads about to send a frame that is not file data: chunks wait for them."""
        self._chat_first = threading.Condition()
        self._transfers = threading.Condition()
        """Guards the two tables below; notified on each FILE_ACK and when the connection ends."""
        self._acks: dict[int, int] = {}
        """Uploads' acknowledged bytes (FILE_ACK), by transfer number."""
        self._chunks: dict[int, queue.Queue[FileChunk | None]] = {}
        """Downloads' FILE_DATA chunks, by transfer number, until their downloader takes them."""
        self._ended: set[int] = set()
        """Transfers over (done or cancelled): their late chunks are dropped."""
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
            max_file=reply.max_file,
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

    # ---- files (PROTOCOL.md section 7) ----------------------------------------

    def upload_file(
        self,
        state: Upload,
        *,
        room: str | None = None,
        to: str | None = None,
        text: str | None = None,
        nonce: str | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> ChatMessage:
        """Send a file to ``room`` or the user ``to``, blocking; the message stored with it.

        ``state`` is ``Upload(describe_file(path))``; give the same one again on a
        new connection after a ``ConnectionLost`` and the upload goes on from what
        the server holds. See ``guigui.client.file_transfer.upload``.
        """
        return file_transfer.upload(
            self,
            state,
            room=room,
            to=to,
            text=text,
            nonce=nonce,
            progress=progress,
            cancel=cancel,
        )

    def download_file(
        self,
        file: FileInfo | int,
        destination: Path,
        *,
        overwrite: bool = True,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> Path:
        """Save a file (its ``FileInfo`` or id) to ``destination``, a file or a directory; blocking.

        Goes on from a ``<name>.part`` left by an earlier attempt, checks the
        SHA-256, returns the path written. See ``guigui.client.file_transfer.download``.
        """
        return file_transfer.download(
            self, file, destination, overwrite=overwrite, progress=progress, cancel=cancel
        )

    def send_chunk(self, transfer: int, offset: int, data: bytes) -> None:
        """Send one FILE_CHUNK, letting any other frame waiting to be sent go first.

        So a message typed during an upload leaves between two chunks, not
        after the file.
        """
        frame = encode_chunk(MessageType.FILE_CHUNK, transfer, offset, data)
        with self._chat_first:
            self._chat_first.wait_for(lambda: self._chat_writers == 0 or self.closed)
        self._write(frame)

    def wait_for_ack(self, transfer: int, above: int, timeout: float) -> int:
        """The bytes of upload ``transfer`` the server acknowledged, once more than ``above``.

        Returns what is known after ``timeout`` seconds at most (0 waits not);
        ``ConnectionLost`` if the connection closes.
        """
        with self._transfers:
            self._transfers.wait_for(
                lambda: self._acks.get(transfer, 0) > above or self.closed, timeout
            )
            if self.closed:
                raise ConnectionLost("the connection closed during the upload")
            return self._acks.get(transfer, 0)

    def file_chunks(self, transfer: int) -> queue.Queue[FileChunk | None]:
        """The FILE_DATA chunks of download ``transfer``, in order; then None if the link ends."""
        with self._transfers:
            chunks = self._chunks.setdefault(transfer, queue.Queue())
        if self.closed:
            chunks.put(None)
        return chunks

    def end_transfer(self, transfer: int) -> None:
        """Forget ``transfer``: its late FILE_DATA and FILE_ACK are dropped from now on."""
        with self._transfers:
            self._ended.add(transfer)
            self._chunks.pop(transfer, None)
            self._acks.pop(transfer, None)

    # ---- internals -----------------------------------------------------------

    def _next_id(self) -> int:
        return next(self._ids) % MAX_REQUEST_ID + 1

    def _send(self, message: Message) -> None:
        """Send a frame; a file chunk about to go waits until it is out."""
        data = encode(message)
        with self._chat_first:
            self._chat_writers += 1
        try:
            self._write(data)
        finally:
            with self._chat_first:
                self._chat_writers -= 1
                self._chat_first.notify_all()

    def _write(self, data: bytes) -> None:
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
        if frame.type in BINARY_TYPES:
            self._file_data(frame)
            return
        if frame.type == MessageType.FILE_ACK:
            self._file_ack(frame)
            return
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

    def _file_data(self, frame: Frame) -> None:
        """A FILE_DATA: queued for its download (which may not know its number yet)."""
        try:
            chunk = decode_chunk(frame)
        except ProtocolError as error:
            log.warning("file data dropped: %s", error)
            return
        with self._transfers:
            if chunk.transfer in self._ended:
                return  # a download cancelled or over: what was already on its way
            chunks = self._chunks.setdefault(chunk.transfer, queue.Queue())
        chunks.put(chunk)

    def _file_ack(self, frame: Frame) -> None:
        """A FILE_ACK: how far an upload is safely stored; its uploader may be waiting."""
        try:
            ack = decode_as(FileAck, frame.payload)
        except ProtocolError as error:
            log.warning("FILE_ACK dropped: %s", error)
            return
        with self._transfers:
            if ack.transfer not in self._ended:
                self._acks[ack.transfer] = max(self._acks.get(ack.transfer, 0), ack.received)
                self._transfers.notify_all()

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
        with self._transfers:
            downloads = list(self._chunks.values())
            self._transfers.notify_all()
        for chunks in downloads:
            chunks.put(None)  # wakes a download waiting for data
        with self._chat_first:
            self._chat_first.notify_all()
