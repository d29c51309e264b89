"""The record of a posted thread in the repository: tweet_ids and posted_at written into
the entry (surgically, atomically) and committed alone — only when the entry still makes
the thread that is on X — and the ways out when it does not."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .. import gitstore
from ..config import DEFAULT_API_URL, Config
from ..diary import Diary
from ..errors import AgentDiaryError, InputError
from ..files import atomic_write
from ..text.entry import with_tweet_ids
from ..thread import Thread, build_thread
from ..wording import plural
from .journal import Journal, JournalState
from .reconcile import signature

X_API_HOSTS = ("api.x.com", "api.twitter.com")


def is_x(api_url: str) -> bool:
    """Whether posts sent to this base URL are on X (an x.com link shows them)."""
    from urllib.parse import urlsplit

    return (urlsplit(api_url).hostname or "") in X_API_HOSTS


def post_url(username: str, post_id: str, api_url: str = DEFAULT_API_URL) -> str:
    """Where a person sees the post: on x.com, or on the timeline page of the emulator
    (or other API) it went to — an x.com link would point at nothing real."""
    if is_x(api_url):
        return f"https://x.com/{username or 'i'}/status/{post_id}"
    return f"{api_url.rstrip('/')}/#post-{post_id}"


def state_url(state: JournalState, post_id: str) -> str:
    account = state.account or {}
    return post_url(account.get("username", ""), post_id, account.get("api", DEFAULT_API_URL))


def thread_signature(thread: Thread) -> list[list[Any]]:
    return signature([p.text for p in thread.posts], [p.media for p in thread.posts])


def same_posts(old: dict[str, Any], new_sig: list[list[Any]], k: int) -> bool:
    """Whether post k of the `start` record `old` is post k of the signature `new_sig`
    (text and images; text alone for a journal written before images were recorded)."""
    old_sig = old.get("sig")
    if k >= len(new_sig) or k >= len(old["posts"]):
        return False
    if old_sig is None:
        return bool(old["posts"][k] == new_sig[k][0])
    return bool(old_sig[k] == new_sig[k])


def posted_from(journal: Journal) -> str | None:
    """The commit whose text the posts on X came from: that of the last start record
    before the first post was sent."""
    commit = None
    for record in journal.records:
        if record.get("event") == "start":
            commit = record.get("commit")
        elif record.get("event") == "sent":
            return commit
    return commit


def restore_hint(rel: str, journal: Journal, date: dt.date, complete: bool) -> str:
    commit = posted_from(journal)
    restore = (f"git checkout {commit[:12]} -- {rel} && git commit" if commit
               else "git log -p -- " + rel)
    then = "to record the IDs" if complete else "to finish the thread"
    keep = ("record the IDs under the new text anyway" if complete else
            "keep what is on X as it is and post the rest from the new text")
    return (f"Either restore the posted text ({restore}) and rerun publish {then}, or "
            f"{keep}: agent-diary publish --date {date} --accept-edit")


def _check_unchanged_thread(head: Diary, config: Config, rel: str, state: JournalState,
                            journal: Journal, date: dt.date) -> None:
    """A commit changed the entry while (or since) its thread was posted: the IDs may go
    into the new text only if it still makes exactly the thread that is on X."""
    start = state.start or {"posts": state.posts or []}
    try:
        new = thread_signature(build_thread(head, config, date, check_recent=False))
        why = ""
    except AgentDiaryError as exc:
        new, why = [], f" (the new text does not even build: {exc.message})"
    if len(new) == len(start["posts"]) and all(same_posts(start, new, k)
                                               for k in range(len(new))):
        return
    ids = (state.complete or {}).get("ids") or []
    url = state_url(state, ids[0]) if ids else "X"
    raise InputError(
        f"{rel} was changed by a commit while its thread was being posted (or since){why}: "
        f"the thread on X ({url}) shows the text that was committed when posting began, "
        "so its IDs are not written under the new text. "
        + restore_hint(rel, journal, date, complete=True))


def record(diary: Diary, config: Config, rel: str, state: JournalState, date: dt.date,
           journal: Journal, accept_edit: bool) -> str | None:
    """Write tweet_ids/posted_at into the entry as committed now and commit it alone."""
    assert state.complete is not None
    ids, posted_at = list(state.complete["ids"]), state.complete["posted_at"]
    head = diary.committed_view()
    blob = gitstore.committed_blob(diary.root, rel, head.committed or "")
    if blob is None:
        raise InputError(f"{rel} is no longer committed, but its thread is on X "
                         f"({state_url(state, ids[0])}); commit it again and rerun publish "
                         "to record the IDs")
    if blob != (state.start or {}).get("entry_blob") and not accept_edit:
        _check_unchanged_thread(head, config, rel, state, journal, date)
    committed = (head.read_bytes(rel) or b"").decode("utf-8")
    wanted = with_tweet_ids(committed, ids, posted_at, rel)
    path = diary.root / rel
    current = path.read_bytes().decode("utf-8")
    if current not in (committed, wanted):
        raise InputError(f"{rel} was edited while its thread was being posted; the thread "
                         f"is on X ({', '.join(ids)}) but its IDs are not written yet. Commit "
                         "or revert the edit, then rerun publish to record them")
    written = current != wanted
    if written:
        atomic_write(path, wanted)
    commit = None
    if config.git.commit:
        # Just written, it differs from HEAD (which holds `committed`): no need to ask git.
        if written or gitstore.file_state(diary.root, rel) != "clean":
            commit = gitstore.commit_file(
                diary.root, rel, f"diary: posted {date} as a thread of "
                f"{plural(len(ids), 'post')}\n\nagent-diary recorded tweet_ids and posted_at.",
                config.git.author)
        if config.git.push:
            gitstore.push(diary.root)
    journal.append("recorded", commit=commit)
    return commit
