"""`status`: for recent dates, where each day's entry stands and what will happen to it."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import gitstore
from .config import DEFAULT_API_URL
from .diary import Diary
from .errors import AgentDiaryError, NothingToPost, joined
from .publish.journal import Journal, JournalState
from .publish.publisher import journal_path
from .publish.record import post_url
from .wording import plural


@dataclass(frozen=True)
class DayStatus:
    date: dt.date
    # missing | invalid | draft | uncommitted | posting | not-scheduled | pending |
    # partial | posted
    state: str
    detail: str = ""


@dataclass(frozen=True)
class LockHolder:
    """The publisher holding the repository's lock now."""

    pid: str
    since_ns: int  # when it took the lock (it writes its pid into the file then)


def lock_holder(state_dir: Path) -> LockHolder | None:
    """Who holds `state_dir/lock` (journal.repo_lock), if anyone. A non-blocking *shared*
    flock fails only while a publisher holds the lock exclusively; it is released at once,
    so `status` never keeps a publisher waiting and never creates the file."""
    import fcntl

    try:
        handle = (state_dir / "lock").open("r", encoding="utf-8")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = handle.read().strip() or "unknown"
            return LockHolder(pid, os.fstat(handle.fileno()).st_mtime_ns)
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return None


def _posting_now(path: Path, journal: JournalState, holder: LockHolder | None) -> str | None:
    """What the lock holder is doing to this date, if its journal moved since it took the
    lock (the lock names no date; the journal a run writes does)."""
    if holder is None or (journal.complete is not None and journal.recorded is not None):
        return None
    try:
        if path.stat().st_mtime_ns < holder.since_ns:
            return None
    except FileNotFoundError:
        return None
    if journal.complete is not None:
        done = f"all {len(journal.complete['ids'])} posted, recording the IDs"
    elif journal.posts:
        done = f"{len(journal.sent)} of {len(journal.posts)} posted"
    else:
        done = "starting"
    return f"a publisher (pid {holder.pid}) is posting it now ({done})"


def _uncommitted(rel: str, code: str) -> str:
    """Why the entry is not committed as it is (git's status `code`), and what commits it."""
    if code == "!!":
        return f"{rel} is ignored by git (.gitignore), so it cannot be committed and posted"
    if code == "??":
        return f"{rel} is untracked (a draft until committed): git add {rel} && git commit"
    staged, edited = code[0] not in " ?", code[1] not in " ?"
    if staged and edited:
        return (f"{rel} is staged, not committed, and edited again since: "
                f"git add {rel} && git commit")
    if staged:
        return f"{rel} is staged, not committed: git commit"
    return (f"{rel} is edited since its last commit; only what is committed is posted: "
            "commit the edit (or revert it)")


def day_status(diary: Diary, date: dt.date, *, oldest_scheduled: dt.date | None = None,
               catch_up_days: int = 0, holder: LockHolder | None = None,
               codes: Mapping[str, str]) -> DayStatus:
    """Where the entry for `date` stands. `oldest_scheduled`: the oldest date the service
    still posts on its own (today minus schedule.catch_up_days); `holder`: the publisher
    holding the lock now, if any; `codes`: git's status codes of the entries, asked for
    all dates at once (`entry_codes`)."""
    try:
        path = diary.entry_path(date)
    except NothingToPost:
        return DayStatus(date, "missing")
    except AgentDiaryError as exc:
        return DayStatus(date, "invalid", exc.message)
    rel = diary.rel(path)
    where = journal_path(diary.state_dir, date)
    journal = Journal(where).state
    username = (journal.account or {}).get("username", "")
    api = (journal.account or {}).get("api", DEFAULT_API_URL)
    posting = _posting_now(where, journal, holder)
    if posting is not None:
        return DayStatus(date, "posting", posting)
    if journal.complete is not None:
        ids = journal.complete["ids"]
        note = "" if journal.recorded is not None else \
            " (IDs not yet in the front matter: rerun publish)"
        return DayStatus(date, "posted",
                         f"{plural(len(ids), 'post')}, {post_url(username, ids[0], api)}{note}")
    if journal.sent and journal.posts:
        done = f"{len(journal.sent)} of {len(journal.posts)} posted"
        if journal.stopped:
            done = joined(done, f"stopped: {journal.stopped}")
        return DayStatus(date, "partial", joined(done, "rerun publish to finish"))
    try:
        entry = diary.load_entry(date)
    except AgentDiaryError as exc:
        return DayStatus(date, "invalid", exc.message)
    if entry.posted:
        first = entry.tweet_ids[0] if entry.tweet_ids else ""
        return DayStatus(date, "posted", f"{plural(len(entry.tweet_ids), 'post')}, "
                                         f"{post_url(username, first, api)}")
    if entry.status == "draft":
        return DayStatus(date, "draft", rel)
    # Clean, or why not: from the one `git status` of the whole window. A file git was
    # not asked about appeared since: not known to be committed.
    code = codes.get(rel, "??")
    if code:
        return DayStatus(date, "uncommitted", _uncommitted(rel, code))
    reason = f"; last attempt stopped: {journal.stopped}" if journal.stopped else ""
    if oldest_scheduled is not None and date < oldest_scheduled:
        return DayStatus(date, "not-scheduled",
                         f"{rel}: older than schedule.catch_up_days ({catch_up_days}): the "
                         "service will not post it; publish it with agent-diary publish "
                         f"--date {date}{reason}")
    if holder is not None:
        return DayStatus(date, "pending", joined(
            f"{rel}{reason}", f"a publisher (pid {holder.pid}) is running now, on this date "
                              "or another"))
    return DayStatus(date, "pending", f"{rel}{reason}")


def recent_status(diary: Diary, today: dt.date, days: int,
                  catch_up_days: int = 0) -> list[DayStatus]:
    """The last `days` dates, newest first. `catch_up_days` as the service reads it."""
    oldest = today - dt.timedelta(days=catch_up_days)
    holder = lock_holder(diary.state_dir)
    dates = [today - dt.timedelta(days=offset) for offset in range(days)]
    codes = entry_codes(diary, dates)
    return [day_status(diary, date, oldest_scheduled=oldest, catch_up_days=catch_up_days,
                       holder=holder, codes=codes)
            for date in dates]


def entry_codes(diary: Diary, dates: list[dt.date]) -> dict[str, str]:
    """git's status code of every entry file of `dates` in the work tree, from one `git
    status` (one per date would read the whole index each time: minutes in a big diary).
    A path refused here (a link) is left out: day_status reports it."""
    rels = []
    for date in dates:
        for path in diary.candidates(date):
            rel = diary.rel(path)
            try:
                if gitstore.working_file(diary.root, rel) is not None:
                    rels.append(rel)
            except AgentDiaryError:
                continue
    return gitstore.status_codes(diary.root, rels) if rels else {}
