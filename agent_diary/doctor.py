"""`doctor`: every check that saves someone an hour, each with its fix in plain words.

The checks run in order and go on after a failure; a check that needs an earlier one
(the account needs credentials) is skipped, saying why.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .auth import Credentials, load_credentials
from .config import Config
from .diary import Diary, resolve_date
from .errors import AgentDiaryError, ExitCode, NothingToPost
from .networks.x_traps import credential_traps
from .text.entry import ALT_TEXT_MAX, Entry, MediaRef
from .wording import plural

if TYPE_CHECKING:
    from .text.split import Post

MAX_CLOCK_SKEW = 60  # seconds; OAuth 1.0a requests fail past a few minutes


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | fail | skip | warn
    message: str
    exit_code: ExitCode = ExitCode.OK


def _fail(name: str, message: str, code: ExitCode) -> Check:
    return Check(name, "fail", message, code)


def run_checks(diary: Diary | None, config: Config | None, config_error: str | None,
               base: str, client: Callable[[Credentials], Any],
               now: dt.datetime) -> list[Check]:
    checks: list[Check] = []
    if diary is None:
        checks.append(_fail("repository", config_error or "no diary repository",
                            ExitCode.BAD_INPUT))
    elif config_error is not None:
        checks.append(_fail("config", config_error, ExitCode.BAD_INPUT))
    elif config is not None:
        checks.append(Check("config", "ok", f"{config.source} is valid"))

    profile = config.x.profile if config else "default"
    credentials: Credentials | None = None
    try:
        credentials = load_credentials(profile)
        traps = credential_traps(credentials)
        if traps:
            checks.append(_fail("credentials", "; ".join(traps), ExitCode.ACCOUNT_REFUSED))
            credentials = None
        else:
            checks.append(Check("credentials", "ok", f"four credentials from "
                                                     f"{credentials.source}"))
    except AgentDiaryError as exc:
        checks.append(_fail("credentials", exc.message, exc.exit_code))

    checks.append(_clock(base, now))
    if credentials is None:
        checks.append(Check("account", "skip", "needs valid credentials"))
    else:
        try:
            me = client(credentials).me()
            checks.append(Check("account", "ok", f"posting as @{me.username} (id {me.id})"))
        except AgentDiaryError as exc:
            checks.append(_fail("account", exc.message, exc.exit_code))

    if diary is not None and config is not None:
        checks.append(_git(diary, config))
        checks.extend(_entry(diary, config, now))
    return checks


def server_time(header: str) -> dt.datetime | None:
    """The time in an HTTP Date header, or None when it cannot be compared with ours:
    unparsable, out of range, or without a zone (naive; RFC 5322 reads "-0000" as "zone
    unknown" too), since guessing UTC could report a skew that is not there."""
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return when if when.utcoffset() is not None else None


def _clock(base: str, now: dt.datetime) -> Check:
    import requests

    try:
        answer = requests.get(f"{base}/2/users/me", timeout=10)
    except requests.RequestException as exc:
        return _fail("clock", f"cannot reach {base} to compare clocks "
                              f"({type(exc).__name__}); check the network", ExitCode.TEMPORARY)
    header = answer.headers.get("Date")
    if not header:
        return Check("clock", "skip", f"{base} sent no Date header to compare with")
    server = server_time(header)
    if server is None:
        return Check("clock", "warn", f"{base} sent a Date header without a usable time and "
                                      f"zone ({header[:80]!r}), so the clocks were not "
                                      "compared; if X answers 'Timestamp out of bounds', "
                                      "set this machine's clock (NTP)")
    skew = (now - server).total_seconds()
    if abs(skew) > MAX_CLOCK_SKEW:
        return _fail("clock", f"this machine's clock is {abs(skew):.0f} s "
                              f"{'ahead of' if skew > 0 else 'behind'} X's; OAuth 1.0a "
                              "requests fail past a few minutes: set the clock (NTP)",
                     ExitCode.ACCOUNT_REFUSED)
    return Check("clock", "ok", f"within {abs(skew):.0f} s of X's")


def _git(diary: Diary, config: Config) -> Check:
    from . import gitstore

    try:  # what every publish asks first: can git read this repository at all?
        gitstore.status_codes(diary.root, ["config.yaml"])
    except AgentDiaryError as exc:
        return _fail("git", exc.message, exc.exit_code)
    if config.git.commit and not config.git.author:
        name = gitstore.config_value(diary.root, "user.name")
        mail = gitstore.config_value(diary.root, "user.email")
        if not name or not mail:
            return _fail("git", "no committer identity to record the tweet IDs with: set "
                                "git.author in config.yaml, or git config user.name and "
                                "user.email", ExitCode.BAD_INPUT)
    if config.git.push or config.git.pull:
        problem = gitstore.remote_problem(diary.root, timeout=20)
        if problem is not None:
            return _fail("git", f"the remote is not reachable and git.push/git.pull are on "
                                f"({problem}); check the remote and its credentials",
                         ExitCode.TEMPORARY)
    return Check("git", "ok", f"{diary.root} is ready to record and "
                              f"{'push' if config.git.push else 'keep'} the IDs")


def _entry(diary: Diary, config: Config, now: dt.datetime) -> list[Check]:
    """Today's entry: "template" (it renders and makes a valid thread), then "media", one
    line per problem with an image, so a missing file is not filed as a template's fault."""
    today = resolve_date("today", config.timezone, now)
    try:
        entry = diary.load_entry(today)
    except NothingToPost:
        return [Check("template", "ok", f"no entry for {today}: nothing to render")]
    except AgentDiaryError as exc:
        return [_fail("template", exc.message, exc.exit_code)]
    try:
        posts: list[Post] | None = _posts(diary, config, entry)
    except AgentDiaryError as exc:
        posts, template = None, _fail("template", exc.message, exc.exit_code)
    media = _media(diary, entry, posts)
    if posts is not None:
        template = _template(diary, config, today, len(posts),
                             any(check.status == "fail" for check in media))
    return [template, *media]


def _posts(diary: Diary, config: Config, entry: Entry) -> list[Post]:
    from .text.render import markdown_to_chunks, render_template
    from .text.split import split_into_posts

    chunks = markdown_to_chunks(render_template(entry, config, diary.template_source))
    return split_into_posts(chunks, numbering=config.thread.numbering)


def _template(diary: Diary, config: Config, today: dt.date, count: int,
              media_failed: bool) -> Check:
    from .thread import build_thread

    source = diary.rel(diary.entry_path(today))
    if media_failed:  # building the thread would stop at the first of those again
        return Check("template", "ok", f"{source} renders to {plural(count, 'post')}; the rest of "
                                       "the thread is checked once its media are fixed")
    try:
        thread = build_thread(diary, config, today)
    except AgentDiaryError as exc:
        return _fail("template", exc.message, exc.exit_code)
    # thread.warnings (alt text) are not repeated: the media check words them with a fix.
    return Check("template", "ok", f"{thread.entry.source} renders to "
                                   f"{plural(len(thread.posts), 'post')}")


def _media(diary: Diary, entry: Entry, posts: list[Post] | None) -> list[Check]:
    """Every image of the entry checked on its own, as publishing would check it: found
    inside the repository, an image X takes, alt text, and at most what X allows per post.
    Without `posts` (the template failed) only the front matter's images are known."""
    from .text.media import MediaFile, check_post, inspect
    from .thread import read_media

    per_post: dict[int, list[MediaRef]] = {}
    problems: list[Check] = []
    for ref in entry.media:
        number = ref.post or 1
        if posts is not None and number > len(posts):
            problems.append(_fail("media", f"{entry.source}: media {ref.path!r} asks for "
                                           f"post {number}, but the thread has "
                                           f"{plural(len(posts), 'post')}; change its "
                                           "'post:' or leave it out",
                                  ExitCode.BAD_INPUT))
        else:
            per_post.setdefault(number, []).append(ref)
    for number, post in enumerate(posts or [], 1):
        per_post.setdefault(number, []).extend(post.media)
    count = 0
    for number, refs in sorted(per_post.items()):
        files: list[MediaFile] = []
        for ref in refs:
            count += 1
            label = f"{entry.source}: media {ref.path!r}"
            try:
                _, data = read_media(diary, entry.source, ref.path)
                files.append(inspect(data, label))
            except AgentDiaryError as exc:
                problems.append(_fail("media", exc.message, exc.exit_code))
            problems.extend(_alt_text(label, ref))
        if posts is not None:
            try:
                check_post(files, entry.source, number)
            except AgentDiaryError as exc:
                problems.append(_fail("media", exc.message, exc.exit_code))
    if problems:
        return problems
    return [Check("media", "ok", f"{count} image(s) ready" if count else
                  f"no images in {entry.source}")]


def _alt_text(label: str, ref: MediaRef) -> list[Check]:
    if not ref.alt:
        return [Check("media", "warn", f"{label} has no alt text; people using screen "
                                       "readers will miss it: write it as ![alt text](path), "
                                       "or as 'alt:' beside its path in the front matter")]
    if len(ref.alt) > ALT_TEXT_MAX:
        return [_fail("media", f"{label}: its alt text has {len(ref.alt)} characters; X "
                               f"allows at most {ALT_TEXT_MAX}: shorten it",
                      ExitCode.BAD_INPUT)]
    return []
