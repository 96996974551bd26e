"""Micro-benchmark of the message layer: decode + validate + encode of one SAY.

What a server does with every incoming SAY (bytes -> frame -> typed request,
every field checked) and what a client does to send one (typed request ->
bytes), timed over many repetitions in one process. No sockets, no store.

    python -m bench.message_codec [--count N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from guigui.common.codec import FrameDecoder
from guigui.common.messages import Say, decode_request, encode

TEXT = "Bonjour à tous, la réunion de l'équipe informatique est décalée à 14 h 30."
SAY = Say(id=123, room="Général", text=TEXT, nonce="3f1c9a7e-0b5d-4d6a-9d27-5c1e2f6a8b90")


def best_of(runs: int, count: int, step: Callable[[], object]) -> float:
    """The fastest of ``runs`` timings of ``count`` calls, in microseconds per call."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(count):
            step()
        best = min(best, time.perf_counter() - start)
    return best / count * 1e6


def main() -> None:
    """Print microseconds per SAY for decoding, encoding, and both."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    data = encode(SAY)
    decoder = FrameDecoder()

    def decode() -> object:
        decoder.feed(data)
        frame = decoder.next_frame()
        assert frame is not None
        return decode_request(frame)

    assert decode() == SAY
    decode_us = best_of(5, args.count, decode)
    encode_us = best_of(5, args.count, lambda: encode(SAY))
    print(f"SAY frame: {len(data)} bytes")
    print(f"decode + validate: {decode_us:.2f} µs")
    print(f"encode:            {encode_us:.2f} µs")
    print(f"both:              {decode_us + encode_us:.2f} µs")


if __name__ == "__main__":
    main()
