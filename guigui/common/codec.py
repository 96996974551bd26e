"""The frame codec: bytes in, frames out, and back. No sockets here (sans-IO).

A frame on the wire (PROTOCOL.md section 1)::

    +----------------+--------+---------------------------+
    | length: u32 BE | type:u8| body: UTF-8 JSON object   |
    +----------------+--------+---------------------------+
                      <------------- length ------------->

The server and the clients wrap ``FrameDecoder`` in their own I/O: they feed it
whatever the socket gave them and pull complete frames out, so the same code
handles a frame split over many reads or many frames in one read.

The codec cuts the stream into frames and nothing more: a ``Frame`` carries its
body as the bytes received. Turning a body into a typed message, with every
field checked, is the job of ``guigui.common.messages``; ``Frame.body`` gives
the plain JSON object, for tools and tests that want to look at any frame.
"""

from __future__ import annotations

import re
import struct
from typing import Any

import msgspec

from guigui.common.errors import ProtocolError
from guigui.common.protocol import DEFAULT_MAX_FRAME, HEADER_SIZE, MAX_JSON_DEPTH, ErrorCode

_LENGTH = struct.Struct(">I")
_json_encoder = msgspec.json.Encoder()

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.DOTALL)
"""A JSON string, or an unterminated one up to the end: it always matches in one pass."""
_INNERMOST_PAIR = re.compile(rb"[\[{][\]}]")
_NOT_A_BRACKET = bytes(set(range(256)) - set(b"[]{}"))


class Frame:
    """One frame as received: its type byte (maybe unknown) and its body's bytes."""

    __slots__ = ("payload", "type")

    def __init__(self, message_type: int, payload: bytes) -> None:
        self.type = message_type
        self.payload = payload

    def __repr__(self) -> str:
        return f"Frame(0x{self.type:02x}, {self.payload[:200]!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return (self.type, self.payload) == (other.type, other.payload)

    def __hash__(self) -> int:
        return hash((self.type, self.payload))

    @property
    def body(self) -> dict[str, Any]:
        """The body as a plain JSON object; ``ProtocolError(bad_json)`` if it is none."""
        return decode_json_object(self.payload)


def encode_frame(message_type: int, body: Any) -> bytes:
    """The bytes of one frame: length prefix, type byte, compact UTF-8 JSON.

    ``body`` is anything msgspec encodes as a JSON object: a message Struct
    (see ``guigui.common.messages.encode``) or, in tests and tools, a dict.
    """
    payload = _json_encoder.encode(body)
    return _LENGTH.pack(len(payload) + 1) + bytes((message_type,)) + payload


def frame_size(payload_size: int) -> int:
    """Bytes on the wire of a frame whose body has ``payload_size`` bytes."""
    return HEADER_SIZE + 1 + payload_size


def body_problem(payload: bytes) -> str | None:
    """Why a frame body must be refused before any JSON parser reads it, or None.

    Two things a parser does not check everywhere: that the bytes are UTF-8
    (msgspec checks the strings it decodes, not the values it skips, such as
    an unknown field or a PING's nonce, which would then be echoed), and how
    deep the body nests (see ``nesting_problem``). Pure ASCII, the common
    case, is UTF-8 without decoding.
    """
    if not payload.isascii():
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError as error:
            return f"the body is not UTF-8 (byte {error.start})"
    return nesting_problem(payload)


def nesting_problem(payload: bytes) -> str | None:
    """Why a JSON body nests too deeply (more than ``MAX_JSON_DEPTH`` levels), or None.

    A JSON parser follows nesting by recursion, so a body of 10,000 ``[`` must
    be refused before it is parsed. Few brackets cannot nest deeply: the
    common case costs two ``count`` calls. Otherwise the strings are cut out
    (brackets inside them do not nest), the brackets kept, and the innermost
    pairs removed, one level per pass: whatever is left after
    ``MAX_JSON_DEPTH`` passes was nested deeper. Every step runs in C, in time
    linear in the body's size.
    """
    if payload.count(b"[") + payload.count(b"{") <= MAX_JSON_DEPTH:
        return None
    brackets = _JSON_STRING.sub(b"", payload).translate(None, _NOT_A_BRACKET)
    for _ in range(MAX_JSON_DEPTH):
        if not brackets:
            return None
        brackets = _INNERMOST_PAIR.sub(b"", brackets)
    if brackets:
        return f"the body is nested deeper than {MAX_JSON_DEPTH} levels"
    return None


def decode_json_object(payload: bytes) -> dict[str, Any]:
    """A frame body as a plain JSON object; ``ProtocolError(bad_json)`` if it is none."""
    problem = body_problem(payload)
    if problem is not None:
        raise ProtocolError(ErrorCode.BAD_JSON, problem)
    try:
        body = msgspec.json.decode(payload)
    except msgspec.DecodeError as error:
        raise ProtocolError(ErrorCode.BAD_JSON, f"the body is not UTF-8 JSON: {error}") from None
    if not isinstance(body, dict):
        raise ProtocolError(ErrorCode.BAD_JSON, "the body must be a JSON object")
    return body


class FrameDecoder:
    """Turns a byte stream into frames, enforcing ``max_frame``.

    Feed it bytes with ``feed``; call ``next_frame`` until it returns None.
    A header announcing 0 bytes (``bad_frame``) or more than ``max_frame``
    (``frame_too_large``) is fatal, detected from the 4 header bytes alone and
    raised as ``ProtocolError``; the decoder then stays broken and raises the
    same error again. Anything after the header is the body's business: a
    frame whose body is not JSON is still a frame, and the stream stays in
    sync.
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._start = 0  # read offset: consumed bytes are dropped in bulk, not one frame at a time
        self._broken: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received and not yet decoded."""
        return len(self._buffer) - self._start

    def feed(self, data: bytes) -> None:
        """Add bytes received from the peer."""
        if self._start and self._start >= len(self._buffer) // 2:
            del self._buffer[: self._start]  # compact: amortised O(1) per byte
            self._start = 0
        self._buffer += data

    def next_frame(self) -> Frame | None:
        """The next complete frame, or None if more bytes are needed."""
        if self._broken is not None:
            raise self._broken
        buffer, start = self._buffer, self._start
        if len(buffer) - start < HEADER_SIZE:
            return None
        (length,) = _LENGTH.unpack_from(buffer, start)
        if length == 0 or length > self.max_frame:
            self._broken = self._header_error(length)
            raise self._broken
        end = start + HEADER_SIZE + length
        if len(buffer) < end:
            return None
        message_type = buffer[start + HEADER_SIZE]
        payload = bytes(buffer[start + HEADER_SIZE + 1 : end])
        self._start = end
        if end == len(buffer):  # the common case: everything consumed
            buffer.clear()
            self._start = 0
        return Frame(message_type, payload)

    def _header_error(self, length: int) -> ProtocolError:
        if length == 0:
            return ProtocolError(ErrorCode.BAD_FRAME, "a frame length of 0", fatal=True)
        return ProtocolError(
            ErrorCode.FRAME_TOO_LARGE,
            f"a frame of {length} bytes is over the limit of {self.max_frame}",
            fatal=True,
        )
