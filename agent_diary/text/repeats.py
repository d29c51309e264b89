"""Posts X would refuse as duplicates, found before anything is sent.

X answers 403 "duplicate content" to a post identical to a recent one of the account.
Inside a thread that leaves it half-posted for good: the later copy can never be sent.
So a thread that repeats one of its own posts, or a post of the previous days' threads
(a footer every day's template ends with, say), is refused up front, naming both posts.

Pure functions of text; `thread.build_thread` gathers the earlier days' posts.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping


def normalise(text: str) -> str:
    """The text as X compares it: NFC (X normalises what it counts and stores), every run
    of whitespace one space and the ends trimmed (X trims a post; collapsing inner runs
    errs on the side of refusing, as a near-identical post is a doubtful one anyway).
    Case is kept: X tells "Done" and "done" apart."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def duplicate_message(number: int, other: str) -> str:
    """Post `number` (1-based) of this thread is identical to `other`, which names the
    other post: "post 1", "post 2 of 2026-11-27 (diary/2026-11-27.md)", or for a 403 at
    publish time something like "a recent post of the account". Says what X does and
    what fixes it; the caller prefixes the entry's file."""
    stops = "cannot start" if number == 1 else f"stops after post {number - 1}"
    return (f"post {number} is identical to {other}: X refuses a post identical to a recent "
            f"one (403 \"duplicate content\"), so the thread {stops}; reword post {number} "
            "(or the other one) and commit")


def describe_post(number: int, date: dt.date | None = None, source: str | None = None) -> str:
    """How a message names another post: of this thread, or of an earlier day's entry."""
    if date is None:
        return f"post {number}"
    where = f" ({source})" if source else ""
    return f"post {number} of {date.isoformat()}{where}"


def find_repeats(texts: list[str], earlier: Mapping[dt.date, list[str]], *,
                 sources: Mapping[dt.date, str] | None = None) -> list[str]:
    """One problem per post X would refuse: identical to an earlier post of this thread
    (named by its first occurrence) or else to a post of an earlier day's thread (the
    most recent such day). `sources` names the earlier days' entry files, if known."""
    # The first place each text was posted, most recent day winning: X compares
    # against all of them, and the nearest is the one a person remembers.
    seen_before: dict[str, tuple[int, dt.date]] = {}
    for date in sorted(earlier):
        for number, text in reversed(list(enumerate(earlier[date], 1))):
            seen_before[normalise(text)] = (number, date)
    problems: list[str] = []
    in_thread: dict[str, int] = {}
    for number, text in enumerate(texts, 1):
        key = normalise(text)
        if key in in_thread:
            problems.append(duplicate_message(number, describe_post(in_thread[key])))
            continue
        in_thread[key] = number
        if key in seen_before:
            other, date = seen_before[key]
            source = (sources or {}).get(date)
            problems.append(duplicate_message(number, describe_post(other, date, source)))
    return problems
