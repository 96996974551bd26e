"""PendingOutput alone: who is written at once, who waits, and never past the bound.

Times are given, not read from a clock: the tests pin the rule, not a speed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from guigui.server.pending_output import PendingOutput

BOUND = 0.001


@dataclass(eq=False)
class Reader:
    """Stands for a connection: its last write, its buffer, the writes it was asked for."""

    last_write: float = -1.0
    pending_bytes: int = 100
    closing: bool = False
    writes: list[float] = field(default_factory=list)

    def flush(self, now: float) -> None:
        self.writes.append(now)
        self.last_write = now


def test_an_idle_connection_is_written_at_once() -> None:
    output, idle = PendingOutput(BOUND), Reader(last_write=10.0)
    output.add(idle)
    assert output.flush(now=10.0 + BOUND) is None and idle.writes == [10.0 + BOUND]
    assert not output


def test_a_busy_connection_waits_for_more_but_never_past_the_bound() -> None:
    output, busy = PendingOutput(BOUND), Reader(last_write=10.0)
    output.add(busy)
    wake_at = output.flush(now=10.0002)
    assert busy.writes == [] and wake_at == pytest.approx(10.0 + BOUND)
    output.add(busy)  # more output meanwhile: still one write to come
    assert output.flush(now=10.0005) == pytest.approx(10.0 + BOUND)
    assert output.flush(now=10.0 + BOUND) is None and busy.writes == [10.0 + BOUND]


@pytest.mark.parametrize("now", [10.0, 10.0001, 10.0005, 10.0009999])
def test_whenever_it_is_asked_nothing_waits_longer_than_the_bound(now: float) -> None:
    output = PendingOutput(BOUND)
    readers = [Reader(last_write=10.0 - k * BOUND / 4) for k in range(4)]
    for reader in readers:
        output.add(reader)
    wake_at = output.flush(now)
    for reader in readers:
        written_by = reader.writes[0] if reader.writes else wake_at
        assert written_by is not None and written_by <= reader.last_write + BOUND + 1e-12


def test_a_large_buffer_or_a_closing_connection_is_written_at_once() -> None:
    output = PendingOutput(BOUND, large=1000)
    large, closing = Reader(last_write=10.0, pending_bytes=1000), Reader(10.0, closing=True)
    output.add(large)
    output.add(closing)
    assert output.flush(now=10.0001) is None
    assert large.writes == [10.0001] and closing.writes == [10.0001]


def test_a_bound_of_zero_writes_everything_at_once() -> None:
    output, busy = PendingOutput(0.0), Reader(last_write=10.0)
    output.add(busy)
    assert output.flush(now=10.0) is None and busy.writes == [10.0]
