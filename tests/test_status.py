"""`status` names what will happen to each recent day's entry (issue 10)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

from .helpers import DiaryRepo, EmulatorHandle, git, thread_entry


def _today() -> dt.date:
    now = dt.datetime.now(dt.UTC)
    if now.hour == 23 and now.minute >= 59:  # keep "today" stable for the whole test
        time.sleep(61 - now.second)
    return dt.datetime.now(dt.UTC).date()


def _lines(repo: DiaryRepo, days: int) -> dict[str, tuple[str, str]]:
    """date -> (state, detail) of `status --days N`."""
    result = repo.run("status", "--days", str(days))
    assert result.code == 0, result.stderr
    lines = {}
    for line in result.stdout.splitlines()[:days]:
        date, state, *detail = line.split(None, 2)
        lines[date] = (state, detail[0] if detail else "")
    return lines


def test_an_entry_older_than_catch_up_days_is_not_scheduled(repo: DiaryRepo) -> None:
    today = _today()
    days = [today - dt.timedelta(days=back) for back in range(3)]
    repo.write("config.yaml", "schedule:\n  catch_up_days: 1\n")
    for day, word in zip(days, ("Today", "Yesterday", "Older"), strict=True):
        repo.write(f"diary/{day}.md", thread_entry(1).replace("Post number", word))
    repo.commit()
    lines = _lines(repo, 3)
    assert lines[str(days[0])][0] == "pending" and lines[str(days[1])][0] == "pending"
    state, detail = lines[str(days[2])]
    assert state == "not-scheduled", lines
    assert "older than schedule.catch_up_days (1): the service will not post it; publish " \
           f"it with agent-diary publish --date {days[2]}" in detail


def test_uncommitted_says_untracked_staged_or_edited(repo: DiaryRepo) -> None:
    today = _today()
    days = [today - dt.timedelta(days=back) for back in range(4)]
    repo.write("config.yaml", "schedule:\n  catch_up_days: 3\n")
    for day in days[2:]:
        repo.write(f"diary/{day}.md", thread_entry(1).replace("Post number", f"Day {day}"))
    repo.commit()
    repo.write(f"diary/{days[0]}.md", thread_entry(1, title="Untracked"))
    repo.write(f"diary/{days[1]}.md", thread_entry(1, title="Staged"))
    git(repo.root, "add", f"diary/{days[1]}.md")
    repo.write(f"diary/{days[2]}.md", thread_entry(1, title="Edited"))
    repo.write(f"diary/{days[3]}.md", thread_entry(1, title="Edited and staged"))
    git(repo.root, "add", f"diary/{days[3]}.md")
    lines = _lines(repo, 4)
    assert [lines[str(day)][0] for day in days] == ["uncommitted"] * 4
    assert lines[str(days[0])][1].startswith(f"diary/{days[0]}.md is untracked")
    assert lines[str(days[1])][1].startswith(f"diary/{days[1]}.md is staged, not committed")
    assert lines[str(days[2])][1].startswith(f"diary/{days[2]}.md is edited")
    assert lines[str(days[3])][1].startswith(f"diary/{days[3]}.md is staged, not committed")
    assert "untracked" not in lines[str(days[1])][1]


def test_posting_while_a_publisher_is_mid_run(repo: DiaryRepo, emulator: EmulatorHandle) -> None:
    today = _today()
    repo.write(f"diary/{today}.md", thread_entry(3))
    repo.commit()
    emulator.fault(skip=1, after="hold", hold=30)  # post 2 is created, its answer held
    publisher = subprocess.Popen([sys.executable, "-m", "agent_diary", "publish"],
                                 cwd=repo.root, env={**os.environ, **emulator.env()},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while len(emulator.posts()) < 2:
            assert time.monotonic() < deadline and publisher.poll() is None
            time.sleep(0.05)
        state, detail = _lines(repo, 1)[str(today)]
        assert state == "posting", detail
        assert f"a publisher (pid {publisher.pid}) is posting it now" in detail
        assert "1 of 3 posted" in detail
    finally:
        publisher.kill()
        publisher.wait(timeout=10)
    # Once it is gone (killed mid-thread), the entry is partial again, to be finished.
    assert _lines(repo, 1)[str(today)][0] == "partial"


def test_status_looking_at_the_lock_never_makes_a_publisher_fail(tmp_path: Path) -> None:
    # status takes the lock shared for an instant; the service asks for it with no wait.
    import threading

    from agent_diary import status
    from agent_diary.errors import TemporaryError
    from agent_diary.publish.journal import repo_lock

    state = tmp_path / "state"
    with repo_lock(state, 0):
        pass  # the lock file exists, as after any earlier run
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            status.lock_holder(state)

    prober = threading.Thread(target=probe)
    prober.start()
    failures = []
    try:
        for _ in range(500):
            try:
                with repo_lock(state, 0):
                    pass
            except TemporaryError as exc:
                failures.append(exc.message)
    finally:
        stop.set()
        prober.join()
    assert failures == []
    assert (state / "lock").read_text(encoding="utf-8") == ""  # no stale pid left behind
