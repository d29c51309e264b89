"""Test helpers: real temporary git repositories and the real CLI entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


class DiaryRepo:
    """A real git repository laid out as a diary, with helpers to write and run."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, text: str | bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", newline="")
        return path

    def entry(self, date: str, body: str, **front: str) -> Path:
        lines = "".join(f"{key}: {value}\n" for key, value in front.items())
        return self.write(f"diary/{date}.md", f"---\n{lines}---\n{body}")

    def commit(self, message: str = "entry") -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return run_cli(*args, cwd=self.root, env=env)


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    """The real entry point in a subprocess (`python -m agent_diary`)."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "agent_diary", *args], cwd=cwd,
                          capture_output=True, text=True, env=full_env, timeout=120)
    return Result(proc.returncode, proc.stdout, proc.stderr)


