"""Durable writes: a file is old or new after a crash, never half, and its folder's entry
is on disk before we go on (the journal, the front matter, the tool's state files)."""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file and rename, fsynced: the file is old or new, never half."""
    temp = path.with_name(f".{path.name}.agent-diary-{os.getpid()}.tmp")
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    with temp.open("wb") as handle:
        handle.write(text.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temp, mode)
    os.replace(temp, path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
