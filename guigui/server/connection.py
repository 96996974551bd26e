"""One client connection: its socket, its codec, its output buffer and its session.

Reading: ``on_readable`` receives what the socket has, feeds the decoder,
turns each complete frame into a typed request and hands it to its owner. The
decoder holds at most one partial frame (bounded by ``max_frame``) plus the
last chunk read. What is no request is answered here, by the connection
itself: a PING gets its PONG, and a malformed frame, or anything before HELLO,
its ERROR (``refuse``), so its owner only ever sees valid requests.

A connection knows nothing of the server: it talks to what owns it through
``ConnectionOwner``, the small interface declared here (the way an asyncio
transport calls its protocol). The server implements it; a test can too.

Writing follows asyncio's transports and Redis: ``send`` only appends bytes to
the output buffer and tells the owner it has pending output; the
owner flushes every such connection once per loop iteration, so fifty
messages for one client in one iteration cost one ``send`` call. Only when the
kernel does not take everything is write interest registered; it is removed
as soon as the buffer drains. A client that leaves more than ``output_cap``
bytes unsent after a write attempt does not read: it is closed instead.

Flow control: while the store worker is too far behind, the owner stops
reading the connections that feed it (``pause_reading``/``resume_reading``;
see ``ChatServer.done_reading``). A FILE_CHUNK (binary, no reply) goes to the
owner's ``chunk_received``; while ``MAX_UNWRITTEN_CHUNKS`` of the connection's
chunks wait to be written, the next frame waits (as a held frame, below) and
the connection is not read until ``chunk_written``.

Order: requests take effect in the order the client sent them, even when one
of them waits for a worker. A request that changes the session or the
memberships (``SESSION_CHANGING``: REGISTER, LOGIN, RESUME, LOGOUT, JOIN,
LEAVE) is handled only once every earlier request is answered, and nothing
after it until it is answered; the others (SAY, HISTORY...) go through the
store worker's queue in order anyway, and pipeline freely. A frame that must
wait is held, and the connection is not read meanwhile, so what waits stays in
the decoder and in TCP, bounded.

Closing politely (after a fatal ERROR, or SANCTIONED): the last bytes are
flushed, the write side is shut down, and what the client still sends is read
and dropped until it closes or ``LINGER_SECONDS`` pass. Closing at once with
unread input would make the kernel send a reset, which can destroy the last
frame before the client reads it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import ssl
import time
from enum import Enum
from typing import Protocol

from guigui.common.codec import Frame, FrameDecoder
from guigui.common.errors import ProtocolError
from guigui.common.file_frames import FileChunk, decode_chunk
from guigui.common.messages import (
    SESSION_CHANGING,
    Error,
    Ping,
    Pong,
    Request,
    decode_as,
    decode_request,
    encode,
    request_id_of,
)
from guigui.common.protocol import MAX_ERRORS_BEFORE_CLOSE, ErrorCode, MessageType
from guigui.server.config import ServerConfig
from guigui.server.core.limits import TokenBucket
from guigui.server.file_transfers import MAX_UNWRITTEN_CHUNKS, Transfers
from guigui.server.loop import EventLoop, TimerHandle
from guigui.server.store.base import UserRecord

log = logging.getLogger(__name__)

READ_CHUNK = 256 * 1024
LINGER_SECONDS = 2.0
_SESSION_CHANGING_TYPES = frozenset(cls.TYPE for cls in SESSION_CHANGING)
_COUNTED_ERRORS = frozenset({ErrorCode.BAD_JSON, ErrorCode.UNKNOWN_TYPE, ErrorCode.BAD_REQUEST})
"""Malformed-input errors: ``MAX_ERRORS_BEFORE_CLOSE`` of them close the connection."""


class Phase(Enum):
    """Where a connection stands in the protocol."""

    NEW = "new"
    """Nothing but HELLO is accepted."""
    READY = "ready"
    """HELLO done: REGISTER, LOGIN, RESUME accepted."""
    AUTHENTICATING = "authenticating"
    """A LOGIN or RESUME is being checked by a worker."""
    LOGGED_IN = "logged_in"
    """A session is open."""


class ConnectionOwner(Protocol):
    """What a connection tells the one that owns it (the server), on the loop thread."""

    def request_received(self, connection: Connection, request: Request) -> None:
        """A valid request arrived and may be handled now (in order: see Order above).

        It is counted in flight (``request_started``) until its answer is
        queued (``request_answered``).
        """

    def chunk_received(self, connection: Connection, chunk: FileChunk) -> None:
        """A FILE_CHUNK arrived (decoded, not checked): no reply unless it is refused."""

    def done_reading(self, connection: Connection) -> None:
        """The frames read are handed over: the owner may pause reading (flow control)."""

    def has_output(self, connection: Connection) -> None:
        """Bytes wait in the output buffer: ``flush`` the connection before the loop sleeps."""

    def closing(self, connection: Connection) -> None:
        """The connection will take no more requests (closing politely or closed now)."""

    def closed(self, connection: Connection) -> None:
        """The connection is closed: forget it."""


class Connection:
    """A client connection, owned by the loop thread."""

    # Slots, not an instance dict: 10,000 idle connections each keep only their
    # fields (scenario C of the benchmark measures the memory per connection).
    __slots__ = (
        "_held_frame",
        "_linger_timer",
        "_resume_scheduled",
        "_session_change_in_flight",
        "_writing",
        "closed",
        "closing",
        "connected_at",
        "decoder",
        "handshaking",
        "ip",
        "last_heard",
        "last_write",
        "log_id",
        "loop",
        "max_frame",
        "message_bucket",
        "opened",
        "output",
        "output_cap",
        "owner",
        "phase",
        "ping_outstanding",
        "port",
        "protocol_errors",
        "reading_paused",
        "requests_in_flight",
        "sock",
        "token_hash",
        "transfers",
        "user",
        "wants_read_state",
    )

    def __init__(
        self,
        owner: ConnectionOwner,
        loop: EventLoop,
        config: ServerConfig,
        sock: socket.socket,
        address: tuple[str, int],
    ) -> None:
        self.owner = owner
        self.loop = loop
        self.sock = sock
        self.ip = address[0]
        self.port = address[1]
        self.max_frame = config.max_frame
        """The largest frame body either side may send (announced in HELLO_OK)."""
        self.decoder = FrameDecoder(config.max_frame)
        self.output = bytearray()
        self.output_cap = config.output_cap
        self.last_write = -math.inf
        """When bytes were last handed to the kernel (monotonic seconds): see pending_output."""
        self.reading_paused = False
        """Flow control: not read while the store worker is too far behind."""
        self.requests_in_flight = 0
        """Requests handed to the owner and not answered yet."""
        self._session_change_in_flight = False
        self._held_frame: Frame | None = None
        """A frame that waits for the requests before it to be answered (see Order above)."""
        self._resume_scheduled = False
        self.phase = Phase.NEW
        self.connected_at = time.time()
        self.opened = time.monotonic()
        self.last_heard = time.monotonic()
        self.message_bucket = TokenBucket(config.message_rate, config.message_burst)
        self.handshaking = isinstance(sock, ssl.SSLSocket)
        """A TLS connection reads nothing until its handshake is done."""
        self.ping_outstanding = False
        self.protocol_errors = 0
        self.closed = False
        self.closing = False
        self._writing = False
        self._linger_timer: TimerHandle | None = None
        # The session, once logged in.
        self.user: UserRecord | None = None
        self.token_hash: bytes | None = None
        self.log_id: int | None = None
        self.wants_read_state = False
        """The session asked for read state (CONVERSATIONS or READ): it gets READ_STATE events."""
        self.transfers: Transfers | None = None
        """Its file transfers, from its first FILE_OFFER or FILE_GET on."""

    def __repr__(self) -> str:
        who = self.user.login if self.user else "-"
        return f"<Connection {self.ip}:{self.port} {who} {self.phase.value}>"

    @property
    def active(self) -> bool:
        """Neither closed nor closing: worth answering and opening a session on."""
        return not (self.closed or self.closing)

    @property
    def peer(self) -> str:
        """``ip:port`` of the client, for logs."""
        return f"{self.ip}:{self.port}"

    # ---- reading -------------------------------------------------------------

    def on_readable(self) -> None:
        """Read what the socket has and take every complete frame (see ``handle_frames``)."""
        if self.handshaking:
            self._handshake()
            return
        try:
            data = self._tls_recv() if self.tls else self.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except OSError as error:
            self.close(f"read failed: {error}")
            return
        if not data:
            self.close("closed by the client")
            return
        if self.closing:
            return  # lingering: drop what the client still sends
        self.last_heard = time.monotonic()
        self.ping_outstanding = False
        self.decoder.feed(data)
        self.handle_frames()

    def handle_frames(self) -> None:
        """Take the complete frames received, in order, until one must wait."""
        while not self.closing:
            frame, self._held_frame = self._held_frame, None
            if frame is None:
                try:
                    frame = self.decoder.next_frame()
                except ProtocolError as error:  # a bad header: the stream is lost
                    self.send(encode(Error.of(error, None)))
                    self.close_after_flush(f"fatal error {error.code}")
                    continue
                if frame is None:
                    break
            if self._must_wait(frame):
                self._held_frame = frame
                self._watch()  # stop reading until it can go
                return
            self._take(frame)
        self.owner.done_reading(self)

    def _take(self, frame: Frame) -> None:
        """Answer a frame that is no request; hand a valid request to the owner."""
        if self.phase is Phase.NEW and frame.type != MessageType.HELLO:
            error = ProtocolError(ErrorCode.HELLO_REQUIRED, "send HELLO first", fatal=True)
            self.refuse(error, request_id_of(frame))
            return
        if frame.type == MessageType.FILE_CHUNK:
            try:
                chunk = decode_chunk(frame)
            except ProtocolError as error:
                self.refuse(error)
                return
            self.owner.chunk_received(self, chunk)
            return
        if frame.type == MessageType.PING or frame.type == MessageType.PONG:
            try:
                ping = decode_as(Ping, frame.payload)
            except ProtocolError as error:
                self.refuse(error)
                return
            if frame.type == MessageType.PING:
                self.send(encode(Pong(ping.nonce)))
            return
        try:
            request = decode_request(frame)
        except ProtocolError as error:
            self.refuse(error, request_id_of(frame))
            return
        self.request_started(request)
        self.owner.request_received(self, request)

    def refuse(self, error: ProtocolError, request_id: int | None = None) -> None:
        """Send ERROR for a frame that is no request in flight (malformed, before HELLO...).

        Malformed frames count: ``MAX_ERRORS_BEFORE_CLOSE`` of them close the
        connection; a fatal error closes it once the ERROR is flushed.
        """
        self.send(encode(Error.of(error, request_id)))
        if error.code in _COUNTED_ERRORS:
            self.protocol_errors += 1
            if self.protocol_errors >= MAX_ERRORS_BEFORE_CLOSE:
                self.close_after_flush("too many malformed frames")
                return
        if error.fatal:
            self.close_after_flush(f"fatal error {error.code}")

    def _must_wait(self, frame: Frame) -> bool:
        if self._session_change_in_flight:
            return True
        if self.transfers is not None and self.transfers.unwritten >= MAX_UNWRITTEN_CHUNKS:
            return True  # whatever the frame: what follows a chunk waits for it
        return frame.type in _SESSION_CHANGING_TYPES and self.requests_in_flight > 0

    def request_started(self, request: Request) -> None:
        """``request`` goes to the owner now; it is in flight until answered."""
        self.requests_in_flight += 1
        if type(request) in SESSION_CHANGING:
            self._session_change_in_flight = True

    def request_answered(self) -> None:
        """A request's reply is queued: a frame held behind it may go on (next iteration)."""
        self.requests_in_flight -= 1
        if self.requests_in_flight > 0:
            return
        self._session_change_in_flight = False
        if self._held_frame is not None and not self._resume_scheduled:
            # Not from here: the answer may come from deep inside a handler.
            self._resume_scheduled = True
            self.loop.call_later(0.0, self._resume_frames)

    def chunk_written(self) -> None:
        """One of its chunks is written: a frame held behind the chunks may go on."""
        transfers = self.transfers
        if transfers is None:
            return
        transfers.unwritten -= 1
        if (
            transfers.unwritten < MAX_UNWRITTEN_CHUNKS
            and self._held_frame is not None
            and not self._resume_scheduled
            and not self._session_change_in_flight
        ):
            self._resume_scheduled = True
            self.loop.call_later(0.0, self._resume_frames)

    def _resume_frames(self) -> None:
        self._resume_scheduled = False
        if self.closed or self._held_frame is None:
            return
        self.handle_frames()
        self._watch()

    def _tls_recv(self) -> bytes:
        """Read decrypted bytes, with those OpenSSL already holds (the selector cannot see them)."""
        data: bytes = self.sock.recv(READ_CHUNK)
        while pending := self.sock.pending():  # type: ignore[attr-defined]
            data += self.sock.recv(pending)
        return data

    @property
    def tls(self) -> bool:
        """Whether the connection is TLS."""
        return isinstance(self.sock, ssl.SSLSocket)

    def _handshake(self) -> None:
        """Advance the TLS handshake without blocking; reads begin once it is done."""
        assert isinstance(self.sock, ssl.SSLSocket)
        try:
            self.sock.do_handshake()
        except ssl.SSLWantReadError:
            self.loop.set_events(self.sock, self, write=False)
            return
        except ssl.SSLWantWriteError:
            self.loop.set_events(self.sock, self, write=True)
            return
        except (ssl.SSLError, OSError) as error:
            log.warning("%s: TLS handshake failed: %s", self.peer, error)
            self.close("TLS handshake failed")
            return
        self.handshaking = False
        self._writing = bool(self.output)
        self._watch()
        # The client's first frame may have come with the end of the handshake and
        # already sit decrypted in the TLS buffer, where the selector cannot see it.
        self.on_readable()

    # ---- writing -------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Queue bytes for the client; they go out at the end of this loop iteration."""
        if self.closed:
            return
        output = self.output
        if not output:
            self.owner.has_output(self)
        output += data
        if len(output) > self.output_cap:  # over the cap: this iteration's flush checks it
            self.owner.has_output(self)

    @property
    def pending_bytes(self) -> int:
        """Bytes waiting in the output buffer."""
        return len(self.output)

    def flush(self, now: float | None = None) -> None:
        """Write as much pending output as the kernel takes; watch for writability if not all.

        What the kernel does not take stays in the buffer; a client that lets
        more than ``output_cap`` bytes stay there does not read, and is closed.
        The cap is checked here, after trying to write, and not as bytes are
        queued: a burst queued in one iteration (a backlog of stored messages
        delivered at once) is not a slow client, as long as it reads it.
        """
        if self.closed:
            return
        if self.handshaking:
            return  # sent once the handshake is done
        try:
            sent = self.sock.send(self.output) if self.output else 0
        except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            sent = 0
        except OSError as error:
            self.close(f"write failed: {error}")
            return
        if sent:
            del self.output[:sent]
            self.last_write = time.monotonic() if now is None else now
        if self.output:
            if len(self.output) > self.output_cap:
                log.warning(
                    "%s: closing, %d bytes unsent (the client does not read)",
                    self.peer,
                    len(self.output),
                )
                self.output.clear()
                self.close("too slow: output buffer over its cap")
                return
            if not self._writing:
                self._writing = True
                self._watch()
            return
        if self._writing:
            self._writing = False
            self._watch()
        if self.closing:
            self._shut_down_writing()

    # ---- flow control ----------------------------------------------------------

    def pause_reading(self) -> None:
        """Read nothing more from the client until ``resume_reading`` (its data waits in TCP)."""
        if not self.reading_paused and not self.closed:
            self.reading_paused = True
            self._watch()

    def resume_reading(self) -> None:
        """Read from the client again."""
        if self.reading_paused and not self.closed:
            self.reading_paused = False
            self._watch()

    def _watch(self) -> None:
        if self.closed:
            return
        read = not self.reading_paused and self._held_frame is None
        self.loop.set_events(self.sock, self, read=read, write=self._writing)

    def on_writable(self) -> None:
        """The kernel can take more of the output buffer (or the handshake can go on)."""
        if self.handshaking:
            self._handshake()
            return
        self.flush()

    # ---- closing -------------------------------------------------------------

    def close_after_flush(self, reason: str) -> None:
        """Stop reading requests; flush what is queued, then close politely."""
        if self.closing or self.closed:
            return
        self.closing = True
        log.info("%s: closing (%s)", self.peer, reason)
        self.owner.closing(self)
        self.owner.has_output(self)
        self._linger_timer = self.loop.call_later(LINGER_SECONDS, lambda: self.close(reason))

    def _shut_down_writing(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.close("peer gone")

    def close(self, reason: str) -> None:
        """Close the connection now and tell the owner (idempotent)."""
        if self.closed:
            return
        if not self.closing:
            self.owner.closing(self)
        self.closed = True
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        if not self.closing:
            log.info("%s: closed (%s)", self.peer, reason)
        self.loop.remove(self.sock)
        with contextlib.suppress(OSError):
            self.sock.close()
        self.owner.closed(self)
