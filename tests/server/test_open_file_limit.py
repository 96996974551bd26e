"""The server raises its open-file limit to what the system allows."""

from __future__ import annotations

import resource
from collections.abc import Iterator

import pytest

from guigui.server.open_files import raise_open_file_limit


@pytest.fixture
def restored_limit() -> Iterator[tuple[int, int]]:
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield before
    resource.setrlimit(resource.RLIMIT_NOFILE, before)


def test_the_soft_limit_is_raised_to_the_hard_one(restored_limit: tuple[int, int]) -> None:
    soft, hard = restored_limit
    lowered = min(256, soft)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
    now = raise_open_file_limit()
    new_soft, new_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert new_hard == hard
    assert now == new_soft
    assert new_soft == hard or (hard == resource.RLIM_INFINITY and new_soft >= lowered)
    assert new_soft > lowered or hard == lowered
