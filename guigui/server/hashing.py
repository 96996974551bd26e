"""Password hashing: bcrypt, off the loop thread.

bcrypt is slow on purpose (a quarter of a second at the default cost), so the
loop never runs it: ``PasswordHasher`` runs it on a small thread pool (the
bcrypt module releases the GIL, so two threads use two cores) and posts each
result back to the loop as an ``Outcome`` (see ``guigui/server/handoff.py``).

``hash_password`` and ``check_password`` are the plain functions, for the
tools that run without a loop (the command line, the demo data, tests).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import bcrypt

from guigui.server.handoff import Outcome
from guigui.server.loop import EventLoop
from guigui.server.thread_names import name_os_thread

T = TypeVar("T")


class PasswordHasher:
    """bcrypt on worker threads, with the cost factor as a server setting."""

    def __init__(self, loop: EventLoop, cost: int, threads: int = 2) -> None:
        self._loop = loop
        self.cost = cost
        self._pool = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="bcrypt", initializer=name_os_thread
        )
        # Checking a login that does not exist still costs one bcrypt check, so
        # that timing does not tell which logins exist.
        self._dummy_hash = bcrypt.hashpw(b"not a password", bcrypt.gensalt(cost))
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Hashes and checks submitted whose callback has not run yet.

        Counted on the loop thread (up when submitted, down just before the
        callback runs), so the clean stop can wait until it is 0.
        """
        return self._in_flight

    def hash(self, password: str, callback: Callable[[Outcome[bytes]], None]) -> None:
        """Hash ``password``; ``callback(hash)`` runs on the loop thread."""
        self._submit(lambda: hash_password(password, self.cost), callback)

    def check(
        self, password: str, hashed: bytes | None, callback: Callable[[Outcome[bool]], None]
    ) -> None:
        """Check ``password`` against ``hashed`` (None: an unknown user, always false)."""
        target = self._dummy_hash if hashed is None else hashed

        def job() -> bool:
            return check_password(password, target) and hashed is not None

        self._submit(job, callback)

    def _submit(self, job: Callable[[], T], callback: Callable[[Outcome[T]], None]) -> None:
        self._in_flight += 1
        future = self._pool.submit(job)
        future.add_done_callback(lambda done: self._post(done, callback))

    def _post(self, future: Future[T], callback: Callable[[Outcome[T]], None]) -> None:
        error = future.exception()
        outcome: Outcome[T] = error if error is not None else future.result()

        def deliver() -> None:
            self._in_flight -= 1
            callback(outcome)

        self._loop.call_soon_threadsafe(deliver)

    def shutdown(self) -> None:
        """Finish the jobs already submitted, then stop the threads."""
        self._pool.shutdown(wait=True)


def hash_password(password: str, cost: int) -> bytes:
    """A bcrypt hash of ``password`` (UTF-8, at most 72 bytes by the protocol's rules)."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(cost))


def check_password(password: str, hashed: bytes) -> bool:
    """Whether ``password`` matches the bcrypt ``hashed``."""
    try:
        return bcrypt.checkpw(password.encode("utf-8"), hashed)
    except ValueError:  # a malformed hash or an over-long password
        return False
