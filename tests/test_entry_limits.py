"""Huge entries: refused by their size before they are read as an entry, refused by the
capped split in little memory, and never in the way of a neighbour's repeats check.

Memory is asserted only as a generous bound, measured by a fresh process around one
`preview` (its own children are that run and the git it starts, nothing of this test's)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from agent_diary.text.entry import MAX_ENTRY_BYTES

from .helpers import DiaryRepo, make_repo

DATE = "2026-11-28"
NEIGHBOUR = "2026-11-27"

_PEAK = """
import resource, subprocess, sys
result = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stderr.write(result.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, result.returncode)
"""


def peak_preview(repo: DiaryRepo, date: str) -> tuple[int, int, str]:
    """(peak resident kB of one `preview` run, its exit code, its stderr)."""
    proc = subprocess.run([sys.executable, "-c", _PEAK, sys.executable, "-m", "agent_diary",
                           "preview", "--date", date], cwd=repo.root, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})
    peak, code = proc.stdout.split()
    return int(peak), int(code), proc.stderr


def test_a_long_run_without_break_points_is_refused_in_little_memory(tmp_path: Path) -> None:
    """A megabyte with no space is cut between characters: units are made as packing
    needs them, so refusing it does not first make one object per character (~250 MB)."""
    repo = make_repo(tmp_path / "diary")
    repo.entry(DATE, "x" * 1_000_000 + "\n")
    peak, code, stderr = peak_preview(repo, DATE)
    assert code == 2, stderr
    assert "needs more than 100 posts, more than thread.max_posts (25)" in stderr
    assert peak < 150_000, f"preview of a 1 MB run peaked at {peak} kB"


def test_an_entry_over_the_size_limit_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "diary")
    size = MAX_ENTRY_BYTES + 1
    path = repo.write(f"diary/{DATE}.md", "---\ntitle: [unclosed\n---\n".ljust(size, "y"))
    assert path.stat().st_size == size
    refusal = (f"diary/{DATE}.md: the entry is {size:,} bytes, more than the "
               f"{MAX_ENTRY_BYTES:,} an entry may have")
    result = repo.run("preview", "--date", DATE)
    assert result.code == 2, result.stderr
    assert refusal in result.stderr
    assert "unclosed" not in result.stderr and "front matter" not in result.stderr


def test_an_entry_at_the_size_limit_is_split(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "diary")
    head = "---\ntitle: T\n---\n"
    repo.write(f"diary/{DATE}.md", head + ("word " * MAX_ENTRY_BYTES)[:MAX_ENTRY_BYTES - len(head)])
    result = repo.run("preview", "--date", DATE)
    assert result.code == 2, result.stderr
    assert "needs more than 100 posts" in result.stderr


def neighbour_over_the_limit(repo: DiaryRepo) -> None:
    """Yesterday's entry is one post, "Same words.", and blank lines past the size limit:
    it could have been split, but it is refused, so it never posts its repeat."""
    repo.entry(NEIGHBOUR, "Same words.\n" + "\n" * MAX_ENTRY_BYTES)
    repo.entry(DATE, "Same words.\n")


def test_a_neighbour_over_the_size_limit_is_left_out_of_the_repeats_check(
        tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "diary")
    neighbour_over_the_limit(repo)
    assert repo.run("preview", "--date", DATE).code == 0
    alone = repo.run("preview", "--date", NEIGHBOUR)
    assert alone.code == 2 and "bytes, more than the" in alone.stderr


def test_publish_leaves_a_neighbour_over_the_size_limit_out(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "diary")
    neighbour_over_the_limit(repo)
    repo.commit()
    result = repo.run("publish", "--sandbox", "--date", DATE)
    assert result.code == 0, result.stderr
    assert "posted in the sandbox" in result.stdout


def test_a_committed_entry_over_the_size_limit_is_refused_unread(
        tmp_path: Path, monkeypatch) -> None:
    """Publishing reads the committed entry: its size comes from the tree listing, so an
    entry over the limit (or a neighbour in the repeats check) is never read from git."""
    import pytest

    from agent_diary import gitstore
    from agent_diary.diary import Diary
    from agent_diary.errors import InputError

    from .helpers import ProcessCount

    repo = make_repo(tmp_path / "diary")
    # In a year folder: both candidate paths are settled by the one ls-tree (a missing
    # year folder would be asked about in a cat-file of its own).
    repo.write(f"diary/2026/{NEIGHBOUR}.md", "Same words.\n" + "\n" * MAX_ENTRY_BYTES)
    repo.commit()
    gitstore.clear_cache()
    view = Diary(repo.root, repo.root / "config.yaml").committed_view()
    started = ProcessCount(monkeypatch, "git")
    with pytest.raises(InputError, match="bytes, more than the"):
        view.load_entry(dt.date.fromisoformat(NEIGHBOUR))
    assert "cat-file" not in started.subcommands()
