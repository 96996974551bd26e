"""An uploading client of the files scenario: one user sending files to a room, in a loop.

    python -m bench.uploader HOST PORT LOGIN SIZE [--room ROOM] [--rate-mib R]

It speaks GuiGui's protocol over a plain socket with ``guigui.common``'s
codec, messages and file frames, as PROTOCOL.md section 7 says: HELLO,
REGISTER (``login_taken`` is fine) and LOGIN, then for each file FILE_OFFER,
the content in 32 KiB FILE_CHUNK frames, FILE_SEND, and the OK that says the
file and its message are stored. Then the next file.

It steps with its driver (``bench/uploads.py``) as the C load generator does:
it prints ``READY`` once logged in and waits for a ``go`` line on standard
input; it then uploads until a ``stop`` line arrives, finishes the file in
progress (so every file offered is stored or refused, none left half sent),
and prints its figures as one JSON object.

With ``--rate-mib R`` it sends at most R MiB per second (a person's upload
over an office network), else as fast as the server takes the chunks.

Each file is ``SIZE`` bytes of random data (drawn once) whose first bytes carry
the login and the file's number: every file has its own SHA-256, so the server
stores each one (none is the resumption of another). The first byte is NUL
and no signature matches, so the type found in the content is
``application/octet-stream``, as the ``.bin`` name says.

A reader thread takes every frame the server sends: the replies, FILE_ACK
events (counted), PINGs (answered) and the chat's MESSAGE events (counted:
the uploader is a member of the room the load generator talks in, so it must
read them as any client does, or the server would close it as too slow).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import TypeVar

from guigui.common.codec import Frame, FrameDecoder, encode_frame
from guigui.common.errors import ProtocolError
from guigui.common.file_frames import encode_chunk
from guigui.common.file_types import HEAD_SIZE, detect_type
from guigui.common.messages import (
    Error,
    FileOffer,
    FileOfferOk,
    FileSend,
    Hello,
    HelloOk,
    Login,
    Register,
    Reply,
    Request,
    decode_reply,
    encode,
)
from guigui.common.protocol import FILE_CHUNK_SIZE, ErrorCode, MessageType

ROOM = "Général"
PASSWORD = "bench password"
REPLY_TIMEOUT = 120.0
"""Seconds to wait for one reply (a FILE_SEND's OK comes once the server has checked the file)."""

R = TypeVar("R", bound=Reply)


class UploadFailed(Exception):
    """The server refused something the uploader cannot go on without (HELLO, LOGIN)."""


@dataclass
class UploadFigures:
    """What one uploader did, printed as JSON at the end."""

    login: str
    size: int
    offered: int = 0
    """Files offered (FILE_OFFER answered OK)."""
    stored: int = 0
    """Files whose FILE_SEND was answered OK: stored, and their message posted."""
    bytes: int = 0
    """Bytes of the stored files."""
    seconds: float = 0.0
    """From ``go`` to the last FILE_SEND's OK."""
    acks: int = 0
    chat_messages: int = 0
    """MESSAGE events received meanwhile (the load generator's chat, and the files' messages)."""
    errors: list[str] = field(default_factory=list)


class Link:
    """One connection: requests out (one at a time), every frame in on a reader thread.

    Chunks and requests leave through ``send_bytes`` under one lock, so a PONG
    from the reader thread never lands inside a chunk.
    """

    def __init__(self, host: str, port: int, figures: UploadFigures) -> None:
        self.socket = socket.create_connection((host, port))
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.figures = figures
        self.replies: queue.Queue[Frame | None] = queue.Queue()
        self.sending = threading.Lock()
        self.request_ids = iter(range(1, 2**31))
        self.reader = threading.Thread(target=self.read_frames, name="reader", daemon=True)
        self.reader.start()

    def send_bytes(self, data: bytes) -> None:
        """Write one or more whole frames."""
        with self.sending:
            self.socket.sendall(data)

    def read_frames(self) -> None:
        """Reader thread: sort every frame the server sends until it closes."""
        decoder = FrameDecoder()
        try:
            while data := self.socket.recv(1 << 18):
                decoder.feed(data)
                while (frame := decoder.next_frame()) is not None:
                    self.on_frame(frame)
        except (OSError, ProtocolError) as error:
            self.figures.errors.append(f"connection: {error}")
        finally:
            self.replies.put(None)  # wakes a request waiting for its reply

    def on_frame(self, frame: Frame) -> None:
        """One frame from the server."""
        if frame.type in (MessageType.OK, MessageType.ERROR):
            if frame.type == MessageType.ERROR and frame.body.get("id") is None:
                # A FILE_CHUNK's error: the chunk was dropped; FILE_SEND will say the rest.
                self.figures.errors.append(f"chunk refused: {frame.body}")
            else:
                self.replies.put(frame)
        elif frame.type == MessageType.FILE_ACK:
            self.figures.acks += 1
        elif frame.type == MessageType.MESSAGE:
            self.figures.chat_messages += 1
        elif frame.type == MessageType.PING:
            self.send_bytes(encode_frame(MessageType.PONG, frame.body))  # the same body back

    def next_id(self) -> int:
        """A fresh request id."""
        return next(self.request_ids)

    def ask(self, request: Request, answer: type[R]) -> R | Error:
        """Send a request; its OK (as ``answer``) or its ERROR."""
        self.send_bytes(encode(request))
        frame = self.replies.get(timeout=REPLY_TIMEOUT)
        if frame is None:
            raise UploadFailed(f"the server closed the connection; {self.figures.errors}")
        try:
            reply = decode_reply(frame, type(request))
        except ProtocolError as error:
            raise UploadFailed(
                f"{type(request).__name__} got an unreadable reply: {error}"
            ) from None
        if not isinstance(reply, (Error, answer)):
            raise UploadFailed(f"{type(request).__name__} got {reply!r}")
        if reply.id != request.id:
            raise UploadFailed(f"a reply to {reply.id} while waiting for {request.id}")
        return reply

    def close(self) -> None:
        """Close the connection (the reader thread then ends)."""
        self.socket.close()


def log_in(link: Link, login: str, size: int) -> None:
    """HELLO (the server must take files of ``size``), REGISTER if new, LOGIN."""
    hello = link.ask(Hello(link.next_id(), 1, "bench-uploader/1"), HelloOk)
    if isinstance(hello, Error):
        raise UploadFailed(f"HELLO refused: {hello.message}")
    if hello.max_file < size:
        raise UploadFailed(f"the server takes files up to {hello.max_file} bytes, not {size}")
    registered = link.ask(
        Register(link.next_id(), login, PASSWORD, "Bench", "Upload", f"{login}@bench.invalid"),
        Reply,
    )
    if isinstance(registered, Error) and registered.code != ErrorCode.LOGIN_TAKEN:
        raise UploadFailed(f"REGISTER refused: {registered.message}")
    logged_in = link.ask(Login(link.next_id(), login, PASSWORD), Reply)
    if isinstance(logged_in, Error):
        raise UploadFailed(f"LOGIN refused: {logged_in.message}")


def files(login: str, size: int) -> Iterator[tuple[str, bytearray]]:
    """Endless files of ``size`` bytes, each with its own first bytes: (name, content).

    One buffer is drawn once and only its head rewritten: no 25 MiB copy per file.
    """
    content = bytearray(os.urandom(size))
    number = 0
    while True:
        number += 1
        head = f"\0{login} file {number}\n".encode()[:size]
        content[: len(head)] = head
        yield f"{login}-{number}.bin", content


def upload(link: Link, room: str, name: str, content: bytearray, rate: float = 0.0) -> bool:
    """One file: FILE_OFFER, its chunks, FILE_SEND; True once its OK says it is stored.

    ``rate``: at most that many bytes per second (0: as fast as the server takes them).
    """
    figures = link.figures
    offer = FileOffer(
        id=link.next_id(),
        room=room,
        name=name,
        size=len(content),
        type=detect_type(bytes(content[:HEAD_SIZE])),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    offered = link.ask(offer, FileOfferOk)
    if isinstance(offered, Error):
        figures.errors.append(f"FILE_OFFER {name}: {offered.code}: {offered.message}")
        return False
    figures.offered += 1
    step = min(FILE_CHUNK_SIZE, offered.max_chunk)
    view = memoryview(content)
    began = time.monotonic()
    for offset in range(offered.received, len(content), step):
        if rate:  # paced: wait until this chunk's time has come
            early = (offset - offered.received) / rate - (time.monotonic() - began)
            if early > 0:
                time.sleep(early)
        chunk = bytes(view[offset : offset + step])
        link.send_bytes(encode_chunk(MessageType.FILE_CHUNK, offered.transfer, offset, chunk))
    sent = link.ask(FileSend(link.next_id(), offered.transfer), Reply)
    if isinstance(sent, Error):
        figures.errors.append(f"FILE_SEND {name}: {sent.code}: {sent.message}")
        return False
    figures.stored += 1
    figures.bytes += len(content)
    return True


def read_commands(go: threading.Event, stop: threading.Event) -> None:
    """Standard input: ``go`` starts the uploads, ``stop`` (or its end) ends them."""
    for line in sys.stdin:
        if line.strip() == "go":
            go.set()
        elif line.strip() == "stop":
            break
    go.set()
    stop.set()


def main() -> None:
    """Log in, say READY, upload from ``go`` to ``stop``, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("login")
    parser.add_argument("size", type=int, help="bytes per file")
    parser.add_argument("--room", default=ROOM)
    parser.add_argument(
        "--rate-mib", type=float, default=0.0, help="MiB/s at most (default: as fast as it goes)"
    )
    args = parser.parse_args()
    figures = UploadFigures(args.login, args.size)
    link = Link(args.host, args.port, figures)
    try:
        log_in(link, args.login, args.size)
    except UploadFailed as error:
        sys.exit(f"{args.login}: {error}")
    contents = files(args.login, args.size)
    go, stop = threading.Event(), threading.Event()
    threading.Thread(target=read_commands, args=(go, stop), daemon=True).start()
    print("READY", flush=True)
    go.wait()
    start = time.monotonic()
    try:
        while not stop.is_set():
            name, content = next(contents)
            if upload(link, args.room, name, content, args.rate_mib * 2**20):
                figures.seconds = time.monotonic() - start
    except UploadFailed as error:
        figures.errors.append(str(error))
    # The figures before the close: a reader thread woken by it would count an error.
    print(json.dumps(asdict(figures)), flush=True)
    link.close()


if __name__ == "__main__":
    main()
