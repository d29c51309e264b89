"""Shared by the scale benches: a flat diary of N committed entries, made fast, and the
real CLI run in a subprocess against code from a chosen folder (to compare before/after)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def git(root: Path, *args: str, data: bytes | None = None) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, input=data,
                   stdout=subprocess.DEVNULL)


def flat_diary(root: Path, dates: list[dt.date], body: str) -> Path:
    """A repository whose `diary/` holds one ready, unposted entry per date, committed
    at once (fast-import: `git add` of 20,000 files one by one would take minutes)."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "bench")
    git(root, "config", "user.email", "bench@example.invalid")
    files = {"config.yaml": "timezone: UTC\n"}
    for date in dates:
        files[f"diary/{date.isoformat()}.md"] = (
            f"---\ntitle: Day {date}\nstatus: ready\n---\n{body.format(date=date)}\n")
    stream = [b"commit refs/heads/main\n",
              b"committer bench <bench@example.invalid> 1700000000 +0000\n",
              b"data 7\nentries\n"]
    for name, text in files.items():
        data = text.encode("utf-8")
        stream.append(b"M 100644 inline " + name.encode() + b"\n")
        stream.append(b"data %d\n" % len(data) + data + b"\n")
    git(root, "fast-import", "--quiet", data=b"".join(stream))
    git(root, "reset", "-q", "--hard", "main")  # the work tree and index, as committed
    return root


def cli(code: Path, root: Path, *args: str, env: dict[str, str] | None = None) -> float:
    """Seconds one `python -m agent_diary ARGS` takes in `root`, with the package taken
    from `code` (this checkout by default; a `git worktree` of an older commit to compare)."""
    full = {**os.environ, "PYTHONPATH": str(code), "NO_COLOR": "1", **(env or {})}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "agent_diary", *args], cwd=root, env=full,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 3):  # 3: nothing to post is fine for status
        raise SystemExit(f"agent-diary {' '.join(args)} failed ({proc.returncode}):\n"
                         f"{proc.stdout}{proc.stderr}")
    return elapsed
