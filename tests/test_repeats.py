"""X refuses a post identical to a recent one (403 "duplicate content"): a thread that
repeats one of its own posts, or one of the previous seven days' posts, is refused
before any request, naming both posts."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_diary.diary import PACKAGED_TEMPLATES
from agent_diary.text.repeats import duplicate_message, find_repeats, normalise

from .helpers import DiaryRepo, EmulatorHandle

DATE = "2026-11-28"
YESTERDAY = dt.date(2026, 11, 27)
FOOTER = "Follow the diary: https://example.com/diary"


# --- pure: find_repeats -----------------------------------------------------------------

def test_two_identical_posts_in_one_thread_are_named() -> None:
    problems = find_repeats(["Same words.", "Other words.", "Same words."], {})
    assert len(problems) == 1
    assert problems[0].startswith("post 3 is identical to post 1")
    assert "403" in problems[0] and "reword" in problems[0]


def test_every_repeat_is_reported_against_its_first_occurrence() -> None:
    problems = find_repeats(["a", "b", "a", "b", "a"], {})
    assert [p.split(":")[0] for p in problems] == [
        "post 3 is identical to post 1", "post 4 is identical to post 2",
        "post 5 is identical to post 1"]


@pytest.mark.parametrize("other", [
    "Same words.  ", "Same words.\n", "  Same words.", "Same  words.", "Same\nwords.",
    "Same\twords.\u00a0",
])
def test_whitespace_differences_are_identical(other: str) -> None:
    assert find_repeats(["Same words.", other], {})


def test_nfc_equivalent_texts_are_identical() -> None:
    assert find_repeats(["Caf\u00e9 notes", "Cafe\u0301 notes"], {})


@pytest.mark.parametrize("texts", [
    ["Same words.", "Same words!"],
    ["Same words.", "same words."],  # case is kept: X tells them apart
    ["Post 1/2", "Post 2/2"],
    ["one"],
    [],
])
def test_different_posts_pass(texts: list[str]) -> None:
    assert find_repeats(texts, {}) == []


def test_a_post_of_an_earlier_day_is_named_with_its_date_and_file() -> None:
    earlier = {YESTERDAY: ["Yesterday.", FOOTER], dt.date(2026, 11, 25): ["Long ago."]}
    problems = find_repeats(["Today.", FOOTER + " "], earlier,
                            sources={YESTERDAY: "diary/2026-11-27.md"})
    assert len(problems) == 1
    assert problems[0].startswith(
        "post 2 is identical to post 2 of 2026-11-27 (diary/2026-11-27.md)")


def test_the_most_recent_earlier_day_is_named() -> None:
    earlier = {dt.date(2026, 11, 22): [FOOTER], YESTERDAY: ["x", FOOTER],
               dt.date(2026, 11, 25): [FOOTER]}
    problems = find_repeats([FOOTER], earlier)
    assert len(problems) == 1
    assert problems[0].startswith("post 1 is identical to post 2 of 2026-11-27")


def test_a_repeat_within_the_thread_and_of_an_earlier_day_is_reported_once_each() -> None:
    problems = find_repeats([FOOTER, "middle", FOOTER], {YESTERDAY: [FOOTER]})
    assert [p.split(":")[0] for p in problems] == [
        "post 1 is identical to post 1 of 2026-11-27", "post 3 is identical to post 1"]


def test_duplicate_message_says_what_x_does_and_what_fixes_it() -> None:
    first = duplicate_message(1, "a recent post of the account")
    assert first.startswith("post 1 is identical to a recent post of the account")
    assert "cannot start" in first and "reword post 1" in first
    later = duplicate_message(4, "post 2")
    assert "stops after post 3" in later and "reword post 4" in later


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.lists(st.sampled_from([" ", "\n", "\t", "  ", "\r\n"]),
                                      min_size=1, max_size=3))
def test_added_whitespace_never_hides_a_repeat(text: str, spaces: list[str]) -> None:
    words = text.split()
    padded = spaces[0] + spaces[-1].join(words) + spaces[len(spaces) // 2]
    assert normalise(padded) == normalise(text)
    assert normalise(normalise(text)) == normalise(text)
    if normalise(text):
        assert find_repeats([text, padded], {})


# --- the real CLI ---------------------------------------------------------------------

def footer_template(repo: DiaryRepo, footer: str = FOOTER) -> None:
    """The packaged template, plus a fixed last post shared by every day's thread."""
    default = (PACKAGED_TEMPLATES / "thread.j2").read_text(encoding="utf-8")
    repo.write("templates/thread.j2", f"{default}\n\n---\n\n{footer}\n")


def two_days_with_a_footer(repo: DiaryRepo, earlier: str = "2026-11-27",
                           **front: str) -> None:
    footer_template(repo)
    repo.entry(earlier, "What happened the day before.\n", **front)
    repo.entry(DATE, "What happened today.\n")
    repo.commit()


def identical_posts(repo: DiaryRepo) -> None:
    repo.entry(DATE, "Same words twice.\n\n---\n\nSomething else.\n\n---\n\nSame words twice.\n")
    repo.commit()


def test_preview_refuses_two_identical_explicit_posts(repo: DiaryRepo) -> None:
    identical_posts(repo)
    result = repo.run("preview", "--date", DATE)
    assert result.code == 2, result.stderr
    assert f"diary/{DATE}.md: post 3 is identical to post 1" in result.stderr
    assert "duplicate" in result.stderr and "reword" in result.stderr
    assert result.stdout == ""


def test_preview_refuses_a_template_footer_shared_with_yesterday(repo: DiaryRepo) -> None:
    two_days_with_a_footer(repo)
    result = repo.run("preview", "--date", DATE)
    assert result.code == 2, result.stderr
    assert (f"diary/{DATE}.md: post 2 is identical to post 2 of 2026-11-27 "
            "(diary/2026-11-27.md)") in result.stderr
    # Both ways: the later day's entry may be posted first, and X refuses by posting time.
    earlier = repo.run("preview", "--date", "2026-11-27")
    assert earlier.code == 2 and f"post 2 of {DATE}" in earlier.stderr


def test_every_repeat_is_listed_in_one_refusal(repo: DiaryRepo) -> None:
    footer_template(repo)
    repo.entry("2026-11-27", "Yesterday.\n")
    repo.entry(DATE, "Twice.\n\n---\n\nTwice.\n")
    repo.commit()
    result = repo.run("preview", "--date", DATE)
    assert result.code == 2, result.stderr
    assert "post 2 is identical to post 1" in result.stderr
    assert "post 3 is identical to post 2 of 2026-11-27" in result.stderr


def test_an_entry_in_a_year_folder_is_named_by_its_path(repo: DiaryRepo) -> None:
    footer_template(repo)
    repo.write("diary/2026/2026-11-25.md",
               "---\nstatus: ready\n---\nThree days ago.\n\n---\n\nMore.\n")
    repo.entry(DATE, "What happened today.\n")
    repo.commit()
    result = repo.run("preview", "--date", DATE)
    assert result.code == 2, result.stderr
    assert "post 3 of 2026-11-25 (diary/2026/2026-11-25.md)" in result.stderr


@pytest.mark.parametrize("setup", ["identical posts", "footer shared with yesterday"])
def test_publish_refuses_before_any_request(repo: DiaryRepo, emulator: EmulatorHandle,
                                            setup: str) -> None:
    if setup == "identical posts":
        identical_posts(repo)
    else:
        two_days_with_a_footer(repo)
    result = repo.run("publish", "--date", DATE, env=emulator.env())
    assert result.code == 2, result.stderr
    assert "is identical to post" in result.stderr and "duplicate" in result.stderr
    assert emulator.requests() == 0
    assert emulator.posts() == []


def test_a_footer_shared_seven_days_back_is_refused(repo: DiaryRepo) -> None:
    two_days_with_a_footer(repo, earlier="2026-11-21")
    result = repo.run("preview", "--date", DATE)
    assert result.code == 2, result.stderr
    assert "post 2 of 2026-11-21" in result.stderr


def test_a_footer_shared_only_with_eight_days_back_passes(repo: DiaryRepo,
                                                          emulator: EmulatorHandle) -> None:
    two_days_with_a_footer(repo, earlier="2026-11-20")
    result = repo.run("preview", "--date", DATE)
    assert result.code == 0, result.stderr
    published = repo.run("publish", "--date", DATE, env=emulator.env())
    assert published.code == 0, published.stderr
    assert [p["text"] for p in emulator.posts()][-1] == FOOTER


def test_a_draft_yesterday_is_never_posted_so_it_does_not_count(repo: DiaryRepo) -> None:
    two_days_with_a_footer(repo, status="draft")
    result = repo.run("preview", "--date", DATE)
    assert result.code == 0, result.stderr


def test_an_earlier_entry_that_does_not_build_is_skipped(repo: DiaryRepo) -> None:
    two_days_with_a_footer(repo, media="[{path: media/missing.png, alt: x}]")
    assert repo.run("preview", "--date", "2026-11-27").code == 2
    result = repo.run("preview", "--date", DATE)
    assert result.code == 0, result.stderr


def test_an_entry_already_posted_is_not_refused(repo: DiaryRepo) -> None:
    """Nothing of a posted entry will be sent again, so X cannot refuse it: preview and
    publish of it must keep working (say yesterday's was posted late, after today's)."""
    footer_template(repo)
    repo.entry("2026-11-27", "What happened the day before.\n")
    repo.entry(DATE, "What happened today.\n", tweet_ids='["111", "222"]',
               posted_at='"2026-11-28T18:30:04Z"')
    repo.commit()
    assert repo.run("preview", "--date", DATE).code == 0
