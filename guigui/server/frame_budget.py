"""Keeping answers within ``max_frame``: how many items of a list fit in one frame.

The server never sends a frame longer than the ``max_frame`` it announced in
its HELLO reply (a client is right to refuse one). Most answers are small by
construction; the ones that list things (a HISTORY page, the people online in
a LOGIN reply) measure their items and take as many as fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()


def payload_size(message: Any) -> int:
    """Bytes of ``message``'s JSON body."""
    return len(_encoder.encode(message))


def room_left(max_frame: int, message: Any) -> int:
    """Bytes a frame may still add to ``message`` (its lists empty) before it exceeds ``max_frame``.

    ``max_frame`` counts the type byte and the body.
    """
    return max_frame - 1 - payload_size(message)


def items_that_fit(items: Sequence[Any], budget: int) -> int:
    """How many of the first ``items`` fit in ``budget`` bytes as elements of a JSON array."""
    used = 0
    for count, item in enumerate(items):
        used += payload_size(item) + (1 if count else 0)  # the comma before every item but one
        if used > budget:
            return count
    return len(items)
