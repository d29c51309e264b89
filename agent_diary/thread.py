"""The whole way from a dated entry to the thread it becomes (what `preview` shows and
`publish` posts): entry → template → Markdown → posts → media → cost estimate."""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
from typing import Any, NamedTuple

from .config import Config
from .diary import Diary
from .errors import AgentDiaryError, InputError
from .readiness import refuse_placeholder
from .text.entry import ALT_TEXT_MAX, Entry, MediaRef
from .text.media import MediaFile, check_post, inspect
from .text.render import markdown_to_chunks, render_template
from .text.repeats import find_repeats
from .text.split import Post, TooManyPosts, split_into_posts
from .text.twittertext import has_url, weighted_length
from .text.twittertext import is_valid as is_valid_post
from .wording import plural


class PostMedia(NamedTuple):
    path: str  # relative to the repository root, POSIX separators
    alt: str | None
    file: MediaFile  # what the bytes are, for the upload
    digest: str = ""  # SHA-256 of the bytes: an upload is reused only for the same image


class ThreadPost(NamedTuple):
    text: str
    weighted_length: int
    media: tuple[PostMedia, ...]
    has_url: bool


class Thread(NamedTuple):
    entry: Entry
    posts: tuple[ThreadPost, ...]
    estimated_cost_usd: float
    warnings: tuple[str, ...] = ()

    @property
    def date(self) -> dt.date:
        return self.entry.date

    def as_json(self) -> dict[str, Any]:
        """The `preview --format json` object of the interface contract."""
        return {
            "date": self.date.isoformat(),
            "posts": [
                {"text": p.text, "weighted_length": p.weighted_length,
                 "media": [{"path": m.path, "alt": m.alt or ""} for m in p.media]}
                for p in self.posts
            ],
            "estimated_cost_usd": self.estimated_cost_usd,
        }


def media_rel(source: str, path: str) -> str:
    """A media path as written in an entry (relative to the entry's folder, or to the
    repository root when it starts with /) as a path from the root, worked out on the
    text alone: it must stay inside the repository, and no link is followed to read it.
    `source` is the entry's own path from the root."""
    if "://" in path or path.startswith("data:"):
        raise InputError(f"{source}: media {path!r} is not a file in the repository; "
                         "copy the image into the repository (e.g. diary/media/) and link it")
    base = "" if path.startswith("/") else posixpath.dirname(source)
    rel = posixpath.normpath(posixpath.join(base, path.lstrip("/")))
    first = rel.split("/", 1)[0]
    if rel in (".", "") or first in ("..", ".git") or rel.startswith("/"):
        raise InputError(f"{source}: media {path!r} resolves outside the repository; "
                         "media must be files inside it (not in .git)")
    return rel


def read_media(diary: Diary, source: str, path: str) -> tuple[str, bytes]:
    """(path from the root, bytes) of an entry's image, read like every file of the diary."""
    rel = media_rel(source, path)
    try:
        data = diary.read_bytes(rel)
    except InputError as exc:
        raise InputError(f"{source}: media {path!r}: {exc.message}") from None
    if data is None:
        where = "the repository root" if path.startswith("/") else "the entry's folder"
        state = " in the committed tree" if diary.committed is not None else ""
        raise InputError(f"{source}: media {path!r} not found{state} (paths are relative to "
                         f"{where}; a path starting with / is relative to the repository root)")
    return rel, data


def _attach_front_matter_media(posts: list[Post], media: tuple[MediaRef, ...],
                               source: str) -> list[Post]:
    extra: list[list[MediaRef]] = [[] for _ in posts]
    for ref in media:
        number = ref.post or 1
        if number > len(posts):
            raise InputError(f"{source}: media {ref.path!r} asks for post {number}, but the "
                             f"thread has {plural(len(posts), 'post')}")
        extra[number - 1].append(ref)
    return [Post(post.text, tuple(extra[i]) + post.media) for i, post in enumerate(posts)]


def estimate_cost(posts: tuple[ThreadPost, ...], config: Config) -> float:
    price = config.pricing
    total = sum(price.post_with_url if p.has_url else price.post for p in posts)
    total += sum(price.media_metadata for p in posts for m in p.media if m.alt)
    return round(total, 6)


# An entry is split up to 4 times thread.max_posts posts, then refused. Why not stop at
# max_posts + 1: up to the cap the refusal gives the exact count ("needs 60 posts, more
# than 25"), which tells the writer how much to cut; an entry over 4 times too long is
# no near miss, and "more than 100" says as much. Why not more: the cap bounds the work
# of a refusal (max_posts is at most 100, so at most 400 posts, ~112,000 weighted
# characters, are packed: a fraction of a second, bench/text_scale.py row 4).
SPLIT_CAP_FACTOR = 4


def build_thread(diary: Diary, config: Config, date: dt.date, *,
                 check_recent: bool = True, placeholder_ok: bool = False) -> Thread:
    """The thread for `date`'s entry, fully validated; touches nothing. With
    `check_recent`, posts X would refuse as duplicates (of this thread's or of the
    previous days' posts) are refused too. A ready entry still holding the `new`
    skeleton's placeholder is refused unless `placeholder_ok` (preview only warns)."""
    entry = diary.load_entry(date)  # one over the size limit is refused unread
    if not placeholder_ok:
        refuse_placeholder(entry)
    rendered = render_template(entry, config, diary.template_source)
    chunks = markdown_to_chunks(rendered)
    if not chunks:
        raise InputError(f"{entry.source}: the template renders to no text")

    max_posts = config.thread.max_posts
    # A huge entry fails fast: splitting stops a few hundred posts in. (No bound on the
    # whole text's length is safe: one post can hold a megabyte, as a URL weighs 23 however
    # long it is, and cuts drop whitespace.) Up to the cap, the message gives the count.
    cap = SPLIT_CAP_FACTOR * max_posts
    try:
        posts = split_into_posts(chunks, numbering=config.thread.numbering, cap=cap)
    except TooManyPosts:
        raise InputError(f"{entry.source}: the entry ({len(rendered):,} characters after "
                         f"the template) needs more than {cap} posts, more than "
                         f"thread.max_posts ({max_posts}); shorten it or raise the "
                         "limit") from None
    if len(posts) > max_posts:
        raise InputError(f"{entry.source}: the entry needs {len(posts)} posts, more than "
                         f"thread.max_posts ({max_posts}); shorten it or raise the limit")
    posts = _attach_front_matter_media(posts, entry.media, entry.source)

    warnings: list[str] = []
    thread_posts: list[ThreadPost] = []
    for number, post in enumerate(posts, 1):
        if not is_valid_post(post.text):
            raise InputError(f"{entry.source}: post {number} holds a character X does not "
                             "accept (U+FFFE, U+FFFF or a stray directional mark); remove it")
        media = []
        for ref in post.media:
            rel, data = read_media(diary, entry.source, ref.path)
            label = f"{entry.source}: media {ref.path!r}"
            if not ref.alt:
                warnings.append(f"{label} has no alt text; people using screen readers "
                                "will miss it")
            elif len(ref.alt) > ALT_TEXT_MAX:
                raise InputError(f"{label}: its alt text has {len(ref.alt)} characters; X "
                                 f"allows at most {ALT_TEXT_MAX}")
            media.append(PostMedia(rel, ref.alt, inspect(data, label),
                                   hashlib.sha256(data).hexdigest()))
        check_post([m.file for m in media], entry.source, number)
        thread_posts.append(ThreadPost(post.text, weighted_length(post.text), tuple(media),
                                       has_url(post.text)))
    final = tuple(thread_posts)
    # A posted entry sends nothing more, so X has nothing to refuse.
    if check_recent and not entry.posted:
        _refuse_repeats(diary, config, entry, [post.text for post in final])
    return Thread(entry, final, estimate_cost(final, config), tuple(warnings))


RECENT_DAYS = 7  # how far either side a post X would call a duplicate is looked for


def neighbour_dates(date: dt.date, days: int = RECENT_DAYS) -> list[dt.date]:
    """The dates within `days` days either side of `date` (not `date`), nearest first
    before and after, leaving out any past the calendar's ends."""
    offsets = (*range(-1, -days - 1, -1), *range(1, days + 1))
    return [date + dt.timedelta(days=offset) for offset in offsets
            if 1 <= date.toordinal() + offset <= dt.date.max.toordinal()]


def _recent_threads(diary: Diary, config: Config, date: dt.date,
                    days: int) -> dict[dt.date, Thread]:
    """The threads of the entries within `days` days either side of `date`: X refuses a
    repeat by when it is posted, and a later day's entry may well be posted first."""
    threads = {}
    days_around = neighbour_dates(date, days)
    # All the neighbours' entries with one or two git calls, not two or three per day.
    diary.prefetch(days_around)
    for day in days_around:
        try:
            # Not recursing: that day's own neighbours are not this thread's concern.
            thread = build_thread(diary, config, day, check_recent=False)
        except AgentDiaryError:
            continue  # missing (a cheap path look-up) or broken: it posts nothing
        if thread.entry.status != "draft":  # a draft is never posted
            threads[day] = thread
    return threads


def _refuse_repeats(diary: Diary, config: Config, entry: Entry, texts: list[str]) -> None:
    threads = _recent_threads(diary, config, entry.date, RECENT_DAYS)
    problems = find_repeats(
        texts, {day: [post.text for post in thread.posts] for day, thread in threads.items()},
        sources={day: thread.entry.source for day, thread in threads.items()})
    if len(problems) == 1:
        raise InputError(f"{entry.source}: {problems[0]}")
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise InputError(f"{entry.source}: {len(problems)} posts X would refuse as "
                         f"duplicates:\n{listing}")
