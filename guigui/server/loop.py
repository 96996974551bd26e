"""A small ``selectors`` event loop: readiness callbacks, timers and a thread-safe inbox.

One thread runs ``EventLoop.run``. Every registered socket carries its handler
object in ``SelectorKey.data`` (no side table from fd to state). Other threads
never touch sockets or chat state: they hand a callable to
``call_soon_threadsafe``, which queues it and, unless a wake-up byte is already
unread, writes one byte to a wake-up socketpair registered in the same
selector, so the loop wakes and runs everything queued.

After each round of events the loop calls its ``after_events`` hook: the server
uses it to flush every connection with pending output once per iteration, the
way Redis's ``beforeSleep`` does.

The thread rule, checked: with ``GUIGUI_DEBUG_THREADS=1`` in the environment
(the test suite sets it), the loop-only entry points (``add_reader``,
``set_events``, ``remove``, ``call_later``, ``stop``) raise ``RuntimeError``
when another thread calls them while the loop runs. It is off by default, so
that a breach the tests missed cannot stop a server in production.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

Callback = Callable[[], None]

DEBUG_THREADS_VARIABLE = "GUIGUI_DEBUG_THREADS"
"""Set to ``1`` to make loop-only entry points check the calling thread."""


class Handler(Protocol):
    """What the loop calls when a registered socket is ready."""

    def on_readable(self) -> None:
        """The socket has data (or a connection, or EOF) to read."""

    def on_writable(self) -> None:
        """The socket can take more output."""


class _Waker:
    """The read end of the wake-up socketpair: reading it empties it and re-arms the loop."""

    def __init__(self, loop: EventLoop, sock: socket.socket) -> None:
        self.loop = loop
        self.sock = sock

    def on_readable(self) -> None:
        try:
            while self.sock.recv(4096):
                pass
        except BlockingIOError:
            pass
        # Re-arm after reading, so no byte written from now on is swallowed. A
        # callback queued before this point is in the inbox, which the loop runs
        # later in this same iteration.
        self.loop.rearm_wake_up()

    def on_writable(self) -> None:  # never registered for writing
        pass


class TimerHandle:
    """A timer that can be cancelled before it fires."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callback) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run the callback."""
        self.cancelled = True


class EventLoop:
    """A single-threaded loop over a ``selectors.DefaultSelector``.

    ``check_threads``: whether loop-only entry points raise when called from
    another thread while the loop runs (None: read ``GUIGUI_DEBUG_THREADS``).
    """

    def __init__(self, *, check_threads: bool | None = None) -> None:
        if check_threads is None:
            check_threads = os.environ.get(DEBUG_THREADS_VARIABLE) == "1"
        self.check_threads = check_threads
        self.selector = selectors.DefaultSelector()
        self._inbox: deque[Callback] = deque()
        self._timers: list[tuple[float, int, TimerHandle]] = []
        self._sequence = itertools.count()
        self._running = False
        self._thread_id: int | None = None
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self._wake_lock = threading.Lock()
        self._woken = False
        """A wake-up byte is on its way and unread: queuing more need not write another."""
        self.selector.register(
            self._wake_reader, selectors.EVENT_READ, _Waker(self, self._wake_reader)
        )
        self.after_events: Callback = lambda: None

    # ---- registration --------------------------------------------------------

    def add_reader(self, sock: socket.socket, handler: Handler) -> None:
        """Watch ``sock`` for reading; ``handler.on_readable`` is called when it is ready."""
        self._check_thread("add_reader")
        self.selector.register(sock, selectors.EVENT_READ, handler)

    def set_events(
        self, sock: socket.socket, handler: Handler, *, write: bool, read: bool = True
    ) -> None:
        """Watch ``sock`` for reading (unless ``read`` is false) and for writing if ``write``.

        Neither: the socket stays open but unwatched until the next call.
        """
        self._check_thread("set_events")
        events = (selectors.EVENT_READ if read else 0) | (selectors.EVENT_WRITE if write else 0)
        if not events:
            self.remove(sock)
            return
        try:
            self.selector.modify(sock, events, handler)
        except KeyError:  # unwatched since a call with neither
            self.selector.register(sock, events, handler)

    def remove(self, sock: socket.socket) -> None:
        """Stop watching ``sock`` (no error if it is not registered)."""
        self._check_thread("remove")
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(sock)

    # ---- scheduling ----------------------------------------------------------

    def call_soon_threadsafe(self, callback: Callback) -> None:
        """Run ``callback`` on the loop thread soon; callable from any thread."""
        self._inbox.append(callback)
        # One byte per wake-up, not per callback: under load the store worker posts
        # a batch while the loop is busy, and a byte already in flight wakes it
        # anyway (it runs the whole inbox). This saves a send() here and a recv()
        # on the loop per callback. The lock orders this test with the re-arming.
        with self._wake_lock:
            if self._woken:
                return
            self._woken = True
        # A full pair means the loop is already due to wake; a closed one, that it stopped.
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"\0")

    def rearm_wake_up(self) -> None:
        """The wake-up bytes are read: the next ``call_soon_threadsafe`` writes one again."""
        with self._wake_lock:
            self._woken = False

    def call_later(self, delay: float, callback: Callback) -> TimerHandle:
        """Run ``callback`` on the loop thread after ``delay`` seconds (loop thread only)."""
        self._check_thread("call_later")
        handle = TimerHandle(time.monotonic() + delay, callback)
        heapq.heappush(self._timers, (handle.when, next(self._sequence), handle))
        return handle

    def in_loop_thread(self) -> bool:
        """Whether the caller runs on the loop thread."""
        return threading.get_ident() == self._thread_id

    def _check_thread(self, entry_point: str) -> None:
        """With ``check_threads``: raise if another thread calls ``entry_point`` while we run.

        Before ``run`` (setting up) and after it (tearing down), one thread owns
        the loop anyway, whichever it is.
        """
        if not self.check_threads:
            return
        owner = self._thread_id
        if owner is not None and threading.get_ident() != owner:
            raise RuntimeError(
                f"EventLoop.{entry_point} called from thread"
                f" {threading.current_thread().name!r}, not the loop's;"
                " use call_soon_threadsafe"
            )

    # ---- running -------------------------------------------------------------

    def run(self) -> None:
        """Run until ``stop`` is called; then close the selector and the socketpair."""
        self._running = True
        self._thread_id = threading.get_ident()
        try:
            while self._running:
                self._run_once()
        finally:
            self._thread_id = None
            self.selector.close()
            self._wake_reader.close()
            self._wake_writer.close()

    def stop(self) -> None:
        """Make ``run`` return after the current iteration (loop thread only)."""
        self._check_thread("stop")
        self._running = False

    def _run_once(self) -> None:
        """One iteration: select, then handlers, then the inbox, then timers, then flush.

        The order is what makes the loop cheap and fair:

        1. ``select`` sleeps until a socket is ready, a timer is due, or another
           thread queued work (its wake-up byte makes the socketpair readable);
           with work already in the inbox it does not sleep at all.
        2. The ready sockets' handlers run first: they read what clients sent,
           which is what everything else reacts to. A handler that fails is
           logged and the others still run.
        3. The inbox next: results the workers posted (a bcrypt check, a group
           commit). Only what was queued before this step runs, so a callback
           that queues another cannot keep the loop from selecting again.
        4. Due timers after that (heartbeats, the clean stop's steps), so they
           see the state the reads and the results left.
        5. ``after_events`` last: the server flushes each connection with
           pending output once, as Redis does in ``beforeSleep``. Everything
           the steps above queued for a client (fifty messages of one group
           commit, say) leaves in one ``send``, not one per message.
        """
        timeout = self._next_timeout()
        for key, mask in self.selector.select(timeout):
            handler: Handler = key.data
            try:
                if mask & selectors.EVENT_READ:
                    handler.on_readable()
                if mask & selectors.EVENT_WRITE:
                    handler.on_writable()
            except Exception:
                log.exception("handler %r failed", handler)
        self._run_inbox()
        self._run_due_timers()
        self.after_events()

    def _next_timeout(self) -> float | None:
        if self._inbox:
            return 0.0
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        if not self._timers:
            return None
        return max(0.0, self._timers[0][0] - time.monotonic())

    def _run_inbox(self) -> None:
        # Only the callbacks queued so far: one queued while running waits a turn.
        for _ in range(len(self._inbox)):
            callback = self._inbox.popleft()
            self._run_guarded(callback)

    def _run_due_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, handle = heapq.heappop(self._timers)
            if not handle.cancelled:
                self._run_guarded(handle.callback)

    @staticmethod
    def _run_guarded(callback: Callback) -> None:
        try:
            callback()
        except Exception:
            log.exception("callback %r failed", callback)
