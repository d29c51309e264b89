"""Shared by the bench scripts: diaries made in a temporary folder, the real CLI run in a
subprocess against code from a chosen folder (to compare before/after), the emulator's
credentials as a process environment, and what /proc says of a process's memory and CPU."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")

# For the scripts' headers and --help alike.
CODE_HELP = ("a checkout whose agent_diary to run (default: this one), e.g. a `git worktree "
             "add --detach DIR COMMIT` of an older commit to measure 'before'; code from "
             "before issue 11 needs GitPython, no dependency any more: `pip install gitpython`")


def add_code_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--code", type=Path, default=HERE, metavar="DIR", help=CODE_HELP)


def git(root: Path, *args: str, data: bytes | None = None) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, input=data,
                   stdout=subprocess.DEVNULL)


def committed_diary(root: Path, files: dict[str, str]) -> Path:
    """A repository at `root` with a committer of its own and `files` (relative path:
    text) committed at once: for diaries of a few files (see `flat_diary` for many)."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "bench")
    git(root, "config", "user.email", "bench@example.invalid")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "entries")
    return root


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


def emulator_env(account, url: str) -> dict[str, str]:  # account: emulator_state.Account
    """What a CLI or service process needs to post to the emulator at `url`."""
    return {"AGENT_DIARY_X_API_URL": url, "X_CONSUMER_KEY": account.consumer_key,
            "X_CONSUMER_SECRET": account.consumer_secret,
            "X_ACCESS_TOKEN": account.access_token,
            "X_ACCESS_TOKEN_SECRET": account.access_token_secret}


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


# --- /proc: memory and CPU of a process and the processes it started -------------------

def stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (which may hold spaces): field 1 is the
    parent, 11-14 utime, stime, cutime, cstime."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory (VmRSS; VmHWM for its peak) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def cpu_seconds(pid: int) -> float:
    """The process's own user+system CPU."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_with_children(pid: int) -> float:
    """The process's CPU, its reaped children's, and its live descendants'."""
    fields = stat_fields(pid)
    total = sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS
    for child in descendants(pid):
        try:
            total += sum(int(x) for x in stat_fields(child)[11:13]) / TICKS
        except OSError:
            continue  # it ended meanwhile: its time is in cutime/cstime now
    return total


def descendants_rss_mb(pid: int) -> tuple[float, int]:
    """(resident MB of `pid`'s live descendants summed, how many those are)."""
    children = descendants(pid)
    total = 0.0
    for child in children:
        try:
            total += rss_mb(child)
        except OSError:
            continue  # it ended meanwhile
    return total, len(children)


def bare_python_rss_mb() -> float:
    """The baseline for memory: a `python` process that imports nothing."""
    bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(2)
        return rss_mb(bare.pid)
    finally:
        bare.kill()
        bare.wait()
