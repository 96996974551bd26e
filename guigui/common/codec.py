"""The frame codec: bytes in, frames out, and back. No sockets here (sans-IO).

A frame on the wire (PROTOCOL.md section 1)::

    +----------------+--------+---------------------------+
    | length: u32 BE | type:u8| body: UTF-8 JSON object   |
    +----------------+--------+---------------------------+
                      <------------- length ------------->

The server and the clients wrap ``FrameDecoder`` in their own I/O: they feed it
whatever the socket gave them and pull complete frames out, so the same code
handles a frame split over many reads or many frames in one read.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guigui.common.errors import ProtocolError
from guigui.common.protocol import DEFAULT_MAX_FRAME, HEADER_SIZE, ErrorCode

_LENGTH = struct.Struct(">I")
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_decode_json = json.JSONDecoder().decode


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: its type byte (maybe unknown) and its JSON object."""

    type: int
    body: dict[str, Any]


def encode_frame(message_type: int, body: Mapping[str, Any]) -> bytes:
    """The bytes of one frame: length prefix, type byte, compact UTF-8 JSON."""
    return encode_json_frame(message_type, _encode_json(body))


def encode_json(value: Any) -> str:
    """Compact JSON text, as frames carry it (for splicing one part into several frames)."""
    return _encode_json(value)


def encode_json_frame(message_type: int, body_json: str) -> bytes:
    """The bytes of one frame whose body is already JSON text (a JSON object)."""
    payload = body_json.encode("utf-8")
    return _LENGTH.pack(len(payload) + 1) + bytes((message_type,)) + payload


class FrameDecoder:
    """Turns a byte stream into frames, enforcing ``max_frame``.

    Feed it bytes with ``feed``; call ``next_frame`` until it returns None.
    Errors are raised as ``ProtocolError``:

    - a header announcing 0 bytes (``bad_frame``) or more than ``max_frame``
      (``frame_too_large``) is fatal, detected from the 4 header bytes alone;
      the decoder then stays broken and raises the same error again;
    - a body that is not a UTF-8 JSON object (``bad_json``) is consumed, so the
      stream stays in sync and decoding can go on.
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
        raw = bytes(buffer[start + HEADER_SIZE + 1 : end])
        self._start = end
        if end == len(buffer):  # the common case: everything consumed
            buffer.clear()
            self._start = 0
        return Frame(message_type, _decode_body(raw))

    def _header_error(self, length: int) -> ProtocolError:
        if length == 0:
            return ProtocolError(ErrorCode.BAD_FRAME, "a frame length of 0", fatal=True)
        return ProtocolError(
            ErrorCode.FRAME_TOO_LARGE,
            f"a frame of {length} bytes is over the limit of {self.max_frame}",
            fatal=True,
        )


def _decode_body(raw: bytes) -> dict[str, Any]:
    try:
        body = _decode_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError(ErrorCode.BAD_JSON, f"the body is not UTF-8 JSON: {error}") from None
    if not isinstance(body, dict):
        raise ProtocolError(ErrorCode.BAD_JSON, "the body must be a JSON object")
    return body
