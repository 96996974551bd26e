"""Handing work between threads: the loop thread owns the chat state, others ask it.

Two directions, one shape. A worker thread (bcrypt, the store) hands its
result back to the loop as an ``Outcome``: the value, or the exception the job
raised, so the loop sees failures as values. Another thread that wants the
loop to act (the admin panel's Tk thread, the admin console, a test) calls
``run_on_loop``: the action runs on the loop thread, reports through ``done``,
and the caller waits on a ``concurrent.futures.Future``.

Both travel through ``EventLoop.call_soon_threadsafe`` and its wake-up
socketpair (see ``guigui/server/loop.py``), so only the loop thread ever
touches chat state.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Protocol, TypeAlias, TypeVar

T = TypeVar("T")

Outcome: TypeAlias = T | BaseException
"""What a callback receives: the job's result, or the exception it raised."""

Done = Callable[[Outcome[T]], None]
"""What an action on the loop calls once, with its result or its error."""


class LoopOwner(Protocol):
    """Whatever owns the loop thread and runs callables on it (the server, a loop)."""

    def call_soon_threadsafe(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the loop thread soon; callable from any thread."""


def run_on_loop(
    owner: LoopOwner, action: Callable[[Done[T]], None]
) -> concurrent.futures.Future[T]:
    """Run ``action(done)`` on the loop thread from any thread; the future gets its outcome.

    ``action`` may finish later (after a trip to a worker): the future is
    settled when it calls ``done``. An exception raised by ``action`` itself
    settles the future too, so the caller never waits for nothing.
    """
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def done(outcome: Outcome[T]) -> None:
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    def start() -> None:
        try:
            action(done)
        except Exception as error:
            future.set_exception(error)

    owner.call_soon_threadsafe(start)
    return future
