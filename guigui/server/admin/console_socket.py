"""The admin console over a Unix socket: moderating a server that runs as a service.

A server started by systemd has no terminal and no display: neither the panel
nor the console on standard input can reach it. With ``--admin-socket PATH``
the server also listens on a Unix socket; ``run_server.py console`` connects to
it and relays the admin's terminal, so that the admin gets the same console as
``--headless`` gives, on the running service.

Two locks guard it. The socket file is created with mode 0660 in a directory
the service owns: only its user and the members of its group (the admins'
Unix accounts) can connect. And each connection is a console of its own, with
its own ``AdminAPI``: nothing can be done before an admin ``login`` with an
admin account's password (bcrypt, throttled, audited), and logging out of one
console does not log out another.

The wire is plain text, one command per line, as typed. The one subtlety is the
password: the console asks for it by writing ``PASSWORD_PROMPT`` without a line
end, and ``relay`` answers that prompt with ``getpass`` (no echo) when it runs
on a terminal; from a pipe, the next line is the password, as in the console
on standard input.

Threads: one accepts connections, one per connection runs its console; they
touch no loop-owned state (``AdminAPI`` hands every command to the loop thread).
"""

from __future__ import annotations

import codecs
import contextlib
import getpass
import logging
import os
import select
import socket
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from guigui.common.i18n import LANGUAGES, _, load_catalog
from guigui.server.admin.api import AdminAPI
from guigui.server.admin.console import AdminConsole
from guigui.server.chat_server import ChatServer

log = logging.getLogger(__name__)

DEFAULT_ADMIN_SOCKET = Path("/run/guigui-chat/admin.sock")
"""Where the systemd service puts the socket (``RuntimeDirectory=guigui-chat``)."""
ADMIN_SOCKET_VARIABLE = "GUIGUI_ADMIN_SOCKET"
"""The environment variable ``run_server.py console`` reads when ``--socket`` is not given."""
PASSWORD_PROMPT = "Password: "
"""Written without a line end when the console waits for a password (translated)."""
SOCKET_MODE = 0o660


class SocketConsole(AdminConsole):
    """An ``AdminConsole`` whose questions go to the socket, never to the server's terminal."""

    def __init__(self, api: AdminAPI, reader: TextIO, writer: TextIO) -> None:
        super().__init__(api, iter(reader), writer, self._ask_password)

    def _ask(self, prompt: str) -> str:
        self.output.write(prompt)
        self.output.flush()
        return next(self.lines, "").rstrip("\r\n")

    def _ask_password(self) -> str:
        return self._ask(_("Password: "))

    def do_login(self, args: list[str]) -> None:
        """Log in; the login, when not given, is asked on the socket."""
        super().do_login(args or [self._ask(_("Login: "))])


class ConsoleSocketServer:
    """Listens on a Unix socket and runs one ``SocketConsole`` per connection."""

    def __init__(self, server: ChatServer, path: Path) -> None:
        self.server = server
        self.path = path
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        """Bind the socket (mode 0660) and accept consoles on a thread of its own.

        A socket file left by a server that died is replaced; one that a live
        server answers on is not (``OSError``: another server uses it).
        """
        self._remove_stale_socket()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Created with no permission for others from the first instant, then opened
        # to the group: never a moment when anyone may connect.
        previous_umask = os.umask(0o177)
        try:
            listener.bind(str(self.path))
        finally:
            os.umask(previous_umask)
        os.chmod(self.path, SOCKET_MODE)
        listener.listen(8)
        self._listener = listener
        threading.Thread(target=self._accept, name="admin-socket", daemon=True).start()
        log.info("admin console on %s (run_server.py console)", self.path)

    def _remove_stale_socket(self) -> None:
        try:
            mode = self.path.lstat().st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(mode):
            raise OSError(f"{self.path} exists and is not a socket: not replaced")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(self.path))
        except OSError:
            self.path.unlink()  # nobody listens: left by a server that died
        else:
            raise OSError(f"another server already listens on {self.path}")
        finally:
            probe.close()

    def _accept(self) -> None:
        listener = self._listener
        assert listener is not None
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed by close()
            with self._lock:
                self._connections.add(connection)
            threading.Thread(
                target=self._serve, args=(connection,), name="admin-console-socket", daemon=True
            ).start()

    def _serve(self, connection: socket.socket) -> None:
        log.info("admin console connected on %s", self.path)
        api = AdminAPI(self.server)
        try:
            # Two file objects: a text file open for both would drop what it had read
            # ahead each time it writes (TextIOWrapper assumes a seekable file).
            with (
                connection.makefile("r", encoding="utf-8", newline="\n") as reader,
                connection.makefile("w", encoding="utf-8", newline="\n") as writer,
            ):
                SocketConsole(api, reader, writer).run()
        except (OSError, ValueError):
            pass  # the admin's side went away
        finally:
            if api.admin is not None:
                with contextlib.suppress(Exception):
                    api.logout().result(10)
            with self._lock:
                self._connections.discard(connection)
            connection.close()
            log.info("admin console disconnected from %s", self.path)

    def close(self) -> None:
        """Stop accepting, end every console, remove the socket file."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def relay(path: Path, lines: TextIO = sys.stdin, output: TextIO = sys.stdout) -> int:
    """``run_server.py console``: relay ``lines`` to the server's console and its answers back.

    Returns the exit status: 0 when the console ends, 1 when the socket cannot be
    reached (the message says why and what to check).
    """
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(str(path))
    except OSError as error:
        print(
            _(
                "cannot reach the server's admin console on {path}: {error} (is the server"
                " running with --admin-socket? are you in its group?)"
            ).format(path=path, error=error.strerror or error),
            file=sys.stderr,
        )
        client.close()
        return 1
    interactive = lines.isatty()
    # The server speaks the admin's language: its prompt may be any translation.
    password_prompts = tuple(
        {
            PASSWORD_PROMPT,
            *(load_catalog(language).get(PASSWORD_PROMPT, "") for language in LANGUAGES),
        }
        - {""}
    )
    pending = ""  # what the server wrote since its last line end
    with client:
        for text in _server_text(client, lines.fileno()):
            output.write(text)
            output.flush()
            pending = (pending + text).rsplit("\n", 1)[-1]
            if interactive and pending.endswith(password_prompts):
                pending = ""
                try:
                    secret = getpass.getpass("")
                except EOFError:
                    secret = ""
                client.sendall(secret.encode("utf-8") + b"\n")
    return 0


def _server_text(client: socket.socket, typed: int) -> Iterator[str]:
    """What the server writes, as it comes, while what the admin types is sent to it.

    ``typed`` is the file descriptor of the admin's input, read raw (a buffered
    reader would hold lines that ``select`` cannot see). Ends when the server
    closes the connection; the end of the admin's input half-closes it, so the
    console sees its end of input after answering every line before it.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    watched = [client.fileno(), typed]
    while True:
        ready, _, _ = select.select(watched, [], [])
        if client.fileno() in ready:
            data = client.recv(65536)
            if not data:
                return
            yield decoder.decode(data)
        if typed in ready:
            data = os.read(typed, 65536)
            if data:
                client.sendall(data)
            else:
                client.shutdown(socket.SHUT_WR)
                watched.remove(typed)
