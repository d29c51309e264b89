"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import DiaryRepo, EmulatorHandle, git


@pytest.fixture
def repo(tmp_path: Path) -> DiaryRepo:
    root = tmp_path / "diary-repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test Agent")
    git(root, "config", "user.email", "agent@example.invalid")
    return DiaryRepo(root)


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    handle = EmulatorHandle()
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def _no_real_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read a developer's real credentials file or X_* variables."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN",
                 "X_ACCESS_TOKEN_SECRET", "AGENT_DIARY_X_API_URL"):
        monkeypatch.delenv(name, raising=False)
