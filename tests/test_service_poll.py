"""What an idle poll of the service costs: with a thousand diaries in one process, a poll
that finds nothing new must read no config and start no process."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from .helpers import (
    DiaryRepo,
    EmulatorHandle,
    ProcessCount,
    clones_of_a_remote,
    git,
    thread_entry,
)


def _service(repo: DiaryRepo, client=lambda: None, **kwargs):  # -> DiaryService
    from agent_diary.diary import open_diary
    from agent_diary.service import DiaryService, committed_config_at

    diary = open_diary(repo.root, None)
    config, stamp, commit = committed_config_at(diary)  # as serve reads it
    log = logging.LoggerAdapter(logging.getLogger("test"), {"repo": "test"})
    return DiaryService(diary, config, client, log, stamp=stamp, stamp_commit=commit,
                        **kwargs)


@pytest.fixture
def posted(repo: DiaryRepo) -> DiaryRepo:
    today = dt.datetime.now(dt.UTC).date()
    repo.write("config.yaml", 'schedule:\n  time: "00:00"\n  catch_up_days: 2\n')
    repo.entry(str(today), "Nothing new.", title="Done", tweet_ids='["1"]',
               posted_at='"2026-01-01T00:00:00Z"')
    repo.commit()
    return repo


def test_an_idle_poll_reads_no_config_while_head_stays(
        posted: DiaryRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent_diary import service as service_module

    service = _service(posted)
    stamps: list[object] = []
    real = service_module.config_stamp
    monkeypatch.setattr(service_module, "config_stamp",
                        lambda view: stamps.append(view) or real(view))
    service.poll()
    service.poll()
    assert stamps == []  # HEAD did not move: nothing about the config is read
    posted.write("README.md", "a commit that leaves config.yaml alone\n")
    posted.commit("readme")
    service.poll()
    service.poll()
    assert len(stamps) == 1  # once for the new HEAD, then nothing again
    assert not service._reload_config()


def test_a_config_committed_after_start_is_still_taken_up(posted: DiaryRepo) -> None:
    service = _service(posted)
    service.poll()
    posted.write("config.yaml", 'schedule:\n  time: "07:00"\n  catch_up_days: 2\n')
    posted.commit("config")
    assert service._reload_config() and service.config.schedule.time == "07:00"


def test_an_idle_poll_starts_no_process(posted: DiaryRepo,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    service = _service(posted)
    service.poll()  # the first poll may cache what it reads
    started = ProcessCount(monkeypatch)
    for _ in range(3):
        service.poll()
    assert started.calls == []


def test_no_git_process_outlives_a_poll_that_pulls_posts_and_pushes(
        tmp_path: Path, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    """One `run` process serves many diaries for months: every git process a poll starts
    is waited for, none is left running (GitPython kept `git cat-file` processes per
    repository) or unreaped, on the busiest path: pull, publish, commit, push."""
    from agent_diary.auth import Credentials
    from agent_diary.networks.x import XClient

    _, (clone,) = clones_of_a_remote(tmp_path, "agent")
    clone.write("config.yaml", 'schedule:\n  time: "00:00"\ngit:\n  push: true\n'
                "  pull: true\n")
    clone.write(f"diary/{dt.datetime.now(dt.UTC).date()}.md", thread_entry(2))
    clone.commit()
    git(clone.root, "push", "-q", "-u", "origin", "main")
    a = emulator.account
    credentials = Credentials(a.consumer_key, a.consumer_secret, a.access_token,
                              a.access_token_secret)
    service = _service(clone, client=lambda: XClient(credentials, emulator.url))
    started = ProcessCount(monkeypatch, "git")
    service.poll()
    service.poll()  # and one that finds nothing new
    assert len(emulator.posts()) == 2
    assert {"pull", "commit", "push"} <= set(started.subcommands()), started.subcommands()
    left = [args for args, process in zip(started.calls, started.processes, strict=True)
            if process.returncode is None or Path(f"/proc/{process.pid}").exists()]
    assert left == []


def test_per_diary_caches_keep_only_the_days_a_poll_can_look_at(
        posted: DiaryRepo) -> None:
    today = dt.datetime.now(dt.UTC).date()
    clock = [dt.datetime.now(dt.UTC)]
    service = _service(posted, now=lambda: clock[0])
    for back in range(1, 6):  # a week of polls: old days drop out of the window
        day = today - dt.timedelta(days=back)
        posted.entry(str(day), "Old.", title="Old", tweet_ids=f'["{back + 10}"]',
                     posted_at='"2026-01-01T00:00:00Z"')
    posted.commit("older entries")
    for day in range(6):
        clock[0] = dt.datetime.now(dt.UTC) - dt.timedelta(days=5 - day)
        service.poll()
        service.say_once(f"key{day}", logging.DEBUG, "a message of that day")
    window = service.config.schedule.catch_up_days + 1
    assert 0 < len(service._entries) <= window
    last = clock[0].date()
    assert "key5" in service._said and set(service._said.values()) == {last}
