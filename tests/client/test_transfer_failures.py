"""Why a transfer failed, in the user's words: the server's refusals, in both languages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from guigui.client.errors import RequestFailed
from guigui.client.transfer_runner import failure_in_words
from guigui.common.i18n import set_language
from guigui.common.protocol import ErrorCode


@pytest.fixture
def french() -> Iterator[None]:
    set_language("fr")
    yield
    set_language("en")


def refused(code: ErrorCode, **details: Any) -> RequestFailed:
    return RequestFailed(code, "the server's own words", **details)


def test_too_many_uploads_is_not_a_full_quota() -> None:
    busy = failure_in_words(refused(ErrorCode.QUOTA_EXCEEDED, reason="too_many_uploads"))
    full = failure_in_words(refused(ErrorCode.QUOTA_EXCEEDED))
    assert busy == "You are sending too many files at once: wait until one has gone."
    assert full == "This file would take your files over your quota on the server."


def test_in_french(french: None) -> None:
    busy = failure_in_words(refused(ErrorCode.QUOTA_EXCEEDED, reason="too_many_uploads"))
    assert busy == "Vous envoyez trop de fichiers à la fois : attendez que l'un d'eux soit parti."
    too_large = failure_in_words(refused(ErrorCode.FILE_TOO_LARGE, max_file=25 * 1024 * 1024))
    assert "25" in too_large and too_large != "the server's own words"


def test_a_code_without_words_keeps_the_servers_message() -> None:
    assert failure_in_words(refused(ErrorCode.ALREADY_MEMBER)) == "the server's own words"


def test_a_name_lying_about_its_content_is_said_in_the_users_language(french: None) -> None:
    local = refused(
        ErrorCode.FILE_TYPE_MISMATCH, reason="the name ends in .pdf", extension=".pdf",
        detected="image/png",
    )  # fmt: skip
    assert failure_in_words(local) == (
        "Son nom se termine par .pdf, mais son contenu est image/png."
    )
    from_the_server = refused(ErrorCode.FILE_TYPE_MISMATCH, reason="declared x, content y")
    assert failure_in_words(from_the_server) == (
        "Le contenu du fichier ne correspond pas à son nom ou à son type."
    )  # no English inside a French sentence
