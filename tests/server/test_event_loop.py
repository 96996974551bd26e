"""The event loop alone: callbacks posted from other threads always run."""

from __future__ import annotations

import functools
import random
import threading
import time

from guigui.server.loop import EventLoop


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
