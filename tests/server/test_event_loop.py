"""The event loop alone: callbacks posted from other threads always run."""

from __future__ import annotations

import functools
import os
import random
import socket
import threading
import time
from unittest.mock import Mock

import pytest

from guigui.server.loop import DEBUG_THREADS_VARIABLE, EventLoop


def test_callbacks_from_many_threads_all_run_without_a_lost_wake_up() -> None:
    loop = EventLoop()
    runner = threading.Thread(target=loop.run, daemon=True)
    runner.start()
    seen: list[int] = []
    done = threading.Event()
    producers, per_producer = 4, 5000
    expected = producers * per_producer

    def record(value: int) -> None:
        seen.append(value)
        if len(seen) == expected:
            done.set()

    def produce(offset: int) -> None:
        pace = random.Random(offset)
        for n in range(per_producer):
            loop.call_soon_threadsafe(functools.partial(record, offset + n))
            if pace.random() < 0.01:  # now and then let the loop fall asleep
                time.sleep(0.0005)

    threads = [threading.Thread(target=produce, args=(k * per_producer,)) for k in range(producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The loop waits in select() with no timer: a lost wake-up would leave it asleep.
    assert done.wait(10), f"{expected - len(seen)} callbacks never ran"
    assert sorted(seen) == list(range(expected))
    loop.call_soon_threadsafe(loop.stop)
    runner.join(5)
    assert not runner.is_alive()


def test_a_callback_posted_while_the_loop_sleeps_wakes_it() -> None:
    loop = EventLoop()
    runner = threading.Thread(target=loop.run, daemon=True)
    runner.start()
    for _ in range(50):
        ran = threading.Event()
        time.sleep(0.002)  # the loop is asleep in select() now
        loop.call_soon_threadsafe(ran.set)
        assert ran.wait(5)
    loop.call_soon_threadsafe(loop.stop)
    runner.join(5)


def run_in_thread(loop: EventLoop) -> threading.Thread:
    """Start ``loop`` in its own thread and return once it runs."""
    running = threading.Event()
    loop.call_soon_threadsafe(running.set)
    runner = threading.Thread(target=loop.run, name="event-loop", daemon=True)
    runner.start()
    assert running.wait(5)
    return runner


def test_loop_only_entry_points_raise_when_another_thread_calls_them() -> None:
    loop = EventLoop(check_threads=True)
    loop.call_later(60, lambda: None)  # before run: whoever sets the loop up may
    runner = run_in_thread(loop)
    reader, writer = socket.socketpair()
    calls = {
        "call_later": lambda: loop.call_later(0, lambda: None),
        "add_reader": lambda: loop.add_reader(reader, Mock()),
        "set_events": lambda: loop.set_events(reader, Mock(), write=True),
        "remove": lambda: loop.remove(reader),
        "stop": loop.stop,
    }
    for name, call in calls.items():
        refusal = f"EventLoop.{name} called from thread 'MainThread'.*use call_soon_threadsafe"
        with pytest.raises(RuntimeError, match=refusal):
            call()
    # The same calls from the loop thread are fine.
    done = threading.Event()

    def on_the_loop() -> None:
        loop.add_reader(reader, Mock())
        loop.set_events(reader, Mock(), write=False)
        loop.remove(reader)
        loop.call_later(0, done.set)

    loop.call_soon_threadsafe(on_the_loop)
    assert done.wait(5)
    loop.call_soon_threadsafe(loop.stop)
    runner.join(5)
    assert not runner.is_alive()
    loop.remove(reader)  # stopped: one thread owns it again
    reader.close()
    writer.close()


def test_the_check_is_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEBUG_THREADS_VARIABLE, "1")
    assert EventLoop().check_threads and not EventLoop(check_threads=False).check_threads
    monkeypatch.setenv(DEBUG_THREADS_VARIABLE, "0")
    assert not EventLoop().check_threads
    monkeypatch.delenv(DEBUG_THREADS_VARIABLE)
    loop = EventLoop()
    assert not loop.check_threads
    runner = run_in_thread(loop)
    loop.call_later(0, lambda: None)  # unchecked: no error (the breach stays silent)
    loop.call_soon_threadsafe(loop.stop)
    runner.join(5)


def test_the_test_suite_runs_with_the_check_on() -> None:
    assert os.environ.get(DEBUG_THREADS_VARIABLE) == "1"
    assert EventLoop().check_threads
