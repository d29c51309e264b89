"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import DiaryRepo, git


@pytest.fixture

def repo(tmp_path: Path) -> DiaryRepo:
    root = tmp_path / "diary-repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test Agent")
    git(root, "config", "user.email", "agent@example.invalid")
    return DiaryRepo(root)
