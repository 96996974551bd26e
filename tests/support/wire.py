"""A raw protocol client for tests: real sockets, frames in and out, nothing hidden.

Unlike ``guigui.client.connection`` it never answers anything by itself, so tests
can see every frame the server sends and send malformed ones on purpose.

It also holds the server to its word: every frame received is measured against
the ``max_frame`` the server announced in its HELLO reply (the protocol's
default, 65536, until then). Its decoder accepts frames up to 16 MiB, so that
a frame over the bound is received and recorded rather than refused;
``SERVER_FRAMES`` keeps the largest frame and every frame over its bound, and
``tests/conftest.py`` fails the run and reports them at the end of the session.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from guigui.common.codec import Frame, FrameDecoder, encode_frame
from guigui.common.errors import ProtocolError
from guigui.common.protocol import DEFAULT_MAX_FRAME, ErrorCode, MessageType

TIMEOUT = 10.0
DECODER_MAX_FRAME = 1 << 24
"""What the tests' decoder accepts: far over any server's ``max_frame``, to see oversized frames."""


class ServerClosed(Exception):
    """The server closed the connection."""


def current_test() -> str:
    """The test running now, as pytest names it (``path::name``)."""
    return os.environ.get("PYTEST_CURRENT_TEST", "(outside a test)").rsplit(" (", 1)[0]


@dataclass(frozen=True)
class OversizedFrame:
    """A frame a test client received that was longer than its server's announced ``max_frame``."""

    test: str
    size: int | None
    """The frame's ``length`` field; None when it was too large even for the tests' decoder."""
    bound: int
    frame: str


@dataclass
class ServerFrameSizes:
    """The frames the suite's clients received from servers: the largest, and those over bound.

    Sizes are ``length`` fields (type byte and body), the quantity ``max_frame`` bounds.
    Test clients may run on several threads: updates take a lock.
    """

    frames: int = 0
    largest: int = 0
    largest_bound: int = DEFAULT_MAX_FRAME
    largest_test: str = ""
    oversized: list[OversizedFrame] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def received(self, frame: Frame, bound: int) -> None:
        """Record a frame received by a client whose server announced ``bound``."""
        size = len(frame.payload) + 1
        with self._lock:
            self.frames += 1
            if size > self.largest:
                self.largest, self.largest_bound, self.largest_test = size, bound, current_test()
            if size > bound:
                self.oversized.append(OversizedFrame(current_test(), size, bound, repr(frame)))

    def refused(self, error: ProtocolError, bound: int) -> None:
        """Record a frame so large that the tests' own decoder refused it."""
        with self._lock:
            self.oversized.append(OversizedFrame(current_test(), None, bound, error.message))


SERVER_FRAMES = ServerFrameSizes()
"""Every frame received by a ``WireClient`` during this run, measured (see the module's doc)."""


@dataclass
class Address:
    """Where a test server listens."""

    host: str
    port: int


class WireClient:
    """One TCP connection to the server, speaking frames."""

    def __init__(
        self,
        address: Address,
        *,
        max_frame: int = DECODER_MAX_FRAME,
        source_address: tuple[str, int] | None = None,
    ) -> None:
        self.sock = socket.create_connection(
            (address.host, address.port), timeout=TIMEOUT, source_address=source_address
        )
        self.decoder = FrameDecoder(max_frame)
        self._ids = itertools.count(1)
        self.events: list[Frame] = []
        self.address = address
        self.server_max_frame = DEFAULT_MAX_FRAME
        """The ``max_frame`` the server announced (the protocol's default until its HELLO reply)."""
        self.largest_frame = 0
        """The longest frame received on this connection (its ``length`` field)."""

    # ---- raw ----------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are."""
        self.sock.sendall(data)

    def send(self, message_type: int, body: dict[str, Any]) -> None:
        """Send one frame."""
        self.sock.sendall(encode_frame(message_type, body))

    def receive(self, timeout: float = TIMEOUT) -> Frame:
        """The next frame from the server (events included)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self._next_frame()
            if frame is not None:
                return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no frame from the server")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError as error:
                raise ServerClosed("connection reset") from error
            if not data:
                raise ServerClosed("the server closed the connection")
            self.decoder.feed(data)

    def _next_frame(self) -> Frame | None:
        """The next complete frame, measured against the server's ``max_frame`` (see above)."""
        try:
            frame = self.decoder.next_frame()
        except ProtocolError as error:
            if error.code == ErrorCode.FRAME_TOO_LARGE:
                SERVER_FRAMES.refused(error, self.server_max_frame)
            raise
        if frame is None:
            return None
        self.largest_frame = max(self.largest_frame, len(frame.payload) + 1)
        SERVER_FRAMES.received(frame, self.server_max_frame)
        # Only the OK answering HELLO carries max_frame: from now on, the server's own bound.
        if frame.type == MessageType.OK and b'"max_frame"' in frame.payload:
            announced = frame.body.get("max_frame")
            if type(announced) is int:
                self.server_max_frame = announced
        return frame

    def expect_closed(self, timeout: float = TIMEOUT) -> list[Frame]:
        """Read until the server closes; returns the frames received before that."""
        frames: list[Frame] = []
        try:
            while True:
                frames.append(self.receive(timeout))
        except ServerClosed:
            return frames

    # ---- requests -----------------------------------------------------------

    def next_id(self) -> int:
        """A fresh request id."""
        return next(self._ids)

    def request(self, message_type: int, **fields: Any) -> Frame:
        """Send a request and return its reply (OK or ERROR); events are kept in ``events``."""
        request_id = self.next_id()
        self.send(message_type, {"id": request_id, **fields})
        return self.reply_to(request_id)

    def reply_to(self, request_id: int, timeout: float = TIMEOUT) -> Frame:
        """Wait for the reply to ``request_id``, keeping events seen meanwhile."""
        while True:
            frame = self.receive(timeout)
            # The type first: a binary frame (FILE_DATA) has no JSON body.
            if frame.type in (MessageType.OK, MessageType.ERROR) and (
                frame.body.get("id") == request_id
            ):
                return frame
            self.events.append(frame)

    def ok(self, message_type: int, **fields: Any) -> dict[str, Any]:
        """Send a request that must succeed; returns the OK body."""
        frame = self.request(message_type, **fields)
        assert frame.type == MessageType.OK, f"expected OK, got {frame}"
        return frame.body

    def error(self, message_type: int, **fields: Any) -> dict[str, Any]:
        """Send a request that must fail; returns the ERROR body."""
        frame = self.request(message_type, **fields)
        assert frame.type == MessageType.ERROR, f"expected ERROR, got {frame}"
        return frame.body

    def next_event(self, event_type: int, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next event of that type (from those kept, or from the wire)."""
        for index, frame in enumerate(self.events):
            if frame.type == event_type:
                del self.events[index]
                return frame.body
        deadline = time.monotonic() + timeout
        while True:
            frame = self.receive(max(0.0, deadline - time.monotonic()))
            if frame.type == event_type:
                return frame.body
            self.events.append(frame)

    def no_event(self, event_type: int, wait: float = 0.3) -> None:
        """Assert that no event of that type arrives within ``wait`` seconds."""
        try:
            body = self.next_event(event_type, timeout=wait)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected event {event_type}: {body}")

    # ---- common steps -------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        """The handshake."""
        return self.ok(MessageType.HELLO, version=1, client="tests/1")

    def register(self, login: str, password: str = "correct horse", **extra: str) -> None:
        """Register a user with plausible fields."""
        fields = {
            "login": login,
            "password": password,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": f"{login}@example.org",
            **extra,
        }
        self.ok(MessageType.REGISTER, **fields)

    def login(self, login: str, password: str = "correct horse") -> dict[str, Any]:
        """Log in; returns the OK body (user, token, rooms, online)."""
        return self.ok(MessageType.LOGIN, login=login, password=password)

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


def frame_header(length: int, message_type: int) -> bytes:
    """A frame header with any length, for malformed-frame tests."""
    return struct.pack(">IB", length, message_type)


__all__ = [
    "SERVER_FRAMES",
    "Address",
    "OversizedFrame",
    "ProtocolError",
    "ServerClosed",
    "ServerFrameSizes",
    "WireClient",
    "frame_header",
]
