"""Diary entries: parse and validate (text in), and the surgical front-matter write.

Both are pure functions of text. `with_tweet_ids` changes no byte of the user's file
other than the `tweet_ids` / `posted_at` lines it sets, because python-frontmatter style
re-serialisation would reorder keys and drop comments.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from typing import Any, NamedTuple

from ..errors import AgentDiaryError, InputError
from .safeyaml import as_written

STATUSES = ("draft", "ready")
ALT_TEXT_MAX = 1000
_KEYS = ("title", "status", "template", "time", "tags", "media", "date", "tweet_ids",
         "posted_at")
_MEDIA_KEYS = ("path", "alt", "post")
_KEY_LINE = re.compile(r"""(?:[\w.-]+|"[^"\n]*"|'[^'\n]*')[ \t]*:(?:[ \t]|$)""")
_YAML_STARTS = ("?", ":", "%", "!")  # complex keys, directives, tags
# The most bytes an entry file may hold. No size is sure to be too big for a thread that
# can be posted (blank lines, whitespace at cuts, comments and link targets are dropped,
# and a URL weighs 23 for up to twitter-text's 4,096 characters: 100 posts of 11 such
# URLs hold 4.5 MB), so this is a generous policy, not a bound: thread.max_posts is at
# most 100 posts of 280 weighted, which without URLs of more than ~100 characters is at
# most ~400 KB however written (emoji sequences, the densest, are ~14 bytes a weight
# unit; any script at most 3 bytes one). It is checked before an entry is parsed, so a
# file that could never be posted costs a look at its size, and the repeats check reads
# at most 14 of these from the neighbouring days.
MAX_ENTRY_BYTES = 2**20


class MediaRef(NamedTuple):
    path: str  # as written: relative to the entry's folder, or "/..." from the repo root
    alt: str | None = None
    post: int | None = None  # 1-based post number; None: the first post (or inline)


class Entry(NamedTuple):
    date: dt.date
    source: str  # the file, for messages
    title: str | None
    status: str
    template: str | None
    time: str | None
    tags: tuple[str, ...]
    media: tuple[MediaRef, ...]
    body: str
    tweet_ids: tuple[str, ...]
    posted_at: str | None

    @property
    def posted(self) -> bool:
        return self.posted_at is not None


def check_entry_size(source: str, size: int) -> None:
    """InputError if an entry of `size` bytes is over MAX_ENTRY_BYTES."""
    if size > MAX_ENTRY_BYTES:
        raise InputError(f"{source}: the entry is {size:,} bytes, more than the "
                         f"{MAX_ENTRY_BYTES:,} an entry may have (1 MiB; a thread of 100 "
                         "posts needs far less); shorten it or spread it over several days")


def _lines(text: str) -> list[str]:
    """Lines with their endings, split on "\\n" only (str.splitlines also splits on
    \\x0c, \\u2028 and others, which would corrupt a surgical rewrite)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _is_marker(line: str) -> bool:
    return line.lstrip("\ufeff").rstrip() == "---"


def _front_matter_bounds(lines: list[str], source: str) -> tuple[int, int] | None:
    """(first, closing) line indexes of the front matter, or None if there is none."""
    if not lines or not _is_marker(lines[0]):
        return None
    for index in range(1, len(lines)):
        if _is_marker(lines[index]):
            return 0, index
    raise InputError(
        f"{source}: the front matter opened by '---' on line 1 is never closed; "
        "add a line holding only '---' after the last key"
    )


def split_entry(text: str, source: str) -> tuple[str, str]:
    """(front matter YAML, body) of an entry's text."""
    lines = _lines(text)
    bounds = _front_matter_bounds(lines, source)
    if bounds is None:
        return "", text.lstrip("\ufeff")
    first, closing = bounds
    return "".join(lines[first + 1:closing]), "".join(lines[closing + 1:])


def _load_front_matter(yaml_text: str, source: str) -> dict[str, Any]:
    from . import safeyaml

    # Line 2 of the file: the front matter starts below its opening '---'.
    data = safeyaml.load(yaml_text, source, first_line=2,
                         what="the front matter is not valid YAML") \
        if yaml_text.strip() else {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{source}: the front matter must be a mapping of keys "
                         f"(title: …, status: …), not a {type(data).__name__}")
    return data


def _unclosed_front_matter(yaml_text: str, source: str) -> InputError | None:
    """The error for a front matter that ran on into the body, or None if it does not
    look like that.

    Without its closing `---` the front matter runs to the body's next `---` line (a
    thematic break), and YAML reports the body as a bad or unknown key. A top-level line
    that is not `key: value` (nor a comment, a continuation, or a list item under a
    `key:`) is the body's first line; Markdown's `[link]`, `> quote`, `*bold*` and
    `- item` are not front matter there.
    """
    lines = _lines(yaml_text)
    last_key = 1  # the opening '---'
    items = True  # the key above (if any) has its value below: `- x` lines are its list
    for number, line in enumerate(lines, 2):
        line = line.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t":  # a continuation (YAML refuses tabs itself)
            is_yaml = True
        elif line[0] == "-" and line[1:2] in ("", " ", "\t"):
            is_yaml = items
        else:
            key = _KEY_LINE.match(line)
            items = key is not None and not line[key.end():].split(" #")[0].strip()
            is_yaml = (key is not None or line.startswith(_YAML_STARTS)
                       or line.rstrip() == "..." or (last_key == 1 and line[0] in "{["))
        if is_yaml:
            last_key = number
            continue
        return InputError(
            f"{source}: the front matter's closing '---' line is probably missing after line "
            f"{last_key}: line {number} reads as the entry's text, not as 'key: value', so the "
            f"front matter ran on to the '---' on line {len(lines) + 2}. Add a line holding "
            f"only '---' after line {last_key}")
    return None


def _tags_as_text(text: str) -> str:
    words = [word.lstrip("#") for word in re.split(r"[,\s]+", text) if word.strip("#")]
    listed = ", ".join(word if re.fullmatch(r"[\w-]+", word) else json.dumps(word)
                       for word in words[:10])
    return (f"key 'tags': {as_written(text)} is one piece of text, not a list; write tags "
            f"as a list: tags: [{listed}]")


def _as_str_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int) and not isinstance(v, bool)
                                       for v in value):
        return [str(v) for v in value]
    return None


def _media_refs(value: Any, problems: list[str]) -> list[MediaRef]:
    if not isinstance(value, list):
        problems.append("key 'media': expected a list of {path: …, alt: …} items")
        return []
    refs: list[MediaRef] = []
    for number, item in enumerate(value, 1):
        where = f"key 'media' item {number}"
        if isinstance(item, str):
            item = {"path": item}
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a mapping with 'path' and 'alt'")
            continue
        unknown = [k for k in item if k not in _MEDIA_KEYS]
        if unknown:
            problems.append(f"{where}: unknown key {as_written(unknown[0])}; valid keys: "
                            f"{', '.join(_MEDIA_KEYS)}")
        path, alt, post = item.get("path"), item.get("alt"), item.get("post")
        if not isinstance(path, str) or not path.strip():
            problems.append(f"{where}: 'path' must be a file path, e.g. media/screenshot.png")
            continue
        if alt is not None and (not isinstance(alt, str) or len(alt) > ALT_TEXT_MAX):
            problems.append(f"{where}: 'alt' must be text of at most {ALT_TEXT_MAX} characters")
            alt = None
        if post is not None and (not isinstance(post, int) or isinstance(post, bool)
                                 or post < 1):
            problems.append(f"{where}: 'post' must be a post number from 1")
            post = None
        refs.append(MediaRef(path=path, alt=alt, post=post))
    return refs


def parse_entry(text: str, date: dt.date, source: str) -> Entry:
    """Parse and validate an entry's text; every problem is reported at once."""
    from ..config import parse_hhmm

    if len(text) * 4 > MAX_ENTRY_BYTES:  # a character is at most 4 bytes of UTF-8
        check_entry_size(source, len(text.encode("utf-8", "surrogatepass")))
    yaml_text, body = split_entry(text, source)
    try:
        data = _load_front_matter(yaml_text, source)
    except InputError:
        unclosed = _unclosed_front_matter(yaml_text, source)
        if unclosed is not None:
            raise unclosed from None
        raise
    problems: list[str] = []

    unknown = [key for key in data if key not in _KEYS]
    if unknown and (unclosed := _unclosed_front_matter(yaml_text, source)) is not None:
        raise unclosed
    for key in unknown:
        problems.append(f"unknown key {as_written(key)}; valid keys: {', '.join(_KEYS)}")

    if "date" in data:
        declared = data["date"]
        if isinstance(declared, dt.datetime):
            declared = declared.date()
        if isinstance(declared, str):
            with contextlib.suppress(ValueError):
                declared = dt.date.fromisoformat(declared)
        if declared != date:
            problems.append(f"key 'date': {as_written(data['date'])} disagrees with the file "
                            f"name's date {date.isoformat()}; remove the key or make them agree")

    title = data.get("title")
    if title is not None and not isinstance(title, str | int | float):
        problems.append("key 'title': expected text")
        title = None

    status = data.get("status", "ready")
    if status not in STATUSES:
        problems.append(f"key 'status': {as_written(status)} is not valid; expected draft or "
                        "ready")

    template = data.get("template")
    if template is not None and (not isinstance(template, str)
                                 or not re.fullmatch(r"[A-Za-z0-9_-]+", template)):
        problems.append(f"key 'template': {as_written(template)} is not a template name; "
                        "expected the name of a file in templates/ without .j2, e.g. thread")
        template = None

    time = data.get("time")
    if time is not None:
        try:
            time = parse_hhmm("time", time)
        except InputError as exc:
            problems.append(exc.message)
            time = None

    tags = _as_str_list(data.get("tags", []))
    # "a, b" would post as one tag, #ab; one word alone is one tag (as it always was, so
    # entries posted with `tags: oauth` stay valid).
    if isinstance(data.get("tags"), str) and not re.fullmatch(r"[^,\s]+", data["tags"]):
        problems.append(_tags_as_text(data["tags"]))
        tags = []
    elif tags is None:
        problems.append("key 'tags': expected a list of words, e.g. [security, oauth]")
        tags = []

    media = _media_refs(data["media"], problems) if "media" in data else []

    tweet_ids = _as_str_list(data.get("tweet_ids", []))
    ids_valid = tweet_ids is not None and all(i.isdigit() for i in tweet_ids)
    if not ids_valid:
        problems.append("key 'tweet_ids': expected a list of tweet IDs (digit strings); "
                        "it is written by agent-diary, never by hand")
        tweet_ids = []

    posted_at = data.get("posted_at")
    if isinstance(posted_at, dt.datetime | dt.date):
        posted_at = posted_at.isoformat()
    elif posted_at is not None and not isinstance(posted_at, str):
        problems.append("key 'posted_at': expected a UTC timestamp such as "
                        '"2026-11-28T18:30:04Z"; it is written by agent-diary, never by hand')
        posted_at = None
    if posted_at is not None and ids_valid and not tweet_ids:
        # Publishing reads "posted" as "these are the IDs": one without the other is a
        # record that was edited by hand, and there is no thread to point to.
        problems.append("keys 'posted_at' and 'tweet_ids': posted_at is set but tweet_ids "
                        "is missing or empty; both are written by agent-diary, never by "
                        "hand: restore tweet_ids, or remove posted_at to post the entry")

    if not body.strip():
        problems.append("the entry has no text after the front matter; write the day's "
                        "entry below the closing '---'")

    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise InputError(f"{source}: {len(problems)} problem(s) in the entry:\n{listing}")
    return Entry(
        date=date, source=source, title=None if title is None else str(title), status=status,
        template=template, time=time, tags=tuple(tags), media=tuple(media),
        body=body.strip("\n"), tweet_ids=tuple(tweet_ids), posted_at=posted_at,
    )


# --- the surgical front-matter write ------------------------------------------------------

_OWN_KEY = re.compile(r"(?P<indent>[ \t]*)(?P<key>tweet_ids|posted_at)[ \t]*:")


def _is_continuation(line: str, indent: str) -> bool:
    """Whether a line continues the value of the top-level key above it."""
    rest = line[len(indent):] if line.startswith(indent) else None
    if rest is None or not rest.strip():
        return False
    return rest[0] in " \t" or rest.startswith("- ") or rest.rstrip() == "-"


def _own_lines(ids: list[str], posted_at: str, indent: str, newline: str) -> dict[str, str]:
    return {
        "tweet_ids": f"{indent}tweet_ids: [{', '.join(json.dumps(i) for i in ids)}]{newline}",
        "posted_at": f"{indent}posted_at: {json.dumps(posted_at)}{newline}",
    }


def with_tweet_ids(text: str, ids: list[str], posted_at: str, source: str = "entry") -> str:
    """The entry's text with `tweet_ids` and `posted_at` set; no other byte changes.

    Existing keys are replaced where they stand; new ones go just before the closing
    `---`, in the file's own line endings and indentation. The result is re-parsed and
    checked, so a file this cannot rewrite safely raises instead of being damaged.
    """
    if not ids or not all(i.isdigit() for i in ids):
        raise ValueError(f"tweet ids must be digit strings, got {ids!r}")
    lines = _lines(text)
    bounds = _front_matter_bounds(lines, source)
    if bounds is None:
        newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
        own = _own_lines(ids, posted_at, "", newline)
        bom = "\ufeff" if text.startswith("\ufeff") else ""  # stays the file's first byte
        result = (f"{bom}---{newline}{own['tweet_ids']}{own['posted_at']}---{newline}"
                  + text[len(bom):])
    else:
        _, closing = bounds
        newline = "\r\n" if lines[0].endswith("\r\n") else "\n"
        content = [i for i in range(1, closing)
                   if lines[i].strip() and not lines[i].lstrip().startswith("#")]
        first = lines[content[0]] if content else ""
        if first.lstrip().startswith("{"):
            result = _with_ids_in_flow_mapping(lines, content, ids, posted_at, source)
        else:
            indent = first[: len(first) - len(first.lstrip(" \t"))] if content else ""
            result = _with_ids_in_block_mapping(lines, closing, indent, newline, ids, posted_at)
    _verify_rewrite(text, result, ids, posted_at, source)
    return result


def _with_ids_in_block_mapping(lines: list[str], closing: int, indent: str, newline: str,
                               ids: list[str], posted_at: str) -> str:
    own = _own_lines(ids, posted_at, indent, newline)
    out: list[str] = []
    placed: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        match = _OWN_KEY.match(line) if 0 < index < closing else None
        if match and match["indent"] == indent:
            key = match["key"]
            index += 1
            while index < closing and _is_continuation(lines[index], indent):
                index += 1
            if key not in placed:
                out.append(own[key])
                placed.append(key)
                # The other key goes right beside this one if the file does not have it.
                other = "posted_at" if key == "tweet_ids" else "tweet_ids"
                if not any(_OWN_KEY.match(lines[i]) and _OWN_KEY.match(lines[i])["key"] == other
                           for i in range(1, closing)):
                    out.append(own[other])
                    placed.append(other)
            continue
        if index == closing:
            out.extend(own[key] for key in ("tweet_ids", "posted_at") if key not in placed)
        out.append(line)
        index += 1
    return "".join(out)


def _with_ids_in_flow_mapping(lines: list[str], content: list[int], ids: list[str],
                              posted_at: str, source: str) -> str:
    """Front matter written as one `{...}` flow mapping: add the keys inside the braces."""
    last = content[-1]
    line = lines[last]
    brace = line.rfind("}")
    if brace < 0 or any(_OWN_KEY.search(lines[i]) for i in content):
        raise InputError(f"{source}: cannot set tweet_ids in this flow-style front matter "
                         "safely; write the front matter as one 'key: value' per line")
    inner = "".join(lines[i] for i in content).strip()
    separator = "" if re.fullmatch(r"\{\s*\}", inner) else ", "
    addition = (f"{separator}tweet_ids: [{', '.join(json.dumps(i) for i in ids)}], "
                f"posted_at: {json.dumps(posted_at)}")
    lines = [*lines]
    lines[last] = line[:brace].rstrip() + addition + line[brace:]
    return "".join(lines)


def _verify_rewrite(before: str, after: str, ids: list[str], posted_at: str,
                    source: str) -> None:
    old_yaml, old_body = split_entry(before, source)
    new_yaml, new_body = split_entry(after, source)
    old = _load_front_matter(old_yaml, source)
    new = _load_front_matter(new_yaml, source)
    expected = {**old, "tweet_ids": ids, "posted_at": posted_at}
    if new != expected or new_body != old_body:
        raise AgentDiaryError(
            f"{source}: writing tweet_ids would change more than those keys; the file was "
            "left untouched (this is a bug in agent-diary, please report it with the file)"
        )
