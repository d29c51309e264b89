"""Will an entry be posted as it stands? What `preview` warns about, and what `publish`
refuses: an entry or image that is not committed (only what is committed is posted), and
a ready entry whose body is still the placeholder text of `agent-diary new`."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from . import gitstore
from .diary import Diary, entry_skeleton
from .errors import InputError
from .text.entry import Entry, parse_entry

if TYPE_CHECKING:
    from .thread import Thread


def _words(text: str) -> str:
    return " ".join(text.split())


@functools.cache
def _placeholder() -> str:
    """The skeleton's body, whitespace folded: taken from the skeleton itself, so the two
    cannot drift apart. Its date and title do not change the body."""
    from datetime import date

    day = date(2000, 1, 1)
    return _words(parse_entry(entry_skeleton(day, None), day, "skeleton").body)


def _placeholder_opening() -> str:
    text = _placeholder()
    return text[:text.find(". ") + 1] if ". " in text else text


def still_placeholder(entry: Entry) -> bool:
    """Whether the body still holds the whole placeholder (rewrapped or not): an agent
    that wrote around it, or not at all, would post it word for word."""
    return _placeholder() in _words(entry.body)


def refuse_placeholder(entry: Entry) -> None:
    """An unposted ready entry that still holds the placeholder is refused (exit 2): the
    agent forgot to write it. A draft may hold it; a posted entry sends nothing more."""
    if entry.status == "ready" and not entry.posted and still_placeholder(entry):
        raise InputError(f"{entry.source}: its body is still the placeholder of "
                         f"`agent-diary new` (\"{_placeholder_opening()} …\"); write the entry "
                         "in its place, commit it and rerun")


def commit_state(code: str) -> str:
    """"clean", "modified", "staged" (added to the index, not committed) or "untracked",
    from git's porcelain XY `code`."""
    if not code:
        return "clean"
    if code in ("??", "!!"):
        return "untracked"
    return "staged" if code[0] == "A" else "modified"


def _entry_state_warning(rel: str, state: str) -> str | None:
    if state == "untracked":
        return (f"{rel} is untracked (not committed): it will not be posted until "
                f"committed: git add {rel} && git commit")
    if state == "staged":
        return f"{rel} is staged, not committed: it will not be posted until committed: " \
               "git commit"
    if state == "modified":
        return (f"{rel} has uncommitted edits: only what is committed is posted, so publish "
                "refuses it until they are committed (or reverted)")
    return None


def _media_state_warning(rel: str, state: str) -> str | None:
    what = {"untracked": "is untracked (not committed)", "staged": "is staged, not committed",
            "modified": "has uncommitted changes"}.get(state)
    if what is None:
        return None
    add = "" if state == "staged" else f"git add {rel} && "
    return f"{rel} {what}: publish refuses the entry until it is committed: {add}git commit"


def preview_warnings(diary: Diary, thread: Thread) -> list[str]:
    """Everything `preview` should say before showing the thread: it previews the work
    tree, while publish posts what is committed, and only ready entries."""
    entry = thread.entry
    warnings = list(thread.warnings)
    if entry.status == "draft":
        warnings.append(f"{entry.source} is a draft: it will not be posted until "
                        "'status: ready'")
    if entry.posted:
        warnings.append(f"{entry.source} was already posted at {entry.posted_at}")
        return warnings
    states = [(entry.source, _entry_state_warning)]
    states += [(path, _media_state_warning) for path in
               dict.fromkeys(item.path for post in thread.posts for item in post.media)]
    codes = gitstore.status_codes(diary.root, [rel for rel, _ in states])  # one git call
    for rel, warning in states:
        message = warning(rel, commit_state(codes[rel]))
        if message:
            warnings.append(message)
    if entry.status == "ready" and still_placeholder(entry):
        warnings.append(f"{entry.source} is ready, but its body is still the placeholder of "
                        f"`agent-diary new` (\"{_placeholder_opening()} …\"): publish refuses "
                        "it until the entry is written in its place")
    return warnings
