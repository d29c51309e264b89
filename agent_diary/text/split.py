"""Splitting blocks of text into posts of at most 280 weighted characters.

Explicit chunks always start a new post. Within a chunk blocks are packed greedily; a
block that does not fit in the current post but fits in an empty one starts a new post;
a block longer than a whole post is split at sentence ends, then at whitespace, and only
a single unbroken token longer than a post is cut, at a grapheme-cluster boundary.
Whitespace at a cut is dropped; nothing else is lost or reordered. A heading never ends
a post while what follows it in its chunk could share a post with it: it moves on to the
next post instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain
from typing import NamedTuple

from ..errors import InputError
from .entry import MediaRef
from .render import Chunk
from .twittertext import MAX_WEIGHTED_LENGTH, weighted_length


class Post(NamedTuple):
    text: str
    media: tuple[MediaRef, ...] = ()


class TooManyPosts(Exception):
    """Splitting stopped once the text was sure to need more than `cap` posts: an entry
    far too long is refused after packing a few hundred posts, not all of them."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"more than {cap} posts")
        self.cap = cap


# Break opportunities inside a block, coarse to fine: (pattern of the separator).
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*(\s+)|(?<=[。！？])(\s*)")  # noqa: RUF001
_WHITESPACE = re.compile(r"\s+")


def _units(text: str, level: int) -> Iterator[tuple[int, int]]:
    """Spans of `text` at a break level: 0 sentences, 1 words, 2 grapheme clusters; made
    as packing asks for them (see _Packer.place)."""
    if level == 2:
        import regex

        yield from (m.span() for m in regex.finditer(r"\X", text))
        return
    pattern = _SENTENCE_END if level == 0 else _WHITESPACE
    start = 0
    for match in pattern.finditer(text):
        # The separator is the whitespace after a sentence end (group 1 or 2), or the
        # whole match for words.
        group = next((g for g in range(1, (pattern.groups or 0) + 1)
                      if match.group(g) is not None), 0)
        sep_start, sep_end = match.span(group)
        if sep_start > start and sep_end < len(text):
            yield start, sep_start
            start = sep_end
    yield start, len(text)


class _Packer:
    def __init__(self, limit: int, cap: int | None = None) -> None:
        self.limit = limit
        self.cap = cap  # raise TooManyPosts(cap) at the post after it
        self.posts: list[Post] = []
        self.text = ""
        self.media: list[MediaRef] = []
        # The current post ends with a heading: what comes next splits to join it rather
        # than start a post of its own, leaving the heading at the end of this one.
        self.after_heading = False

    def fits(self, text: str) -> bool:
        return weighted_length(text) <= self.limit

    def flush(self) -> None:
        if self.text:
            self.posts.append(Post(self.text, tuple(self.media)))
            if self.cap is not None and len(self.posts) > self.cap:
                raise TooManyPosts(self.cap)
        elif self.media and self.posts:  # images with no text of their own: post before
            last = self.posts[-1]
            self.posts[-1] = Post(last.text, last.media + tuple(self.media))
        self.text, self.media = "", []

    def keep_together(self, text: str, start: str, sep: str) -> None:
        """Start a new post now if `text` (a heading and what follows it) fits in an empty
        post but not after the current text. If it fits in no post, what follows is split
        as usual, but the heading still goes with its first sentence (`start`): a new
        post begins if the two do not fit after the current text."""
        if not self.text or self.fits(self.text + sep + text):
            return
        if self.fits(text) or (self.fits(start) and not self.fits(self.text + sep + start)):
            self.flush()

    def place(self, text: str, sep: str, media: list[tuple[int, MediaRef]], level: int) -> None:
        if not text:
            self.media.extend(ref for _, ref in media)
            return
        after_heading, self.after_heading = self.after_heading, False
        if self.fits(self.text + sep + text if self.text else text):
            self.text = self.text + sep + text if self.text else text
            self.media.extend(ref for _, ref in media)
            return
        if self.text and self.fits(text) and not after_heading:
            self.flush()
            self.text = text
            self.media.extend(ref for _, ref in media)
            return
        # The units are made one at a time, as they are placed: each weighs at least 1,
        # so at most 280 share a post, and a split capped at `cap` posts stops after
        # (cap + 1) * 280 of them, where a list would first hold one span (and one list
        # of images) for every character of a megabyte without a space.
        spans = _units(text, level)
        first, second = next(spans), next(spans, None)
        if second is None:
            if level == 2:  # one grapheme cluster longer than a post: nothing left to cut
                raise InputError("a single character sequence is longer than a whole post: "
                                 f"{text[:40]!r}")
            self.place(text, sep, media, level + 1)
            return
        # An image goes with the unit it stands in or after (the first: any before it).
        pending = sorted(enumerate(media), key=lambda item: item[1][0])
        taken, piece_sep = 0, sep
        current: tuple[int, int] | None = first
        for following in chain((second,), spans, (None,)):
            assert current is not None
            start, end = current
            group = []
            while taken < len(pending) and (following is None
                                            or pending[taken][1][0] < following[0]):
                group.append(pending[taken])
                taken += 1
            self.place(text[start:end], piece_sep,
                       [(max(0, offset - start), ref) for _, (offset, ref) in sorted(group)],
                       level)
            if following is not None:
                piece_sep = text[end:following[0]]
            current = following


def _heading_group(chunk: Chunk, index: int) -> tuple[str, str] | None:
    """The text of the heading at `index`, the headings right after it and the first
    block with text after those: what shares a post so that no heading ends one; and the
    same up to that block's first sentence. None when nothing with text follows the
    heading in its chunk."""
    text = chunk[index].text
    for block in chunk[index + 1:]:
        if not block.text:  # an image alone: it adds no text
            continue
        first = next(_units(block.text, 0))[1] if not block.heading else len(block.text)
        start = text + block.sep + block.text[:first]
        text += block.sep + block.text
        if not block.heading:
            return text, start
    return (text, text) if text != chunk[index].text else None


def _pack(chunks: list[Chunk], limit: int, cap: int | None = None) -> list[Post]:
    packer = _Packer(limit, cap)
    for chunk in chunks:
        packer.flush()
        for index, block in enumerate(chunk):
            group = _heading_group(chunk, index) if block.heading and block.text else None
            if group is not None:
                packer.keep_together(*group, block.sep)
            packer.place(block.text, block.sep, list(block.media), 0)
            packer.after_heading = block.heading and bool(block.text)
    packer.flush()
    return packer.posts


def numbering_suffix(number: int, total: int) -> str:
    return f" {number}/{total}"


def split_into_posts(chunks: list[Chunk], numbering: bool = False,
                     limit: int = MAX_WEIGHTED_LENGTH, cap: int | None = None) -> list[Post]:
    """Posts whose weighted length (numbering included) is at most `limit`. With `cap`,
    TooManyPosts as soon as more than `cap` posts are certain (the posts are otherwise
    the same). With numbering a pass is final only when its count has no more digits
    than its guess, so a pass may run past `cap` up to that many digits; beyond, the
    next pass reserves more room for the numbers, and a smaller limit gives fewer posts
    only where a heading then joins the post before it, at most one a heading
    (tests/test_text_scale.py checks that on random text), so "more than `cap`" may be
    that many too many."""
    total_guess = 1
    while True:
        reserve = len(numbering_suffix(total_guess, total_guess)) if numbering else 0
        pass_cap = cap if cap is None or not numbering else \
            max(cap, 10 ** len(str(total_guess)) - 1)
        try:
            posts = _pack(chunks, limit - reserve, pass_cap)
        except TooManyPosts:
            raise TooManyPosts(cap or 0) from None  # a pass's cap is at least `cap`
        if not numbering:
            return posts
        if len(str(len(posts))) <= len(str(total_guess)):
            total = len(posts)
            return [Post(p.text + numbering_suffix(i, total), p.media)
                    for i, p in enumerate(posts, 1)]
        total_guess = len(posts)
