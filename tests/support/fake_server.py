"""A scripted server for client tests: real sockets, and a test function as the server.

``fake_server`` (a fixture, in tests/client/conftest.py) starts a listener on
an ephemeral port whose one connection is served by a script: a function of
a ``FakePeer``, which reads frames and sends what the test wants, exactly
when it wants (a reply out of order, a connection cut after three chunks).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from guigui.common.codec import Frame, FrameDecoder, encode_frame
from guigui.common.protocol import MessageType

Script = Callable[["FakePeer"], None]


class FakePeer:
    """The server side of one connection, driven by a test script."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.decoder = FrameDecoder()

    def receive(self) -> Frame:
        while (frame := self.decoder.next_frame()) is None:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError
            self.decoder.feed(data)
        return frame

    def send(self, message_type: int, body: dict[str, Any]) -> None:
        self.sock.sendall(encode_frame(message_type, body))

    def answer_hello(self, heartbeat: int = 30) -> None:
        hello = self.receive()
        assert hello.type == MessageType.HELLO and hello.body["version"] == 1
        self.send(
            MessageType.OK,
            {"id": hello.body["id"], "version": 1, "server": "fake/1", "max_frame": 65536,
             "max_text": 4000, "heartbeat": heartbeat},
        )  # fmt: skip


@pytest.fixture
def fake_server() -> Iterator[Callable[[Script], tuple[str, int]]]:
    """Start a one-connection fake server running ``script``; returns its address."""
    listeners: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(script: Script) -> tuple[str, int]:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def serve() -> None:
            sock, _ = listener.accept()
            try:
                script(FakePeer(sock))
            except (EOFError, OSError):
                pass
            finally:
                sock.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        host, port = listener.getsockname()
        return host, port

    yield start
    for listener in listeners:
        listener.close()
    for thread in threads:
        thread.join(5)
