"""Publishing exactly once: the journal-driven state machine, reconciliation, and the
record in the entry's front matter.

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
import hashlib
import html
import os
import re
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from . import gitstore, ledger
from .config import Config
from .diary import Diary
from .entry import with_tweet_ids
from .errors import AgentDiaryError, InputError, NothingToPost, TemporaryError
from .journal import Journal, JournalState, repo_lock
from .repeats import duplicate_message
from .thread import Thread, build_thread
from .twittertext import url_spans
from .xapi import DuplicateContent, MediaExpired, TimelinePost, UnknownOutcome, XClient

CREATE_ATTEMPTS = 3
MEDIA_MARGIN = 600  # seconds: an upload about to expire is uploaded again
RECONCILE_WINDOW = dt.timedelta(minutes=10)  # clock skew allowance when looking for post 1
SETTLE_SECONDS = 60.0  # how long after an unanswered create X may still show it
SETTLE_ENV = "AGENT_DIARY_SETTLE_SECONDS"


@dataclass(frozen=True)
class PublishResult:
    date: dt.date
    ids: tuple[str, ...]
    username: str
    already: bool
    sandbox: bool
    commit: str | None = None

    @property
    def url(self) -> str:
        return post_url(self.username, self.ids[0]) if self.ids else ""


def post_url(username: str, post_id: str) -> str:
    return f"https://x.com/{username or 'i'}/status/{post_id}"


def journal_path(state_dir: Path, date: dt.date) -> Path:
    return state_dir / "journal" / f"{date.isoformat()}.jsonl"


def settle_seconds_from(environ: Mapping[str, str]) -> float:
    """`AGENT_DIARY_SETTLE_SECONDS` (default 60): how long after an unanswered create the
    account's posts are read before the post may be sent again. Lower it only for tests."""
    value = environ.get(SETTLE_ENV)
    if not value:
        return SETTLE_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise InputError(f"{SETTLE_ENV}: {value!r} is not valid; expected seconds from 0 to "
                         "3600 (default 60)")
    return seconds


def comparable(text: str, from_x: bool) -> str:
    """Text reduced to what survives X: URLs masked (X returns t.co links), HTML entities
    unescaped, whitespace collapsed, NFC; trailing media links X appends are dropped."""
    if from_x:
        text = re.sub(r"https://t\.co/\w+", "\x00", html.unescape(text))
    else:
        text = unicodedata.normalize("NFC", text)
        for start, end in reversed(url_spans(text)):
            text = text[:start] + "\x00" + text[end:]
    return " ".join(unicodedata.normalize("NFC", text).split())


def find_posted(candidates: list[TimelinePost], text: str, reply_to: str | None) -> str | None:
    """The id of the post among `candidates` that is `text` replying to `reply_to`."""
    want = comparable(text, from_x=False)
    links = want.count("\x00")
    for post in sorted(candidates, key=lambda p: int(p.id)):
        got = comparable(post.text, from_x=True)
        while got.count("\x00") > links and got.endswith("\x00"):
            got = got[:-1].rstrip()
        if got == want and post.reply_to == reply_to:
            return post.id
    return None


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Run:
    """One publishing run for one thread, holding the lock."""

    def __init__(self, journal: Journal, client: XClient, thread: Thread,
                 read: Callable[[str], bytes | None], progress: Callable[[str], None],
                 now: Callable[[], dt.datetime], should_stop: Callable[[], bool],
                 settle: float, sleep: Callable[[float], None],
                 day_start: dt.datetime) -> None:
        self.journal, self.client, self.read = journal, client, read
        self.source = thread.entry.source
        self.day_start = day_start  # the start of the entry's day, in its time zone
        self.texts = [post.text for post in thread.posts]
        self.media = [post.media for post in thread.posts]
        self.progress, self.now, self.should_stop = progress, now, should_stop
        self.settle, self.sleep = settle, sleep

    def account(self) -> dict[str, str]:
        state = self.journal.state
        if state.account is None:
            me = self.client.me()
            self.journal.append("account", id=me.id, username=me.username)
            return {"id": me.id, "username": me.username}
        return state.account

    def url(self, post_id: str) -> str:
        return post_url(self.account().get("username", ""), post_id)

    # --- looking for posts on the account ----------------------------------------------

    def adopt(self) -> dict[int, str]:
        """With no journal (a fresh clone, a CI runner whose cache was lost), the thread
        may already be on X: look for it among the account's posts since the start of the
        entry's day and adopt the chain found there, so nothing is posted twice."""
        found = self.client.recent_posts(self.account()["id"],
                                         start_time=_utc(self.day_start - RECONCILE_WINDOW))
        sent: dict[int, str] = {}
        for k, text in enumerate(self.texts):
            post_id = find_posted(found, text, sent.get(k - 1))
            if post_id is None:
                break
            sent[k] = post_id
            self.journal.append("sent", k=k, id=post_id, reconciled=True, adopted=True)
        if sent:
            self.progress(f"no journal of this thread here, but {len(sent)} of its "
                          f"{len(self.texts)} posts are on X already ({self.url(sent[0])}): "
                          "adopted, not posted again")
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
        user = self.account()["id"]
        if k == 0:
            start = dt.datetime.fromisoformat(state.sending.get(0, state.unknown[0]))
            found = self.client.recent_posts(user, start_time=_utc(start - RECONCILE_WINDOW))
        else:
            found = self.client.recent_posts(user, since_id=sent[k - 1])
        post_id = find_posted(found, texts[k], sent.get(k - 1))
        if post_id is None:
            self.journal.append("absent", k=k)
            return None
        self.journal.append("sent", k=k, id=post_id, reconciled=True)
        self.progress(f"post {k + 1}/{len(texts)} was already on X ({post_id})")
        return post_id

    def duplicate(self, k: int, sent: dict[int, str]) -> str:
        """X refused post k as a duplicate: adopt it if it is this thread's own post (an
        earlier attempt that did land); otherwise say which post it repeats."""
        user = self.account()["id"]
        found = self.client.recent_posts(user, since_id=sent[k - 1]) if k else \
            self.client.recent_posts(user, start_time=_utc(self.day_start - RECONCILE_WINDOW))
        post_id = find_posted(found, self.texts[k], sent.get(k - 1))
        if post_id is not None:
            self.journal.append("sent", k=k, id=post_id, reconciled=True)
            self.progress(f"post {k + 1}/{len(self.texts)} was already on X ({post_id})")
            return post_id
        if self._attempts(k) > 1:  # an earlier attempt may be what X remembers
            raise TemporaryError(
                f"X says post {k + 1} duplicates a recent post, but it is not among the "
                "account's recent posts replying where it should: the outcome is unknown, "
                "so publishing stopped rather than risk a double post. Check the account's "
                "timeline, then rerun")
        same = next((p for p in found if find_posted([p], self.texts[k], p.reply_to)), None)
        where = f" ({self.url(same.id)})" if same else ""
        raise InputError(f"{self.source}: " + duplicate_message(
            k + 1, f"a recent post of the account{where}, not part of this thread"))

    def _attempts(self, k: int) -> int:
        """How often post k was sent since the thread's text was last (re)started."""
        count = 0
        for record in self.journal.records:
            if record.get("event") == "start":
                count = 0
            elif record.get("event") == "sending" and record.get("k") == k:
                count += 1
        return count

    # --- media and posts ----------------------------------------------------------------

    def media_ids(self, k: int) -> list[str]:
        """Post k's uploads: reused from the journal while X still knows them (an upload
        lasts about a day), uploaded (with alt text) and journalled otherwise."""
        ids = []
        for i, item in enumerate(self.media[k]):
            known = self.journal.state.media.get((k, i))
            if known and known["expires"] > self.now().timestamp() + MEDIA_MARGIN:
                ids.append(known["id"])
                continue
            data = self.read(item.path)
            if data is None:
                raise InputError(f"media {item.path} is not in the committed tree any more; "
                                 "commit it again and rerun")
            media_id, lifetime = self.client.upload(data, item.file)
            if item.alt:
                self.client.set_alt_text(media_id, item.alt)
            self.journal.append("media", k=k, i=i, id=media_id,
                                expires=self.now().timestamp() + lifetime)
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
                    raise TemporaryError(f"{exc.message}. Post {k + 1} is not on the "
                                         "account's timeline; rerun to try again") from None
                self.progress(f"post {k + 1}: {exc.message}; not on X, sending again")
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
        state = self.journal.state
        sent = dict(state.sent)
        for k in sorted(state.unknown):  # a previous run may have created it: look first
            if k not in sent and k < len(self.texts):
                found = self.settle_unknown(k, sent, self.texts)
                if found:
                    sent[k] = found
        # Every image before post 1: a refused upload never leaves half a thread.
        for k in range(len(sent), len(self.texts)):
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

def _entry_sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _restore_hint(rel: str, state: JournalState, date: dt.date) -> str:
    commit = (state.start or {}).get("commit")
    restore = (f"restore the posted text (git checkout {commit[:12]} -- {rel} && git commit) "
               "and rerun" if commit else "restore the text that was posted and rerun")
    return (f"Either {restore}, or keep what is on X as it is and publish the rest from the "
            f"new text: agent-diary publish --date {date} --accept-edit")


def _accept_new_text(run: _Run, journal: Journal, rel: str, date: dt.date, texts: list[str],
                     start: dict[str, str | None], accept_edit: bool) -> None:
    """The entry's thread differs from the one this journal was posting. Unanswered
    creates of the old text are settled first; then, while nothing is on X the new text
    simply replaces the old; after a partial post the posts not yet sent may change, and
    a change to a post already on X is refused (unless accepted), naming that post."""
    state = journal.state
    old = list(state.posts or [])
    sent = dict(state.sent)
    for k in sorted(state.unknown):
        if k not in sent and k < len(old):
            found = run.settle_unknown(k, sent, old)
            if found:
                sent[k] = found
    posted = len(sent)
    changed = [k for k in range(posted) if k >= len(texts) or texts[k] != old[k]]
    if changed and not accept_edit:
        k = changed[0]
        raise InputError(
            f"{rel} changed after {posted} of {len(old)} posts were published, and post "
            f"{k + 1} is already on X with its old text ({run.url(sent[k])}). "
            + _restore_hint(rel, state, date))
    if posted == 0:
        run.progress(f"{rel} changed since the last attempt, and none of it is on X: "
                     "posting the new text")
    else:
        run.progress(f"{rel} changed after {posted} of {len(old)} posts: posting the rest "
                     "from the new text")
    journal.append("start", posts=old[:posted] + texts[posted:], **start)


def _record(diary: Diary, config: Config, rel: str, state: JournalState, date: dt.date,
            journal: Journal, accept_edit: bool) -> str | None:
    """Write tweet_ids/posted_at into the entry (surgically, atomically) and commit it."""
    assert state.complete is not None
    ids, posted_at = list(state.complete["ids"]), state.complete["posted_at"]
    path = diary.root / rel
    data = gitstore.committed_bytes(diary.root, rel)
    if data is None:
        raise InputError(f"{rel} is no longer committed, but its thread is on X "
                         f"({post_url((state.account or {}).get('username', ''), ids[0])}); "
                         "commit it again and rerun publish to record the IDs")
    posted_sha = (state.start or {}).get("entry_sha")
    if posted_sha and posted_sha != _entry_sha(data) and not accept_edit:
        _check_unchanged_thread(diary, config, rel, state, date)
    committed = data.decode("utf-8")
    wanted = with_tweet_ids(committed, ids, posted_at, rel)
    current = path.read_bytes().decode("utf-8")
    if current not in (committed, wanted):
        raise InputError(f"{rel} was edited while its thread was being posted; the thread "
                         f"is on X ({', '.join(ids)}) but its IDs are not written yet. Commit "
                         "or revert the edit, then rerun publish to record them")
    if current != wanted:
        gitstore.atomic_write(path, wanted)
    commit = None
    if config.git.commit:
        if gitstore.file_state(diary.root, rel) != "clean":
            commit = gitstore.commit_file(
                diary.root, rel, f"diary: posted {date} as a thread of {len(ids)} post"
                f"{'s' * (len(ids) != 1)}\n\nagent-diary recorded tweet_ids and posted_at.",
                config.git.author)
        if config.git.push:
            gitstore.push(diary.root)
    journal.append("recorded", commit=commit)
    return commit


def _check_unchanged_thread(diary: Diary, config: Config, rel: str, state: JournalState,
                            date: dt.date) -> None:
    """A commit changed the entry while (or since) its thread was posted: the IDs may go
    into the new text only if it still makes exactly the thread that is on X."""
    try:
        now = [post.text for post in build_thread(diary.committed_view(), config, date,
                                                  check_recent=False).posts]
    except AgentDiaryError:
        now = None
    if now == state.posts:
        return
    ids = (state.complete or {}).get("ids") or []
    url = post_url((state.account or {}).get("username", ""), ids[0]) if ids else "X"
    raise InputError(
        f"{rel} was changed by a commit while its thread was being posted (or since): the "
        f"thread on X ({url}) shows the text that was committed when posting began, not "
        "the current one, so its IDs are not written under the new text. "
        + _restore_hint(rel, state, date))


def _committed_thread(diary: Diary, config: Config, date: dt.date, rel: str) -> Thread:
    """The thread of a committed, ready entry, built from the committed tree (the entry,
    its template, config.yaml and media as committed): every refusal comes before any
    request."""
    state = gitstore.file_state(diary.root, rel)
    if state == "untracked":
        raise NothingToPost(f"{rel} is not committed (an untracked entry is a draft); "
                            f"commit it to publish: git add {rel} && git commit")
    if state == "modified":
        raise NothingToPost(f"{rel} has uncommitted edits; only what is committed is "
                            "posted: commit them (or revert them) and rerun")
    thread = build_thread(diary.committed_view(), config, date)
    if thread.entry.status == "draft":
        raise NothingToPost(f"{rel} is a draft; set 'status: ready' and commit to publish it")
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
    settle = settle_seconds_from(os.environ) if settle is None else settle
    diary = diary._replace(committed=False)  # to find the file; the thread is committed

    def result(state: JournalState, already: bool, commit: str | None = None) -> PublishResult:
        assert state.complete is not None
        return PublishResult(date, tuple(state.complete["ids"]),
                             (state.account or {}).get("username", ""), already, sandbox, commit)

    with repo_lock(diary.state_dir, lock_timeout, progress):
        if config.git.pull and not sandbox:
            gitstore.pull(diary.root)
        # Read only under the lock: a run we waited for may have finished the thread.
        rel = diary.rel(diary.entry_path(date))
        journal = Journal(journal_path(state_dir, date), after_journal_write)
        state = journal.state
        if state.complete is not None:
            if sandbox or state.recorded is not None:
                return result(state, already=True)
            return result(state, already=True, commit=_record(
                diary, config, rel, state, date, journal, accept_edit))
        thread = _committed_thread(diary, config, date, rel)
        if thread.entry.posted and not sandbox:
            return PublishResult(date, tuple(thread.entry.tweet_ids), "", True, sandbox)
        texts = [post.text for post in thread.posts]
        zone = ZoneInfo(config.timezone)
        month = now().astimezone(zone).strftime("%Y-%m")
        if state.posts is None and not sandbox:  # a new thread: does the budget allow it?
            ledger.check(config, diary.state_dir, rel, len(texts),
                         thread.estimated_cost_usd, month)
        committed = gitstore.committed_bytes(diary.root, rel) or b""
        start = {"commit": gitstore.head_commit(diary.root),
                 "entry_sha": _entry_sha(committed)}
        run = _Run(journal, client(), thread, diary.committed_view().read_bytes, progress,
                   now, should_stop, settle, sleep,
                   dt.datetime.combine(date, dt.time(), tzinfo=zone))
        try:
            run.account()
            if state.posts is None:  # no journal of this thread: is it on X already?
                run.adopt()
                journal.append("start", posts=texts, **start)
            elif state.posts != texts:
                _accept_new_text(run, journal, rel, date, texts, start, accept_edit)
            run.texts = list(journal.state.posts or texts)
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
                      commit=_record(diary, config, rel, state, date, journal, accept_edit))
