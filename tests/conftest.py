"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import DiaryRepo, EmulatorHandle, make_repo


@pytest.fixture
def repo(tmp_path: Path) -> DiaryRepo:
    return make_repo(tmp_path / "diary-repo")


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
