"""`status`: for recent dates, where each day's entry stands."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from . import gitstore
from .diary import Diary
from .errors import AgentDiaryError, NothingToPost
from .journal import Journal
from .publisher import journal_path, post_url


@dataclass(frozen=True)
class DayStatus:
    date: dt.date
    state: str  # missing | invalid | draft | uncommitted | pending | partial | posted
    detail: str = ""


def day_status(diary: Diary, date: dt.date) -> DayStatus:
    try:
        path = diary.entry_path(date)
    except NothingToPost:
        return DayStatus(date, "missing")
    except AgentDiaryError as exc:
        return DayStatus(date, "invalid", exc.message)
    rel = diary.rel(path)
    journal = Journal(journal_path(diary.state_dir, date)).state
    username = (journal.account or {}).get("username", "")
    if journal.complete is not None:
        ids = journal.complete["ids"]
        note = "" if journal.recorded is not None else \
            " (IDs not yet in the front matter: rerun publish)"
        return DayStatus(date, "posted",
                         f"{len(ids)} posts, {post_url(username, ids[0])}{note}")
    if journal.sent and journal.posts:
        why = f"; stopped: {journal.stopped}" if journal.stopped else ""
        return DayStatus(date, "partial",
                         f"{len(journal.sent)} of {len(journal.posts)} posted{why}; "
                         "rerun publish to finish")
    try:
        entry = diary.load_entry(date)
    except AgentDiaryError as exc:
        return DayStatus(date, "invalid", exc.message)
    if entry.posted:
        first = entry.tweet_ids[0] if entry.tweet_ids else ""
        return DayStatus(date, "posted", f"{len(entry.tweet_ids)} posts, "
                                         f"{post_url(username, first)}")
    if entry.status == "draft":
        return DayStatus(date, "draft", rel)
    state = gitstore.file_state(diary.root, rel)
    if state != "clean":
        return DayStatus(date, "uncommitted",
                         f"{rel} is {'untracked' if state == 'untracked' else 'edited'}")
    reason = f"; last attempt stopped: {journal.stopped}" if journal.stopped else ""
    return DayStatus(date, "pending", f"{rel}{reason}")


def recent_status(diary: Diary, today: dt.date, days: int) -> list[DayStatus]:
    return [day_status(diary, today - dt.timedelta(days=offset)) for offset in range(days)]
