"""Signals reach the server through a wake-up socket and a thread, never a handler's lock."""

from __future__ import annotations

import os
import signal
import threading
import time

from guigui.server.loop import EventLoop
from guigui.server.signals import SignalWatcher


def test_a_signal_reaches_on_signal_on_the_watcher_thread() -> None:
    seen: list[tuple[int, str]] = []
    arrived = threading.Event()

    def on_signal(signum: int) -> None:
        seen.append((signum, threading.current_thread().name))
        arrived.set()

    before = signal.getsignal(signal.SIGUSR1)
    watcher = SignalWatcher(on_signal, [signal.SIGUSR1])
    watcher.install()
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        assert arrived.wait(5)
    finally:
        watcher.uninstall()
    assert seen == [(signal.SIGUSR1, "signal-watcher")]
    assert signal.getsignal(signal.SIGUSR1) == before


def test_a_signal_landing_while_the_main_thread_holds_the_wake_up_lock_does_not_deadlock() -> None:
    """The issue's case: a handler that posted to the loop would wait forever here.

    The main thread takes the loop's wake-up lock (as it does, briefly, each
    time the panel sends a command) and the signal lands then. A Python handler
    runs in the main thread: had it called ``call_soon_threadsafe``, it would
    wait for a lock its own thread holds.
    """
    loop = EventLoop()
    runner = threading.Thread(target=loop.run, name="event-loop", daemon=True)
    runner.start()
    handled = threading.Event()
    watcher = SignalWatcher(
        lambda _signum: loop.call_soon_threadsafe(handled.set), [signal.SIGUSR1]
    )
    watcher.install()
    try:
        with loop._wake_lock:
            os.kill(os.getpid(), signal.SIGUSR1)
            time.sleep(0.1)  # the handler runs during this, in this thread
        assert handled.wait(5)
    finally:
        watcher.uninstall()
    loop.call_soon_threadsafe(loop.stop)
    runner.join(5)
