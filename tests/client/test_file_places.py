"""Where downloads go (XDG's Downloads folder, or ~/Downloads) and names that are taken."""

from __future__ import annotations

from pathlib import Path

import pytest

from guigui.client.file_places import cached_picture, downloads_folder, free_name, is_sha256
from guigui.client.transfers import download_target
from guigui.common.objects import FileInfo


def test_the_desktops_downloads_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    config = tmp_path / "config"
    config.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    (config / "user-dirs.dirs").write_text(
        '# written by xdg-user-dirs-update\nXDG_DOWNLOAD_DIR="$HOME/Téléchargements"\n',
        encoding="utf-8",
    )
    assert downloads_folder(home) == home / "Téléchargements"
    assert (home / "Téléchargements").is_dir()  # created when missing


def test_without_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nothing"))
    home = tmp_path / "home"
    assert downloads_folder(home) == home / "Downloads"
    french_home = tmp_path / "maison"
    (french_home / "Téléchargements").mkdir(parents=True)
    assert downloads_folder(french_home) == french_home / "Téléchargements"


def test_a_name_from_the_server_is_never_a_path(tmp_path: Path) -> None:
    assert download_target(tmp_path, "../../.bashrc") == tmp_path / "bashrc"
    assert download_target(tmp_path, "plan.png") == tmp_path / "plan.png"


def test_keep_both_picks_a_free_name(tmp_path: Path) -> None:
    target = tmp_path / "plan.png"
    assert free_name(target) == target
    target.write_bytes(b"1")
    assert free_name(target) == tmp_path / "plan (2).png"
    (tmp_path / "plan (2).png").write_bytes(b"2")
    assert free_name(target) == tmp_path / "plan (3).png"


def test_a_download_still_running_takes_its_name_too(tmp_path: Path) -> None:
    """Its file is not there yet, only its .part: keep both must not pick the same name."""
    running = {tmp_path / "plan.png", tmp_path / "plan (2).png"}
    assert free_name(tmp_path / "plan.png", running) == tmp_path / "plan (3).png"
    assert free_name(tmp_path / "other.png", running) == tmp_path / "other.png"


def test_pictures_are_cached_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    file = FileInfo(3, "../x.png", 10, "image/png", "ab" * 32)
    assert cached_picture(file) == tmp_path / "guigui" / "pictures" / ("ab" * 32)


@pytest.mark.parametrize("hostile", ["../../.bashrc", "AB" * 32, "ab" * 31, "/etc/passwd", ""])
def test_a_hash_from_the_server_that_is_not_one_names_no_cached_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hostile: str
) -> None:
    """The SHA-256 names the cached copy: only 64 lowercase hex digits are taken."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert not is_sha256(hostile)
    with pytest.raises(ValueError, match="not a SHA-256"):
        cached_picture(FileInfo(1, "chart.png", 10, "image/png", hostile))
