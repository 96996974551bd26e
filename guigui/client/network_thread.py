"""The desktop client's network thread: commands in, updates out, never a lost message.

The Tk thread never waits on the network. It calls this class's methods, which
put a command object on a queue (``_Login``, ``_Send``, ``_LoadHistory``...),
and drains ``updates`` with ``after``; this thread does the blocking work with
``ChatConnection`` and puts back what happened as ``guigui.client.updates``
objects. ``_do`` matches each command class to the method that does it.

What the user typed is never lost: every message goes to an outbox with its
``nonce`` and leaves it only when the server acknowledged it (or refused it
for good). When the connection drops, the thread reconnects with backoff and
RESUME, sends the outbox again (same nonces: the server stores each once), and
the Tk side asks for what it missed. With several servers (a cluster's nodes,
or a name with several DNS records) each reconnection starts with the server
after the one that went away, round robin: the session goes on there. A kick
(or a timed ban) ends: the thread waits until then and resumes the same way, so
what was typed meanwhile is sent.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias, assert_never

from guigui.client.addresses import AddressError, AddressRing
from guigui.client.connection import ChatConnection, ConnectionLost, RequestFailed
from guigui.client.model import ConversationKey
from guigui.client.settings import ClientSettings, config_dir
from guigui.client.transfer_runner import TransferRunner
from guigui.client.trust import TrustPolicy
from guigui.client.updates import (
    ConnectionChanged,
    ConversationsLoaded,
    HistoryPage,
    JoinPending,
    LoggedIn,
    LoggedOut,
    LoginFailed,
    MessageAcknowledged,
    MessageRefused,
    NewServerTrusted,
    ReadStateSaved,
    Registered,
    RegisterFailed,
    RequestError,
    ResumeRefused,
    RoomJoined,
    ServerEvent,
    StillSanctioned,
    Update,
)
from guigui.common.messages import Event, Sanctioned, Shutdown
from guigui.common.objects import FileInfo
from guigui.common.protocol import ErrorCode

log = logging.getLogger(__name__)

FIRST_RETRY, MAX_RETRY = 0.5, 10.0
RETRY_LATER = {ErrorCode.UNAVAILABLE, ErrorCode.RATE_LIMITED}
"""Refusals that mean "not now": the message stays in the outbox."""
SANCTIONS = {ErrorCode.KICKED, ErrorCode.BANNED}
"""Refusals of a kicked or banned user: a timed one ends, and we resume then."""
SANCTION_MARGIN = 0.5
"""Seconds to wait after a sanction's end before resuming (the two clocks may differ a little)."""


# ---- commands: what the Tk thread asks the network thread to do ----------------------
# Each method of NetworkThread puts one of these on the queue; ``_do`` matches it.
# One name each: ``load_history`` puts ``_LoadHistory``, done by ``_do_load_history``.


@dataclass(frozen=True)
class _Register:
    login: str
    password: str = field(repr=False)  # never in a log
    first_name: str
    last_name: str
    email: str


@dataclass(frozen=True)
class _Login:
    login: str
    password: str = field(repr=False)  # never in a log


@dataclass(frozen=True)
class _Send:
    key: ConversationKey
    text: str
    nonce: str


@dataclass(frozen=True)
class _LoadHistory:
    key: ConversationKey
    before: int | None
    limit: int


@dataclass(frozen=True)
class _CatchUp:
    key: ConversationKey
    newest_id: int


@dataclass(frozen=True)
class _Join:
    room: str


@dataclass(frozen=True)
class _SetStatus:
    status: str


@dataclass(frozen=True)
class _Logout:
    pass


@dataclass(frozen=True)
class _LoadConversations:
    pass


@dataclass(frozen=True)
class _MarkRead:
    key: ConversationKey
    up_to: int


@dataclass(frozen=True)
class _FlushOutbox:
    """Try the outbox again (after the server said "not now")."""


@dataclass(frozen=True)
class _Disconnected:
    """The reader thread saw the connection end (or a transfer found ``connection`` broken)."""

    connection: ChatConnection | None = None


@dataclass(frozen=True)
class _Quit:
    pass


_Command: TypeAlias = (
    _Register
    | _Login
    | _Send
    | _LoadHistory
    | _CatchUp
    | _Join
    | _SetStatus
    | _Logout
    | _LoadConversations
    | _MarkRead
    | _FlushOutbox
    | _Disconnected
    | _Quit
)


@dataclass
class _Outgoing:
    key: ConversationKey
    text: str


class TlsRefused(ConnectionLost):
    """The server's certificate failed the check (unknown CA, or a changed pin)."""


class NetworkThread:
    """The desktop client's network thread (``guigui-network``) and its two queues.

    Its methods, callable from any thread, put a command on its queue and
    return at once; the thread does the command with its ``ChatConnection``
    and puts what happened on ``updates``. It is not a session: it outlives
    logins and logouts, and keeps one session (its RESUME token) across
    reconnections.
    """

    def __init__(self, settings: ClientSettings, client_name: str = "guigui-desktop/0.1") -> None:
        self.settings = settings
        self.client_name = client_name
        self.updates: queue.Queue[Update] = queue.Queue()
        self._commands: queue.Queue[_Command] = queue.Queue()
        self._connection: ChatConnection | None = None
        self._ring: AddressRing | None = None
        self._token: str | None = None
        self._outbox: OrderedDict[str, _Outgoing] = OrderedDict()
        self._retry_at = 0.0
        self._retry_delay = FIRST_RETRY
        self._reconnect = False
        self._sanction_ends: float | None = None
        """When a kick or timed ban ends (``time.time()``): we resume then, not before."""
        self._max_file = 0
        self._stopping = threading.Event()
        self._transfers = TransferRunner(self.updates, self._on_broken_connection)
        self._thread = threading.Thread(target=self._run, name="guigui-network", daemon=True)
        self._thread.start()

    # ---- commands (any thread) -------------------------------------------------

    def register(
        self, login: str, password: str, first_name: str, last_name: str, email: str
    ) -> None:
        """Create an account; ``Registered`` or ``RegisterFailed``."""
        self._commands.put(_Register(login, password, first_name, last_name, email))

    def login(self, login: str, password: str) -> None:
        """Log in; ``LoggedIn`` (not resumed) or ``LoginFailed``."""
        self._commands.put(_Login(login, password))

    def send(self, key: ConversationKey, text: str, nonce: str) -> None:
        """Send a message (kept until acknowledged); ``MessageAcknowledged`` later."""
        self._commands.put(_Send(key, text, nonce))

    def load_history(self, key: ConversationKey, before: int | None, limit: int = 50) -> None:
        """A page of history; ``HistoryPage``."""
        self._commands.put(_LoadHistory(key, before, limit))

    def catch_up(self, key: ConversationKey, newest_id: int) -> None:
        """Fetch what arrived after ``newest_id`` (after a reconnection)."""
        self._commands.put(_CatchUp(key, newest_id))

    def join(self, room: str) -> None:
        """Join a room or ask to; ``RoomJoined`` or ``JoinPending``."""
        self._commands.put(_Join(room))

    def set_status(self, status: str) -> None:
        """Set our status."""
        self._commands.put(_SetStatus(status))

    def logout(self) -> None:
        """Log out (the token is revoked)."""
        self._commands.put(_Logout())

    # ---- read state kept by the server (issue 13) -----------------------------------

    def load_conversations(self) -> None:
        """The server's conversations with unread counts; ``ConversationsLoaded``."""
        self._commands.put(_LoadConversations())

    def mark_read(self, key: ConversationKey, up_to: int) -> None:
        """Tell the server ``key`` is read up to ``up_to``; ``ReadStateSaved``."""
        self._commands.put(_MarkRead(key, up_to))

    # ---- files (issue 18) ---------------------------------------------------------------

    def send_file(self, key: ConversationKey, path: Path, text: str | None = None) -> str:
        """Upload ``path`` to ``key`` with an optional caption; returns the transfer's key.

        ``TransferProgress`` while it runs, then ``TransferDone`` (with the stored
        message), ``TransferFailed`` or ``TransferCancelled``. The chat goes on
        meanwhile, and a connection lost midway resumes the upload after RESUME.
        """
        return self._transfers.send_file(key, path, text)

    def get_file(self, file: FileInfo, destination: Path) -> str:
        """Download ``file`` to ``destination``; returns the transfer's key.

        ``destination`` is the file to write (replaced if it exists: ask the
        user first), or an existing directory, where the file gets its own name
        made safe (``safe_file_name``). The content goes to that file's ``.part``
        (``transfers.part_path``) and is renamed once its SHA-256 matches.
        ``TransferProgress``, then ``TransferDone`` (with the saved path),
        ``TransferFailed`` or ``TransferCancelled``.
        """
        return self._transfers.get_file(file, destination)

    def cancel_transfer(self, transfer: str) -> None:
        """Stop a transfer (``TransferCancelled``); nothing if it already ended."""
        self._transfers.cancel(transfer)

    @property
    def max_file(self) -> int:
        """The largest file the server takes, in bytes, as its HELLO said (0: not known yet).

        Known from the first login on; the GUI refuses a larger file at once
        instead of letting the server refuse it after the offer.
        """
        return self._max_file

    @property
    def transfers(self) -> int:
        """Uploads and downloads not over yet."""
        return self._transfers.running

    def close(self) -> None:
        """Stop the thread and close the connection."""
        self._stopping.set()
        self._transfers.stop()
        self._commands.put(_Quit())
        self._thread.join(5)

    @property
    def unsent(self) -> int:
        """Messages still waiting for an acknowledgement."""
        return len(self._outbox)

    # ---- the thread ------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            if self._reconnect and self._connection is None and time.monotonic() >= self._retry_at:
                self._try_reconnect()
            try:
                command = self._commands.get(timeout=0.2)
            except queue.Empty:
                continue
            if isinstance(command, _Quit):
                break
            try:
                self._do(command)
            except ConnectionLost:
                self._lost()
            except Exception as error:  # never let the thread die: say it in words
                log.exception("network command %s failed", type(command).__name__)
                self.updates.put(RequestError(ErrorCode.INTERNAL, str(error)))
        if self._connection is not None:
            self._connection.close()

    def _do(self, command: _Command) -> None:
        """Do one command: each command class and the method that does it."""
        match command:
            case _Register(login, password, first_name, last_name, email):
                self._do_register(login, password, first_name, last_name, email)
            case _Login(login, password):
                self._do_login(login, password)
            case _Send(key, text, nonce):
                self._do_send(key, text, nonce)
            case _LoadHistory(key, before, limit):
                self._do_load_history(key, before, limit)
            case _CatchUp(key, newest_id):
                self._do_catch_up(key, newest_id)
            case _Join(room):
                self._do_join(room)
            case _SetStatus(status):
                self._do_set_status(status)
            case _Logout():
                self._do_logout()
            case _LoadConversations():
                self._do_load_conversations()
            case _MarkRead(key, up_to):
                self._do_mark_read(key, up_to)
            case _FlushOutbox():
                self._do_flush_outbox()
            case _Disconnected(connection):
                self._do_disconnected(connection)
            case _Quit():
                pass  # _run stops before
            case _:
                assert_never(command)

    def _connect(self) -> ChatConnection:
        if self._connection is None or self._connection.closed:
            self.updates.put(ConnectionChanged("connecting"))
            servers = self._servers()
            try:
                self._connection = ChatConnection.connect_any(
                    servers,
                    timeout=5.0,
                    client_name=self.client_name,
                    tls=self.settings.tls,
                    trust=TrustPolicy(
                        cafile=self.settings.cafile or None,
                        known_servers=config_dir() / "known_servers.json",
                        on_new_server=self._on_new_server,
                    ),
                    on_event=self._on_event,
                    on_disconnect=self._on_disconnect,
                )
            except ssl.SSLError as error:
                self._connection = None
                raise TlsRefused(f"the server's certificate is not trusted: {error}") from error
            except OSError as error:
                self._connection = None
                raise ConnectionLost(f"cannot reach {servers}: {error}") from error
        return self._connection

    def _servers(self) -> AddressRing:
        """The servers of the settings, as a ring that remembers the one last used.

        The ring is kept while the settings name the same servers, so that a
        reconnection starts with the server after the one that went away.
        """
        try:
            addresses = self.settings.addresses()
        except AddressError as error:
            raise ConnectionLost(f"no server to connect to: {error}") from None
        if self._ring is None or self._ring.addresses != addresses:
            self._ring = AddressRing(addresses)
        return self._ring

    def _on_new_server(self, server: str, fingerprint: str) -> None:
        self.updates.put(NewServerTrusted(server, fingerprint))

    def _on_event(self, event: Event) -> None:  # reader thread
        self.updates.put(ServerEvent(event))
        if isinstance(event, Sanctioned):
            self._sanctioned(event.until)
        elif isinstance(event, Shutdown) and event.in_seconds == 0:
            self._retry_delay = FIRST_RETRY

    def _sanctioned(self, until: int | None) -> None:
        """Kicked or banned: resume when it ends (a permanent ban never ends)."""
        if until is None:
            self._reconnect = False  # a banned user is not let back in by retrying
            self._sanction_ends = None
            return
        self._sanction_ends = until / 1000
        self._retry_delay = FIRST_RETRY

    def _on_disconnect(self) -> None:  # reader thread
        self._commands.put(_Disconnected())

    def _on_broken_connection(self, connection: ChatConnection) -> None:  # a transfer's thread
        self._commands.put(_Disconnected(connection))

    def _do_disconnected(self, connection: ChatConnection | None) -> None:
        if connection is not None and connection is not self._connection:
            return  # a transfer's news of a connection already replaced
        self._lost()

    def _lost(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None
        if self._token is not None and self._reconnect:
            self._transfers.session_lost()
        else:
            self._transfers.session_ended()
        if self._token is not None and self._reconnect and self._sanction_ends is not None:
            wait = max(0.0, self._sanction_ends - time.time()) + SANCTION_MARGIN
            self._retry_at = time.monotonic() + wait
            self.updates.put(ConnectionChanged("offline", wait))
        elif self._token is not None and self._reconnect:
            self._retry_at = time.monotonic() + self._retry_delay
            self.updates.put(ConnectionChanged("offline", self._retry_delay))
            self._retry_delay = min(self._retry_delay * 2, MAX_RETRY)
        else:
            self.updates.put(ConnectionChanged("offline"))

    def _try_reconnect(self) -> None:
        try:
            connection = self._connect()
            session = connection.resume(self._token or "")
        except ConnectionLost:
            self._lost()
            return
        except RequestFailed as error:
            if error.code in RETRY_LATER:
                self._lost()
                return
            until = error.details.get("until")
            if error.code in SANCTIONS and isinstance(until, int):
                # Still kicked (the sanction was lengthened, or the clocks differ): wait again.
                self._sanctioned(until)
                self.updates.put(StillSanctioned(error.code, until, error.details))
                self._lost()
                return
            self._sanction_ends = None
            self._reconnect = False
            self._token = None
            self.updates.put(ResumeRefused(error.code, error.message, error.details))
            self._lost()
            return
        self._retry_delay = FIRST_RETRY
        self._sanction_ends = None
        self.updates.put(ConnectionChanged("online"))
        self._max_file = connection.info.max_file
        self.updates.put(LoggedIn(session, resumed=True))
        self._flush_outbox()
        self._transfers.session_opened(connection)

    # ---- commands, on the thread ---------------------------------------------------------

    def _do_register(self, login: str, password: str, first: str, last: str, email: str) -> None:
        try:
            user = self._connect().register(login, password, first, last, email)
        except RequestFailed as error:
            self.updates.put(RegisterFailed(error.code, error.message, error.details))
            return
        except ConnectionLost as error:
            self.updates.put(RegisterFailed(ErrorCode.UNAVAILABLE, str(error)))
            return
        self.updates.put(Registered(user))

    def _do_login(self, login: str, password: str) -> None:
        try:
            session = self._connect().login(login, password)
        except RequestFailed as error:
            self.updates.put(LoginFailed(error.code, error.message, error.details))
            return
        except TlsRefused as error:
            self.updates.put(LoginFailed("tls", str(error)))
            return
        except ConnectionLost as error:
            self.updates.put(LoginFailed(ErrorCode.UNAVAILABLE, str(error)))
            self.updates.put(ConnectionChanged("offline"))
            return
        self._token = session.token
        self._reconnect = True
        self._sanction_ends = None
        if self._connection is not None:
            self._max_file = self._connection.info.max_file
        self.updates.put(ConnectionChanged("online"))
        self.updates.put(LoggedIn(session, resumed=False))
        self._flush_outbox()
        if self._connection is not None:
            self._transfers.session_opened(self._connection)

    def _do_send(self, key: ConversationKey, text: str, nonce: str) -> None:
        self._outbox[nonce] = _Outgoing(key, text)
        if self._connection is not None:
            self._flush_outbox()

    def _flush_outbox(self) -> None:
        connection = self._connection
        for nonce, outgoing in list(self._outbox.items()):
            if connection is None:
                return
            try:
                if outgoing.key.kind == "room":
                    message = connection.say(outgoing.key.name, outgoing.text, nonce)
                else:
                    message = connection.direct(outgoing.key.name, outgoing.text, nonce)
            except RequestFailed as error:
                if error.code in RETRY_LATER:
                    retry = float(error.details.get("retry_after_ms", 1000)) / 1000
                    threading.Timer(retry, lambda: self._commands.put(_FlushOutbox())).start()
                    return
                del self._outbox[nonce]
                self.updates.put(MessageRefused(nonce, error.code, error.message))
                continue
            except (ConnectionLost, TimeoutError):
                self._lost()
                return
            del self._outbox[nonce]
            self.updates.put(MessageAcknowledged(nonce, message))

    def _do_flush_outbox(self) -> None:
        if self._connection is not None:
            self._flush_outbox()

    def _do_load_history(self, key: ConversationKey, before: int | None, limit: int) -> None:
        if self._connection is None:
            return
        room, with_user = (key.name, None) if key.kind == "room" else (None, key.name)
        try:
            messages, more = self._connection.history(room, with_user, before, limit)
        except RequestFailed as error:
            self.updates.put(RequestError(error.code, error.message))
            return
        self.updates.put(HistoryPage(key, messages, more, older=before is not None))

    def _do_catch_up(self, key: ConversationKey, newest_id: int) -> None:
        """Page back from the newest message until the ones already held."""
        if self._connection is None:
            return
        room, with_user = (key.name, None) if key.kind == "room" else (None, key.name)
        before: int | None = None
        while True:
            try:
                messages, more = self._connection.history(room, with_user, before, 100)
            except RequestFailed:
                return
            self.updates.put(HistoryPage(key, messages, more, older=False))
            if not more or not messages or messages[0].id <= newest_id:
                return
            before = messages[0].id

    def _do_join(self, room: str) -> None:
        if self._connection is None:
            return
        try:
            reply = self._connection.join(room)
        except RequestFailed as error:
            self.updates.put(RequestError(error.code, error.message))
            return
        if reply.status == "pending":
            self.updates.put(JoinPending(room, reply.request_id))
        elif reply.room is not None:
            self.updates.put(RoomJoined(reply.room))
        else:  # the protocol promises the room with "joined": say it if a server forgets it
            self.updates.put(RequestError(ErrorCode.INTERNAL, "JOIN answered without the room"))

    def _do_set_status(self, status: str) -> None:
        if self._connection is not None:
            try:
                self._connection.set_status(status)
            except RequestFailed as error:
                self.updates.put(RequestError(error.code, error.message))

    def _do_logout(self) -> None:
        self._reconnect = False
        self._sanction_ends = None
        self._transfers.cancel_all()
        self._transfers.session_ended()
        if self._connection is not None:
            with contextlib.suppress(RequestFailed):
                self._connection.logout()
        self._token = None
        self._outbox.clear()
        self.updates.put(LoggedOut())

    # ---- read state kept by the server (issue 13) -----------------------------------
    # A server without it answers unknown_type: the client then counts unread
    # messages itself, as before; nothing is shown to the user.

    def _do_load_conversations(self) -> None:
        if self._connection is None:
            return
        try:
            states = self._connection.all_conversations()
        except RequestFailed as error:
            log.info("no read state from the server: %s", error)
            return
        self.updates.put(ConversationsLoaded(states))

    def _do_mark_read(self, key: ConversationKey, up_to: int) -> None:
        if self._connection is None:
            return
        room, with_user = (key.name, None) if key.kind == "room" else (None, key.name)
        try:
            state = self._connection.mark_read(up_to, room, with_user)
        except RequestFailed as error:
            log.info("READ %s up to %d refused: %s", key, up_to, error)
            return
        self.updates.put(ReadStateSaved(state))
