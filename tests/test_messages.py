"""Messages built from other messages read as sentences (never "….; rerun")."""

from __future__ import annotations

import datetime as dt

import pytest

from agent_diary.errors import joined

from .helpers import DiaryRepo, EmulatorHandle, thread_entry


@pytest.mark.parametrize(("message", "more", "expected"), [
    ("X answered 500", "rerun later", "X answered 500; rerun later"),
    ("does not fix this.", "rerun publish", "does not fix this. Rerun publish"),
    ("in the middle of a thread?", "stopped", "in the middle of a thread? Stopped"),
    ("ends with a space. ", "rerun", "ends with a space. Rerun"),
    ("", "rerun", "rerun"),
])
def test_joined_reads_as_one_sentence_or_two(message: str, more: str, expected: str) -> None:
    assert joined(message, more) == expected


def test_a_stopped_thread_status_reads_properly(repo: DiaryRepo,
                                                emulator: EmulatorHandle) -> None:
    today = str(dt.datetime.now(dt.UTC).date())  # status counts back from today
    repo.write(f"diary/{today}.md", thread_entry(4))
    repo.commit()
    emulator.fault(preset="credits", skip=2)  # 402 after two posts
    assert repo.run("publish", env=emulator.env()).code == 4
    line = repo.run("status", "--days", "1").stdout.strip()
    assert "does not fix this. Rerun publish to finish" in line, line
    assert ".;" not in line
