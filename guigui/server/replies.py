"""Answering a request: its reply, or its ERROR, the same way wherever it fails.

Every request gets exactly one answer (PROTOCOL.md). A handler answers with
``reply``; it refuses by *raising* ``ProtocolError``, and so does everything it
calls: a check before any work, a store job on the worker thread, or the code
that runs when the worker's result is back. There is one way to fail a request:

- before the first trip to a worker, ``ChatServer.request_received`` catches
  what the handler raised and calls ``reject``;
- after it, the handler hands the worker a callback made by ``when_done``,
  which catches the same way what the job raised or what the code that uses
  its result raised.

``error_for`` decides what the client is told of an exception: a
``ProtocolError`` as it is, a store failure as ``unavailable`` (nothing was
lost, try again), anything else as ``internal`` (a bug: logged, with its
traceback when there is one).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import TypeVar

from guigui.common.errors import ProtocolError
from guigui.common.messages import Error, Message, Reply, encode
from guigui.common.protocol import HEADER_SIZE, ErrorCode
from guigui.server.connection import Connection
from guigui.server.handoff import Outcome
from guigui.server.store import StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_AFTER_MS = 1000
"""What ``ERROR unavailable`` suggests to wait before retrying."""


def send(connection: Connection, message: Message) -> None:
    """Encode ``message`` and queue it for ``connection``, never over ``max_frame``.

    The answers that can grow (HISTORY, LOGIN's ``online``) cut themselves to
    fit; should one not, this is a bug, logged, and the client gets
    ``ERROR internal`` instead of a frame it would have to refuse.
    """
    data = encode(message)
    if len(data) - HEADER_SIZE > connection.max_frame:
        log.error(
            "%s: a %s of %d bytes is over max_frame; sent ERROR internal instead",
            connection.peer,
            type(message).__name__,
            len(data),
        )
        request_id = message.id if isinstance(message, Reply) else None
        data = encode(Error(request_id, str(ErrorCode.INTERNAL), "the answer is too large"))
    connection.send(data)


def reply(connection: Connection, answer: Reply) -> None:
    """Answer a request with its OK."""
    send(connection, answer)
    connection.request_answered()


def reject(connection: Connection, request_id: int, error: ProtocolError) -> None:
    """Answer a request with ERROR, closing the connection if the error is fatal."""
    connection.refuse(error, request_id)
    connection.request_answered()


def error_for(failure: BaseException, connection: Connection) -> ProtocolError:
    """What the client is told of ``failure``: a refusal as is, a store failure, or a bug."""
    if isinstance(failure, ProtocolError):
        return failure
    if isinstance(failure, StoreError):
        return ProtocolError(
            ErrorCode.UNAVAILABLE,
            "storage is unavailable; nothing was lost, try again",
            retry_after_ms=RETRY_AFTER_MS,
        )
    log.error("%s: request failed: %r", connection.peer, failure, exc_info=failure)
    return ProtocolError(ErrorCode.INTERNAL, "internal server error")


def when_done(
    connection: Connection,
    request_id: int,
    then: Callable[[T], None],
    *,
    finally_: Callable[[], None] | None = None,
    on_failure: Callable[[], None] | None = None,
) -> Callable[[Outcome[T]], None]:
    """The callback to give a worker: ``then(result)``, or the request's ERROR.

    ``then`` runs on the loop thread with the job's result and answers the
    request (``reply``, as its last act), or raises ``ProtocolError`` to
    refuse it. If the job raised, or ``then`` does, the request is answered
    with ``error_for`` of that exception. ``finally_`` runs first in every
    case, to release what the handler reserved before the trip to the worker;
    ``on_failure`` runs before the ERROR is sent, to undo what must be undone.
    """

    def done(outcome: Outcome[T]) -> None:
        if finally_ is not None:
            finally_()
        try:
            if isinstance(outcome, BaseException):
                raise outcome
            then(outcome)
        except Exception as failure:
            if on_failure is not None:
                on_failure()
            reject(connection, request_id, error_for(failure, connection))

    return done


def rate_limited(what: str, wait: float, connection: Connection) -> ProtocolError:
    """The ``rate_limited`` error for a tripped limit, logged."""
    log.warning("%s: rate limited: %s (retry in %.1f s)", connection.peer, what, wait)
    return ProtocolError(
        ErrorCode.RATE_LIMITED,
        f"too many requests: {what}; try again in {wait:.0f} s",
        retry_after_ms=max(1, math.ceil(wait * 1000)),
    )
