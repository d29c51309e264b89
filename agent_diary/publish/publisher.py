"""Publishing exactly once: the journal-driven state machine.

The guarantee: however often this runs and wherever it is killed, each post of the thread
appears on X once, each reply chained to the post before it, and the front matter ends
up holding exactly those IDs. The journal makes progress durable before and after every
create. A create whose outcome is unknown is looked for in the account's own recent
posts, but only once X has had time to finish it (`settle` seconds after the attempt: a
create can land after the client gave up, and timelines lag), and sent again only if it
is not there. A thread with no journal at all (a fresh clone, a CI runner) is first
looked for on the account, and what is found there is adopted, never posted twice.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .. import gitstore
from ..config import DEFAULT_API_URL, Config, is_loopback_url
from ..diary import Diary
from ..errors import AgentDiaryError, InputError, NothingToPost, TemporaryError, joined
from ..networks.x import DuplicateContent, MediaExpired, TimelinePost, UnknownOutcome, XClient
from ..text.entry import with_tweet_ids
from ..text.repeats import duplicate_message, find_repeats
from ..thread import Thread, build_thread, neighbour_dates
from . import ledger
from .journal import Journal, JournalState, repo_lock
from .reconcile import find_chain, find_posted, matches
from .record import post_url, record, restore_hint, same_posts, thread_signature

CREATE_ATTEMPTS = 3
MEDIA_MARGIN = 600  # seconds: an upload about to expire is uploaded again
RECONCILE_WINDOW = dt.timedelta(minutes=10)  # clock skew allowance when looking for post 1
SETTLE_SECONDS = 60.0  # how long after an unanswered create X may still show it
SETTLE_ENV = "AGENT_DIARY_SETTLE_SECONDS"
X_BEGAN = dt.date(2006, 3, 21)  # no post on X is older


@dataclass(frozen=True)
class PublishResult:
    date: dt.date
    ids: tuple[str, ...]
    username: str
    already: bool
    sandbox: bool
    commit: str | None = None
    api_url: str = DEFAULT_API_URL  # where the posts went

    @property
    def url(self) -> str:
        return post_url(self.username, self.ids[0], self.api_url)


def journal_path(state_dir: Path, date: dt.date) -> Path:
    return state_dir / "journal" / f"{date.isoformat()}.jsonl"


def settle_seconds_from(environ: Mapping[str, str], local: bool) -> float:
    """`AGENT_DIARY_SETTLE_SECONDS` (default 60): how long after an unanswered create the
    account's posts are read before the post may be sent again. Shorter only against a
    local emulator (`local`), where the tests need it: against X it would double posts."""
    value = environ.get(SETTLE_ENV)
    if not value:
        return SETTLE_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600 or (seconds < SETTLE_SECONDS and not local):
        raise InputError(f"{SETTLE_ENV}: {value!r} is not valid; expected seconds from "
                         f"{0 if local else int(SETTLE_SECONDS)} to 3600 (default 60; less "
                         "only against a local emulator)")
    return seconds


def _search_start(date: dt.date, zone: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """Since when the account's posts may hold this thread: the start of the entry's day,
    or a day ago for an entry of a later date (posted ahead), never before X existed."""
    day = dt.datetime.combine(max(date, X_BEGAN), dt.time(), tzinfo=zone)
    return min(day, now - dt.timedelta(days=1))


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Run:
    """One publishing run for one thread, holding the lock."""

    def __init__(self, journal: Journal, client: XClient, thread: Thread,
                 read: Callable[[str], bytes | None], progress: Callable[[str], None],
                 now: Callable[[], dt.datetime], should_stop: Callable[[], bool],
                 settle: float, sleep: Callable[[float], None],
                 search_start: dt.datetime) -> None:
        self.journal, self.client, self.read = journal, client, read
        self.source = thread.entry.source
        self.texts = [post.text for post in thread.posts]
        self.media = [post.media for post in thread.posts]
        self.progress, self.now, self.should_stop = progress, now, should_stop
        self.settle, self.sleep = settle, sleep
        # Since when the account's posts may hold this thread (see _search_start).
        self.search_start = search_start
        self.fresh = False  # no journal of this thread when the run began

    def account(self) -> dict[str, str]:
        state = self.journal.state
        if state.account is None:
            me = self.client.me()
            self.journal.append("account", id=me.id, username=me.username,
                                api=self.client.base_url)
            return self.journal.state.account or {}
        return state.account

    def url(self, post_id: str) -> str:
        account = self.account()
        return post_url(account.get("username", ""), post_id, account["api"])

    # --- looking for posts on the account ----------------------------------------------

    def posts_since(self, k: int, sent: dict[int, str],
                    start: dt.datetime) -> list[TimelinePost]:
        """The account's posts that could be post k: after post k-1, or for post 1 since
        `start` (with a margin for clocks)."""
        user = self.account()["id"]
        if k:
            return self.client.recent_posts(user, since_id=sent[k - 1])
        return self.client.recent_posts(user, start_time=_utc(start - RECONCILE_WINDOW))

    def found(self, k: int, post_id: str, how: str = "") -> str:
        self.journal.append("sent", k=k, id=post_id, reconciled=True)
        self.progress(f"post {k + 1}/{len(self.texts)} was already on X ({post_id}){how}")
        return post_id

    def adopt(self) -> dict[int, str]:
        """With no journal (a fresh clone, a CI runner whose cache was lost), the thread
        may already be on X: look for it among the account's posts since the start of the
        entry's day and adopt the chain found there, so nothing is posted twice."""
        candidates = self.posts_since(0, {}, self.search_start)
        sent = find_chain(candidates, self.texts, {})
        for k, post_id in sent.items():
            self.journal.append("sent", k=k, id=post_id, reconciled=True, adopted=True)
        if sent:
            self.progress(f"no journal of this thread here, but {len(sent)} of its "
                          f"{len(self.texts)} posts are on X already ({self.url(sent[0])}): "
                          "adopted, not posted again")
        k = len(sent)
        fork = next((p for p in candidates if k and p.reply_to == sent[k - 1]), None)
        if fork is not None and k < len(self.texts):
            raise InputError(
                f"{self.source}: no journal of this thread here; posts 1-{k} are on X "
                f"({self.url(sent[0])}), but post {k} already has a reply from the account "
                f"({self.url(fork.id)}) that is not the entry's post {k + 1}: the entry was "
                "changed after the thread was partly posted, and posting on would fork it. "
                f"Restore the text that was posted (git log -p -- {self.source}) and rerun")
        return sent

    def wait_to_settle(self, k: int, since: str) -> None:
        """Wait until `settle` seconds after post k's last unanswered attempt: X may still
        be creating it, and a post created late would not be on the timeline yet."""
        ready_at = dt.datetime.fromisoformat(since) + dt.timedelta(seconds=self.settle)
        remaining = (ready_at - self.now()).total_seconds()
        if remaining <= 0:
            return
        self.progress(f"post {k + 1}: X did not answer; waiting {remaining:.0f} s before "
                      "looking for it on the account (a late create must not be doubled)")
        while remaining > 0:
            if self.should_stop():
                raise TemporaryError(f"stopped by a signal while waiting to look for post "
                                     f"{k + 1}; its outcome is unknown, and a rerun looks "
                                     "for it before sending anything")
            self.sleep(min(remaining, 0.5))
            remaining = (ready_at - self.now()).total_seconds()

    def settle_unknown(self, k: int, sent: dict[int, str], texts: list[str]) -> str | None:
        """Post k's attempt got no answer: once it has settled, is it on X? The id if so;
        None (journalled as absent, so it may be sent again) if not."""
        state = self.journal.state
        self.wait_to_settle(k, state.unknown[k])
        first = dt.datetime.fromisoformat(state.sending.get(k, state.unknown[k]))
        post_id = find_posted(self.posts_since(k, sent, first), texts[k], sent.get(k - 1))
        if post_id is None:
            self.journal.append("absent", k=k)
            return None
        return self.found(k, post_id)

    def settle_all(self, sent: dict[int, str], texts: list[str]) -> dict[int, str]:
        """Settle every unanswered create of `texts` (a previous run may have made it)."""
        sent = dict(sent)
        for k in sorted(self.journal.state.unknown):
            if k in sent or k >= len(texts):
                continue
            if any(j not in sent for j in range(k)):
                break  # post k can only be looked for after the post it replies to
            found = self.settle_unknown(k, sent, texts)
            if found is None:
                break
            sent[k] = found
        return sent

    def duplicate(self, k: int, sent: dict[int, str]) -> str:
        """X refused post k as a duplicate: adopt it if it is this thread's own post (an
        earlier attempt that did land); otherwise say which post it repeats."""
        candidates = self.posts_since(k, sent, self.search_start)
        post_id = find_posted(candidates, self.texts[k], sent.get(k - 1))
        if post_id is not None:
            return self.found(k, post_id)
        if self._attempts(k) > 1:  # an earlier attempt may be what X remembers
            raise TemporaryError(
                f"X says post {k + 1} duplicates a recent post, but it is not among the "
                "account's recent posts replying where it should: the outcome is unknown, "
                "so publishing stopped rather than risk a double post. Check the account's "
                "timeline, then rerun")
        same = next((p for p in candidates if matches(p, self.texts[k], p.reply_to)), None)
        if same is None and self.fresh:
            raise TemporaryError(
                f"X says post {k + 1} duplicates a recent post that the account's posts do "
                "not show (yet: timelines lag). With no journal of this thread here, it may "
                "be this thread's own post from an earlier run, so publishing stopped rather "
                "than guess; rerun in a minute")
        where = f" ({self.url(same.id)})" if same else ""
        raise InputError(f"{self.source}: " + duplicate_message(
            k + 1, f"a recent post of the account{where}, not part of this thread"))

    def _attempts(self, k: int) -> int:
        """How often post k was sent since the thread's text was last (re)started."""
        count = 0
        for entry in self.journal.records:
            if entry.get("event") == "start":
                count = 0
            elif entry.get("event") == "sending" and entry.get("k") == k:
                count += 1
        return count

    # --- media and posts ----------------------------------------------------------------

    def media_ids(self, k: int) -> list[str]:
        """Post k's uploads: reused from the journal while X still knows them (an upload
        lasts about a day) and they are of the same image and alt text; uploaded (with
        alt text) and journalled otherwise."""
        ids = []
        for i, item in enumerate(self.media[k]):
            known = self.journal.state.media.get((k, i))
            if known and known["expires"] > self.now().timestamp() + MEDIA_MARGIN \
                    and known.get("digest") == item.digest and known.get("alt") == item.alt:
                ids.append(known["id"])
                continue
            data = self.read(item.path)
            if data is None:
                raise InputError(f"media {item.path} is not in the committed tree any more; "
                                 "commit it again and rerun")
            media_id, lifetime = self.client.upload(data, item.file)
            if item.alt:
                self.client.set_alt_text(media_id, item.alt)
            self.journal.append("media", k=k, i=i, id=media_id, digest=item.digest,
                                alt=item.alt, expires=self.now().timestamp() + lifetime)
            self.progress(f"uploaded {item.path} for post {k + 1}")
            ids.append(media_id)
        return ids

    def post(self, k: int, sent: dict[int, str]) -> str:
        reply_to = sent.get(k - 1)
        reuploaded = False
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            media_ids = self.media_ids(k)
            self.journal.append("sending", k=k, at=self.now().isoformat())
            try:
                post_id = self.client.create_post(self.texts[k], reply_to=reply_to,
                                                  media_ids=media_ids)
            except MediaExpired:
                self.journal.append("failed", k=k)
                if reuploaded:
                    raise
                self.journal.append("media_expired", k=k)
                self.progress(f"post {k + 1}: X no longer knows its uploads; uploading again")
                reuploaded = True
                continue
            except UnknownOutcome as exc:
                self.journal.append("unknown", k=k, at=self.now().isoformat())
                found = self.settle_unknown(k, sent, self.texts)
                if found:
                    return found
                if attempt == CREATE_ATTEMPTS:
                    raise TemporaryError(joined(exc.message, f"post {k + 1} is not on the "
                                         "account's timeline; rerun to try again")) from None
                self.progress(f"post {k + 1}: {joined(exc.message, 'not on X, sending again')}")
                continue
            except DuplicateContent:
                self.journal.append("failed", k=k)
                return self.duplicate(k, sent)  # adopts it, or raises
            except AgentDiaryError:
                self.journal.append("failed", k=k)  # X answered: nothing was created
                raise
            self.journal.append("sent", k=k, id=post_id)
            return post_id
        raise AssertionError("unreachable")

    def run(self) -> list[str]:
        sent = self.settle_all(self.journal.state.sent, self.texts)
        # Every image before post 1: a refused upload never leaves half a thread.
        for k in range(len(self.texts)):
            if k not in sent:
                self.media_ids(k)
        for k in range(len(self.texts)):
            if k in sent:
                continue
            if self.should_stop():
                raise TemporaryError(f"stopped by a signal after {len(sent)} of "
                                     f"{len(self.texts)} posts; a rerun finishes the thread")
            sent[k] = self.post(k, sent)
            self.progress(f"posted {k + 1}/{len(self.texts)}: {sent[k]}")
        return [sent[k] for k in range(len(self.texts))]


# --- when the entry changed ----------------------------------------------------------------

def _is_same_thread(state: JournalState, start: dict[str, Any]) -> bool:
    old = state.start or {"posts": state.posts or []}
    if old.get("accepted") and old.get("entry_blob") == start["entry_blob"]:
        return True  # this version of the entry was accepted as it stands (--accept-edit)
    new = start["sig"]
    return len(new) == len(old["posts"]) and all(same_posts(old, new, k)
                                                 for k in range(len(new)))


def _accept_new_text(run: _Run, journal: Journal, rel: str, date: dt.date,
                     start: dict[str, Any], accept_edit: bool) -> None:
    """The entry's thread differs from the one this journal was posting. Unanswered
    creates of the old text are settled first; then, while nothing is on X the new text
    simply replaces the old; after a partial post the posts not yet sent may change, and
    a change to a post already on X is refused (unless accepted), naming that post."""
    state = journal.state
    old = state.start or {"posts": state.posts or []}
    sent = run.settle_all(state.sent, list(old["posts"]))
    posted = next(k for k in range(len(sent) + 1) if k not in sent)  # the chain on X
    changed = [k for k in range(posted) if not same_posts(old, start["sig"], k)]
    if changed and not accept_edit:
        k = changed[0]
        raise InputError(
            f"{rel} changed after {posted} of {len(old['posts'])} posts were published, and "
            f"post {k + 1} is already on X with its old text or images ({run.url(sent[k])}). "
            + restore_hint(rel, journal, date, complete=False))
    old_sig = old.get("sig") or [[text, []] for text in old["posts"]]
    posts = list(old["posts"][:posted]) + start["posts"][posted:]
    problems = find_repeats(posts, {}) if changed else []
    if problems:
        raise InputError(f"{rel}: kept as it is on X, the thread would repeat a post: "
                         f"{problems[0]}")
    if posted == 0:
        run.progress(f"{rel} changed since the last attempt, and none of it is on X: "
                     "posting the new text")
    else:
        run.progress(f"{rel} changed after {posted} of {len(old['posts'])} posts: posting "
                     "the rest from the new text")
    journal.append("start", **{**start, "posts": posts,
                               "sig": old_sig[:posted] + start["sig"][posted:],
                               "accepted": bool(changed)})


def _recorded_in(diary: Diary, date: dt.date, state: JournalState) -> bool:
    """Whether the entry holds the thread's IDs (a reset can take the recording commit
    away: then they are written again)."""
    try:
        entry = diary.load_entry(date)
    except AgentDiaryError:
        return True  # nothing to write into; the journal says it was recorded
    return list(entry.tweet_ids) == list((state.complete or {}).get("ids") or [])


def _committed_thread(diary: Diary, view: Diary, config: Config, date: dt.date,
                      rel: str) -> Thread:
    """The thread of a committed, ready entry, built from one commit (the entry, its
    template, config.yaml and media as committed): every refusal comes before any
    request."""
    # The entry and the neighbours the repeats check reads, with one look-up of the commit.
    view.prefetch([date, *neighbour_dates(date)])
    state = gitstore.file_state(diary.root, rel)
    if state == "untracked":
        raise NothingToPost(f"{rel} is not committed (an untracked entry is a draft); "
                            f"commit it to publish: git add {rel} && git commit")
    if state == "modified":
        raise NothingToPost(f"{rel} has uncommitted edits; only what is committed is "
                            "posted: commit them (or revert them) and rerun")
    thread = build_thread(view, config, date)
    if thread.entry.status == "draft":
        raise NothingToPost(f"{rel} is a draft; set 'status: ready' and commit to publish it")
    try:  # the IDs must be writable once the thread is on X: find out before posting
        with_tweet_ids((view.read_bytes(rel) or b"").decode("utf-8"), ["1"],
                       "2006-03-21T00:00:00Z", rel)
    except AgentDiaryError as exc:
        raise InputError(f"{rel}: tweet_ids could not be written into this front matter "
                         f"safely once the thread is posted ({exc.message}); write the front "
                         "matter as one 'key: value' per line, then rerun") from None
    for item in (item for post in thread.posts for item in post.media):
        if gitstore.file_state(diary.root, item.path) != "clean":
            raise InputError(f"{rel}: media {item.path} is not committed as it is; only "
                             f"what is committed is posted: git add {item.path} && git commit")
    return thread


def publish(diary: Diary, config: Config, date: dt.date, client: Callable[[], XClient], *,
            sandbox: bool = False, lock_timeout: float = 60.0, accept_edit: bool = False,
            progress: Callable[[str], None] = lambda message: None,
            after_journal_write: Callable[[int], None] | None = None,
            should_stop: Callable[[], bool] = lambda: False,
            settle: float | None = None, sleep: Callable[[float], None] = time.sleep,
            now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> PublishResult:
    """Post the entry for `date` exactly once (see the module docstring)."""
    state_dir = diary.sandbox_dir if sandbox else diary.state_dir
    if settle is None:
        settle = settle_seconds_from(os.environ, sandbox or is_loopback_url(config.x.api_url))
    diary = diary._replace(committed=None)  # to find the file; the thread is committed

    def result(state: JournalState, already: bool, commit: str | None = None) -> PublishResult:
        assert state.complete is not None
        account = state.account or {}
        return PublishResult(date, tuple(state.complete["ids"]), account.get("username", ""),
                             already, sandbox, commit, account.get("api", DEFAULT_API_URL))

    with repo_lock(diary.state_dir, lock_timeout, progress):
        if config.git.pull and not sandbox:
            gitstore.pull(diary.root)
        # Read only under the lock: a run we waited for may have finished the thread.
        rel = diary.rel(diary.entry_path(date))
        journal = Journal(journal_path(state_dir, date), after_journal_write)
        state = journal.state
        if state.complete is not None:
            if sandbox or (state.recorded is not None and _recorded_in(diary, date, state)):
                return result(state, already=True)
            return result(state, already=True, commit=record(
                diary, config, rel, state, date, journal, accept_edit))
        view = diary.committed_view()  # one commit for everything this run reads
        thread = _committed_thread(diary, view, config, date, rel)
        if thread.entry.posted and not sandbox:
            return PublishResult(date, tuple(thread.entry.tweet_ids), "", True, sandbox)
        zone = ZoneInfo(config.timezone)
        month = now().astimezone(zone).strftime("%Y-%m")
        if state.posts is None and not sandbox:  # a new thread: does the budget allow it?
            ledger.check(config, diary.state_dir, rel, len(thread.posts),
                         thread.estimated_cost_usd, month)
        start = {"posts": [post.text for post in thread.posts],
                 "sig": thread_signature(thread), "commit": view.committed,
                 "entry_blob": gitstore.committed_blob(diary.root, rel, view.committed or "")}
        run = _Run(journal, client(), thread, view.read_bytes, progress, now, should_stop,
                   settle, sleep, _search_start(date, zone, now()))
        try:
            run.account()
            if state.posts is None:  # no journal of this thread: is it on X already?
                run.fresh = True
                adopted = len(run.adopt())
                journal.append("start", **start)
                if 0 < adopted < len(run.texts):
                    # The lost journal may have held an unanswered create of the next
                    # post: give it the settle time too before sending it.
                    journal.append("unknown", k=adopted, at=now().isoformat())
            elif not _is_same_thread(state, start):
                _accept_new_text(run, journal, rel, date, start, accept_edit)
            run.texts = list(journal.state.posts or run.texts)
            ids = run.run()
        except AgentDiaryError as exc:
            journal.append("stopped", k=len(journal.state.sent), reason=exc.message)
            raise
        journal.append("complete", ids=ids, posted_at=_utc(now()))
        if not sandbox:
            ledger.append(diary.state_dir, date, len(ids), thread.estimated_cost_usd, month)
        state = journal.state
        if sandbox:
            return result(state, already=False)
        return result(state, already=False,
                      commit=record(diary, config, rel, state, date, journal, accept_edit))
