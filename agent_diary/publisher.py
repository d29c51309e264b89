"""Publishing exactly once: the journal-driven state machine, reconciliation, and the
record in the entry's front matter.

The guarantee: however often this runs and wherever it is killed, each post of the thread
appears on X once, each reply chained to the post before it, and the front matter ends
up holding exactly those IDs. The journal makes progress durable before and after every
create; a create whose outcome is unknown is looked for in the account's own recent
posts before anything is sent again, and if it stays unknown, publishing stops.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from . import gitstore, ledger
from .config import Config
from .diary import Diary
from .entry import with_tweet_ids
from .errors import AgentDiaryError, InputError, NothingToPost, TemporaryError
from .journal import Journal, JournalState, repo_lock
from .thread import Thread, build_thread
from .twittertext import url_spans
from .xapi import DuplicateContent, MediaExpired, TimelinePost, UnknownOutcome, XClient

CREATE_ATTEMPTS = 3
MEDIA_MARGIN = 600  # seconds: an upload about to expire is uploaded again
RECONCILE_WINDOW = dt.timedelta(minutes=10)  # clock skew allowance when looking for post 1


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
        return post_url(self.username, self.ids[0])


def post_url(username: str, post_id: str) -> str:
    return f"https://x.com/{username or 'i'}/status/{post_id}"


def journal_path(state_dir: Path, date: dt.date) -> Path:
    return state_dir / "journal" / f"{date.isoformat()}.jsonl"


def comparable(text: str, from_x: bool) -> str:
    """Text reduced to what survives X: URLs masked (X returns t.co links), entities
    unescaped, whitespace collapsed, NFC; trailing media links X appends are dropped."""
    if from_x:
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        text = re.sub(r"https://t\.co/\w+", "\x00", text)
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


class _Run:
    """One publishing run for one thread, holding the lock."""

    def __init__(self, journal: Journal, client: XClient, thread: Thread, root: Path,
                 progress: Callable[[str], None], now: Callable[[], dt.datetime],
                 should_stop: Callable[[], bool]) -> None:
        self.journal, self.client, self.root = journal, client, root
        self.texts = [post.text for post in thread.posts]
        self.media = [post.media for post in thread.posts]
        self.progress, self.now, self.should_stop = progress, now, should_stop

    def account(self) -> dict[str, str]:
        state = self.journal.state
        if state.account is None:
            me = self.client.me()
            self.journal.append("account", id=me.id, username=me.username)
            return {"id": me.id, "username": me.username}
        return state.account

    def reconcile(self, k: int, sent: dict[int, str], since: str) -> str | None:
        """Look for post k on the account's own timeline; record and return its id."""
        user = self.account()["id"]
        if k == 0:
            start = (dt.datetime.fromisoformat(since) - RECONCILE_WINDOW)
            found = self.client.recent_posts(user, start_time=start.strftime(
                "%Y-%m-%dT%H:%M:%SZ"))
        else:
            found = self.client.recent_posts(user, since_id=sent[k - 1])
        post_id = find_posted(found, self.texts[k], sent.get(k - 1))
        if post_id is not None:
            self.journal.append("sent", k=k, id=post_id, reconciled=True)
            self.progress(f"post {k + 1}/{len(self.texts)} was already on X ({post_id})")
        return post_id

    def media_ids(self, k: int) -> list[str]:
        """Post k's uploads: reused from the journal while X still knows them (an upload
        lasts about a day), uploaded (with alt text) and journalled otherwise."""
        ids = []
        for i, item in enumerate(self.media[k]):
            known = self.journal.state.media.get((k, i))
            if known and known["expires"] > self.now().timestamp() + MEDIA_MARGIN:
                ids.append(known["id"])
                continue
            media_id, lifetime = self.client.upload((self.root / item.path).read_bytes(),
                                                    item.file)
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
            at = self.now().isoformat()
            self.journal.append("sending", k=k, at=at)
            try:
                post_id = self.client.create_post(self.texts[k], reply_to=reply_to,
                                                  media_ids=media_ids)
            except MediaExpired:
                if reuploaded:
                    raise
                self.journal.append("media_expired", k=k)
                self.progress(f"post {k + 1}: X no longer knows its uploads; uploading again")
                reuploaded = True
                continue
            except UnknownOutcome as exc:
                found = self.reconcile(k, sent, at)
                if found:
                    return found
                if attempt == CREATE_ATTEMPTS:
                    raise TemporaryError(f"{exc.message}. Post {k + 1} is not on the "
                                         "account's timeline; rerun to try again") from None
                self.progress(f"post {k + 1}: {exc.message}; not on X, sending again")
                continue
            except DuplicateContent:
                found = self.reconcile(k, sent, at)
                if found:
                    return found
                raise TemporaryError(
                    f"X says post {k + 1} duplicates a recent post, but it is not among the "
                    "account's recent posts replying where it should: the outcome is "
                    "unknown, so publishing stopped rather than risk a double post. Check "
                    "the account's timeline") from None
            self.journal.append("sent", k=k, id=post_id)
            return post_id
        raise AssertionError("unreachable")

    def run(self) -> list[str]:
        state = self.journal.state
        sent = dict(state.sent)
        for k in range(len(self.texts)):
            if k in sent:
                continue
            if self.should_stop():
                raise TemporaryError(f"stopped by a signal after {len(sent)} of "
                                     f"{len(self.texts)} posts; a rerun finishes the thread")
            if k in state.sending:  # a previous run may have created it: look first
                found = self.reconcile(k, sent, state.sending[k])
                if found:
                    sent[k] = found
                    continue
            sent[k] = self.post(k, sent)
            self.progress(f"posted {k + 1}/{len(self.texts)}: {sent[k]}")
        return [sent[k] for k in range(len(self.texts))]


def _record(diary: Diary, config: Config, rel: str, state: JournalState, date: dt.date,
            journal: Journal) -> str | None:
    """Write tweet_ids/posted_at into the entry (surgically, atomically) and commit it."""
    assert state.complete is not None
    ids, posted_at = list(state.complete["ids"]), state.complete["posted_at"]
    path = diary.root / rel
    committed = gitstore.head_bytes(diary.root, rel).decode("utf-8")
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


def _committed_thread(diary: Diary, config: Config, date: dt.date, rel: str) -> Thread:
    """The thread of a committed, ready entry (and committed media): every refusal here
    comes before any request."""
    state = gitstore.file_state(diary.root, rel)
    if state == "untracked":
        raise NothingToPost(f"{rel} is not committed (an untracked entry is a draft); "
                            f"commit it to publish: git add {rel} && git commit")
    if state == "modified":
        raise NothingToPost(f"{rel} has uncommitted edits; only what is committed is "
                            "posted: commit them (or revert them) and rerun")
    thread = build_thread(diary, config, date)
    if thread.entry.status == "draft":
        raise NothingToPost(f"{rel} is a draft; set 'status: ready' and commit to publish it")
    for item in (item for post in thread.posts for item in post.media):
        if gitstore.file_state(diary.root, item.path) != "clean":
            raise InputError(f"{rel}: media {item.path} is not committed as it is; only "
                             f"what is committed is posted: git add {item.path} && git commit")
    return thread


def publish(diary: Diary, config: Config, date: dt.date, client: Callable[[], XClient], *,
            sandbox: bool = False, lock_timeout: float = 60.0,
            progress: Callable[[str], None] = lambda message: None,
            after_journal_write: Callable[[int], None] | None = None,
            should_stop: Callable[[], bool] = lambda: False,
            now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> PublishResult:
    """Post the entry for `date` exactly once (see the module docstring)."""
    state_dir = diary.sandbox_dir if sandbox else diary.state_dir

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
            return result(state, already=True,
                          commit=_record(diary, config, rel, state, date, journal))
        thread = _committed_thread(diary, config, date, rel)
        if thread.entry.posted and not sandbox:
            ids = tuple(thread.entry.tweet_ids)
            return PublishResult(date, ids, "", True, sandbox)
        texts = [post.text for post in thread.posts]
        month = now().astimezone(ZoneInfo(config.timezone)).strftime("%Y-%m")
        if state.posts is None and not sandbox:  # a new thread: does the budget allow it?
            ledger.check(config, diary.state_dir, rel, len(texts),
                         thread.estimated_cost_usd, month)
        if state.posts is not None and state.posts != texts:
            raise InputError(
                f"{rel} changed after {len(state.sent)} of {len(state.posts)} posts were "
                "published; restore the text that was being posted (git log shows it) and "
                "rerun to finish the thread")
        run = _Run(journal, client(), thread, diary.root, progress, now, should_stop)
        try:
            run.account()
            if state.posts is None:
                journal.append("start", posts=texts)
            ids = run.run()
        except AgentDiaryError as exc:
            journal.append("stopped", k=len(journal.state.sent), reason=exc.message)
            raise
        journal.append("complete", ids=ids,
                       posted_at=now().strftime("%Y-%m-%dT%H:%M:%SZ"))
        if not sandbox:
            ledger.append(diary.state_dir, date, len(ids), thread.estimated_cost_usd, month)
        state = journal.state
        if sandbox:
            return result(state, already=False)
        return result(state, already=False,
                      commit=_record(diary, config, rel, state, date, journal))
