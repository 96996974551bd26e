"""The two binary frames: file data, with no JSON and no base64 (PROTOCOL.md section 7).

FILE_CHUNK (client to server, an upload) and FILE_DATA (server to client, a
download) share one body layout::

    +-------------------+------------------+-----------------------+
    | transfer: u32 BE  | offset: u64 BE   | data: 0 or more bytes |
    +-------------------+------------------+-----------------------+

``transfer`` is the number the server gave the transfer (in its answer to
FILE_OFFER or FILE_GET), ``offset`` where ``data`` goes in the file. The frame
is still a frame (``guigui.common.codec``): length prefix, type byte, body,
never over ``max_frame``, so a chunk holds at most ``max_chunk_data(max_frame)``
bytes of data.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from guigui.common.codec import Frame
from guigui.common.errors import ProtocolError
from guigui.common.protocol import HEADER_SIZE, ErrorCode, MessageType

_CHUNK_HEADER = struct.Struct(">IQ")
CHUNK_HEADER_SIZE = _CHUNK_HEADER.size
"""Bytes before the data in a FILE_CHUNK or FILE_DATA body: transfer (4) and offset (8)."""
MAX_TRANSFER = 2**32 - 1
"""Largest transfer number (a u32)."""


def max_chunk_data(max_frame: int) -> int:
    """The most data bytes one chunk may carry when frames are at most ``max_frame``."""
    return max_frame - 1 - CHUNK_HEADER_SIZE


@dataclass(frozen=True, slots=True)
class FileChunk:
    """Some bytes of a file: ``data`` goes at ``offset`` in transfer ``transfer``.

    ``type`` says which way it travels: ``FILE_CHUNK`` (an upload) or
    ``FILE_DATA`` (a download).
    """

    type: MessageType
    transfer: int
    offset: int
    data: bytes

    @property
    def end(self) -> int:
        """The offset just after this chunk's data."""
        return self.offset + len(self.data)


def encode_chunk(message_type: MessageType, transfer: int, offset: int, data: bytes) -> bytes:
    """The bytes of one FILE_CHUNK or FILE_DATA frame."""
    length = 1 + CHUNK_HEADER_SIZE + len(data)
    return b"".join(
        (
            length.to_bytes(HEADER_SIZE, "big"),
            bytes((message_type,)),
            _CHUNK_HEADER.pack(transfer, offset),
            data,
        )
    )


def decode_chunk(frame: Frame) -> FileChunk:
    """The chunk a FILE_CHUNK or FILE_DATA frame carries; ``bad_chunk`` if its body is too short."""
    if frame.type not in (MessageType.FILE_CHUNK, MessageType.FILE_DATA):
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"0x{frame.type:02x} is not a file chunk")
    payload = frame.payload
    if len(payload) < CHUNK_HEADER_SIZE:
        raise ProtocolError(
            ErrorCode.BAD_CHUNK,
            f"a file chunk body has {len(payload)} bytes; its header alone has {CHUNK_HEADER_SIZE}",
        )
    transfer, offset = _CHUNK_HEADER.unpack_from(payload)
    return FileChunk(MessageType(frame.type), transfer, offset, payload[CHUNK_HEADER_SIZE:])
