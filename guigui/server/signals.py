"""SIGINT and SIGTERM, handled without running anything in the signal handler.

Python runs a signal handler in the main thread, between two bytecodes of
whatever that thread was doing. A handler that takes a lock can deadlock: if
the main thread held that lock when the signal landed, the handler waits for
a lock its own thread will never release. Stopping the server takes the
event loop's wake-up lock (``call_soon_threadsafe``), which the main thread
also takes whenever the admin panel sends a command.

So the Python handler does nothing at all: it only replaces the default
action (dying, or ``KeyboardInterrupt``). The signal reaches us through
``signal.set_wakeup_fd``: the interpreter's C handler writes the signal's
number to a socket, which takes no lock and happens even while the main
thread is busy in Tk. A small thread reads that socket and calls
``on_signal(signum)`` from ordinary code, where taking a lock is safe.
asyncio does the same for ``loop.add_signal_handler``.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from guigui.server.thread_names import name_os_thread

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _do_nothing(_signum: int, _frame: FrameType | None) -> None:
    """The Python-level handler: the work is done by ``SignalWatcher``'s thread."""


class SignalWatcher:
    """Calls ``on_signal(signum)`` on its own thread when one of ``signals`` arrives.

    ``install`` and ``uninstall`` must run in the main thread (Python allows
    signal handlers to be set there only).
    """

    def __init__(
        self, on_signal: Callable[[int], None], signals: Sequence[signal.Signals] = STOP_SIGNALS
    ) -> None:
        self.on_signal = on_signal
        self.signals = tuple(signals)
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)  # set_wakeup_fd requires it
        self._previous_fd = -1
        self._previous_handlers: dict[signal.Signals, Any] = {}
        self._thread = threading.Thread(target=self._watch, name="signal-watcher", daemon=True)

    def install(self) -> None:
        """Start watching: from now on the signals reach ``on_signal``."""
        self._thread.start()
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        for signum in self.signals:
            self._previous_handlers[signum] = signal.signal(signum, _do_nothing)

    def uninstall(self) -> None:
        """Give the signals back to their previous handlers and end the thread."""
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._writer.close()  # the watcher reads the end of the stream and returns
        self._thread.join()
        self._reader.close()

    def _watch(self) -> None:
        name_os_thread()
        numbers = {int(signum) for signum in self.signals}
        while data := self._reader.recv(64):
            for signum in data:
                if signum not in numbers:  # another handler's signal: not ours
                    continue
                try:
                    self.on_signal(signum)
                except Exception:
                    log.exception("handling signal %d failed", signum)
