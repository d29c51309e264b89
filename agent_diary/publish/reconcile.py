"""Pure matching of the posts a thread means to send against the posts X shows.

X does not return the text it was sent: every URL comes back as a `https://t.co/…` link
(with what it stands for in `entities.urls`), `&`, `<` and `>` as HTML entities, and a
post with media ends with one more t.co link. A post matches when its text agrees with
URLs masked and entities unescaped, its URLs agree with the links' expanded URLs (so
yesterday's thread with another day's link is not taken for today's), and it replies
to the post it should.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from ..networks.x import TimelinePost
from ..text.twittertext import url_spans

_T_CO = re.compile(r"https://t\.co/\w+")


def comparable(text: str, from_x: bool) -> str:
    """Text reduced to what survives X: URLs masked (X returns t.co links), HTML entities
    unescaped, whitespace collapsed, NFC."""
    if from_x:
        text = _T_CO.sub("\x00", html.unescape(text))
    else:
        text = unicodedata.normalize("NFC", text)
        for start, end in reversed(url_spans(text)):
            text = text[:start] + "\x00" + text[end:]
    return " ".join(unicodedata.normalize("NFC", text).split())


def _url_key(url: str) -> str:
    """A URL as X may give it back: scheme dropped, host lower-cased, no trailing slash."""
    rest = url.split("://", 1)[-1]
    host, _, path = rest.partition("/")
    return f"{host.lower()}/{path}".rstrip("/")


def _urls(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text)
    return [_url_key(text[start:end]) for start, end in url_spans(text)]


def matches(post: TimelinePost, text: str, reply_to: str | None) -> bool:
    """Whether `post`, as X shows it, is `text` replying to `reply_to`."""
    if post.reply_to != reply_to:
        return False
    want = comparable(text, from_x=False)
    links = want.count("\x00")
    got = comparable(post.text, from_x=True)
    while got.count("\x00") > links and got.endswith("\x00"):  # the media link X adds
        got = got[:-1].rstrip()
    if got != want:
        return False
    if post.urls is None:  # X sent no entities: the masked text is all there is
        return True
    return [_url_key(url) for url in post.urls[:links]] == _urls(text)


def find_posted(candidates: Iterable[TimelinePost], text: str,
                reply_to: str | None) -> str | None:
    """The id of the oldest post among `candidates` that is `text` replying to
    `reply_to`, or None."""
    for post in sorted(candidates, key=lambda p: int(p.id)):
        if matches(post, text, reply_to):
            return post.id
    return None


def find_chain(candidates: list[TimelinePost], texts: list[str],
               sent: dict[int, str]) -> dict[int, str]:
    """The posts of the thread found among `candidates`, continuing the chain `sent`
    (posts 0..k-1 known) for as long as each next post is there: {k: id}."""
    found: dict[int, str] = {}
    chain = dict(sent)
    for k in range(len(chain), len(texts)):
        post_id = find_posted(candidates, texts[k], chain.get(k - 1))
        if post_id is None:
            break
        found[k] = chain[k] = post_id
    return found


def signature(texts: list[str], media: list[Any]) -> list[list[Any]]:
    """What identifies each post for exactly-once: its text and its images (content
    digest and alt text), as JSON for the journal."""
    return [[text, [[m.digest, m.alt or ""] for m in items]]
            for text, items in zip(texts, media, strict=True)]
