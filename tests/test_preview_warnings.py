"""`preview` warns about what would stop or spoil the post; `publish` refuses an entry whose
body is still the `new` skeleton's placeholder."""

from __future__ import annotations

import datetime as dt

import pytest

from agent_diary.diary import entry_skeleton

from .helpers import DiaryRepo, EmulatorHandle, git

DATE = "2026-11-28"
ENTRY = f"diary/{DATE}.md"
BODY = "A real day, written down.\n"


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: ")]


def test_a_committed_entry_previews_without_warnings(repo: DiaryRepo) -> None:
    repo.entry(DATE, BODY, title="Day")
    repo.commit()
    result = repo.run("preview", "--date", DATE)
    assert result.code == 0 and result.stderr == ""


@pytest.mark.parametrize(("setup", "fragment"), [
    ("untracked", f"{ENTRY} is untracked (not committed): it will not be posted until "
                  f"committed: git add {ENTRY} && git commit"),
    ("staged", f"{ENTRY} is staged, not committed: it will not be posted until committed: "
               "git commit"),
    ("modified", f"{ENTRY} has uncommitted edits: only what is committed is posted, so "
                 "publish refuses it until they are committed (or reverted)"),
], ids=["untracked", "staged", "modified"])
def test_preview_warns_that_the_entry_is_not_committed(repo: DiaryRepo, setup: str,
                                                       fragment: str) -> None:
    if setup == "modified":
        repo.entry(DATE, "The text as first committed.\n", title="Day")
        repo.commit()
    repo.entry(DATE, BODY, title="Day")
    if setup == "staged":
        git(repo.root, "add", ENTRY)
    result = repo.run("preview", "--date", DATE)
    assert result.code == 0, result.stderr
    assert _warnings(result.stderr) == [f"warning: {fragment}"]
    assert "A real day, written down." in result.stdout  # the work tree's text is shown


def test_preview_warns_about_an_image_that_is_not_committed(repo: DiaryRepo) -> None:
    repo.entry(DATE, "Look ![a chart](media/a.png)\n", title="Day")
    repo.commit()
    repo.write("diary/media/a.png", b"\x89PNG\r\n\x1a\n")
    result = repo.run("preview", "--date", DATE)
    assert result.code == 0, result.stderr
    assert _warnings(result.stderr) == [
        "warning: diary/media/a.png is untracked (not committed): publish refuses the "
        "entry until it is committed: git add diary/media/a.png && git commit"]


def _skeleton_made_ready(repo: DiaryRepo, before: str = "") -> None:
    made = repo.run("new", "--date", DATE)
    assert made.code == 0, made.stderr
    path = repo.root / ENTRY
    front, body = path.read_text(encoding="utf-8").split("---\n", 2)[1:]
    path.write_text(f"---\n{front.replace('status: draft', 'status: ready')}---\n"
                    f"{before}{body}", encoding="utf-8")
    repo.commit()


PLACEHOLDER_WARNING = (f"warning: {ENTRY} is ready, but its body is still the placeholder "
                       "of `agent-diary new` (\"What happened today, in plain Markdown. …\"): "
                       "publish refuses it until the entry is written in its place")


@pytest.mark.parametrize("before", ["", "What I did write today.\n\n"])
def test_preview_warns_that_a_ready_entry_is_still_the_placeholder(repo: DiaryRepo,
                                                                   before: str) -> None:
    _skeleton_made_ready(repo, before)
    result = repo.run("preview", "--date", DATE)
    assert result.code == 0, result.stderr
    assert _warnings(result.stderr) == [PLACEHOLDER_WARNING]


def test_a_draft_placeholder_is_only_a_draft(repo: DiaryRepo) -> None:
    assert repo.run("new", "--date", DATE).code == 0
    repo.commit()
    result = repo.run("preview", "--date", DATE)
    assert result.code == 0
    assert _warnings(result.stderr) == [
        f"warning: {ENTRY} is a draft: it will not be posted until 'status: ready'"]


def test_publish_refuses_a_ready_entry_that_is_still_the_placeholder(
        repo: DiaryRepo, emulator: EmulatorHandle) -> None:
    _skeleton_made_ready(repo)
    result = repo.run("publish", "--date", DATE, env=emulator.env())
    assert result.code == 2, result.stdout + result.stderr
    assert f"{ENTRY}: its body is still the placeholder of `agent-diary new`" in result.stderr
    assert "write the entry in its place, commit it and rerun" in result.stderr
    assert emulator.requests() == 0 and emulator.posts() == []


def test_the_placeholder_is_recognised_however_its_lines_are_wrapped() -> None:
    from agent_diary.readiness import still_placeholder
    from agent_diary.text.entry import parse_entry

    date = dt.date(2026, 11, 28)
    skeleton = parse_entry(entry_skeleton(date, None), date, ENTRY)
    rewrapped = skeleton._replace(body=" ".join(skeleton.body.split()) + "\n\nMore.")
    assert still_placeholder(skeleton) and still_placeholder(rewrapped)
    assert not still_placeholder(skeleton._replace(body="What happened today, in plain "
                                                        "Markdown. I wrote it myself."))
