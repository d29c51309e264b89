"""Counting and splitting long text: the same results as the one-expression URL finder.

The URL finder used to be twitter-text's single regular expression (with the ~1,500 TLDs
as an alternation): quadratic in a long run without spaces and ~30 ms to compile. It is
kept here, verbatim, as the oracle the new finder must agree with on random text that
mixes CJK, dots, URLs, emoji, underscores, case oddities and long runs. How fast the new
one is, is shown by bench/text_scale.py, never asserted here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from agent_diary.text import split as split_module
from agent_diary.text import twittertext
from agent_diary.text._tables import CCTLDS, GTLDS
from agent_diary.text.render import Block
from agent_diary.text.split import split_into_posts
from agent_diary.text.twittertext import (
    _LIGHT_EMOJI,
    URL_WEIGHT,
    _emoji_at,
    _normalise,
    _weight,
    weighted_length,
)
from agent_diary.text.urlscan import (
    _CYRILLIC,
    _DIRECTIONAL,
    _INVALID,
    _LATIN_ACCENTS,
    _MAX_TCO_SLUG,
    _PUNCT,
    _QUERY_CHAR,
    _QUERY_END,
    _SPACES,
    _TCO,
    _host_is_valid,
    url_entities,
)

from .helpers import make_repo

# --- The previous implementation (the oracle) ---------------------------------------------

_TLD_END = "(?=[^0-9a-z@+-]|$)"
_TLD = f"(?:(?:{GTLDS}){_TLD_END}|(?:{CCTLDS}){_TLD_END}|xn--[-0-9a-z]+)"
_CHAR = f"[^{_PUNCT}{_SPACES}{_INVALID}{_DIRECTIONAL}]"
_SUBDOMAIN = f"(?:(?:{_CHAR}(?:[_-]|{_CHAR})*)?{_CHAR}\\.)"
_DOMAIN_NAME = f"(?:(?:{_CHAR}(?:-|{_CHAR})*)?{_CHAR}\\.)"
_DOMAIN = f"(?:{_SUBDOMAIN}*{_DOMAIN_NAME}{_TLD})"
_PATH_CHAR = f"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\\[\\]\\-\u2013_~@|&{_LATIN_ACCENTS}]"
_PARENS = f"\\((?:{_PATH_CHAR}+|{_PATH_CHAR}*\\({_PATH_CHAR}+\\){_PATH_CHAR}*)\\)"
_PATH_END = f"(?:[+\\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|{_PARENS})"
_PATH = f"(?:{_PATH_CHAR}*(?:{_PARENS}{_PATH_CHAR}*)*{_PATH_END}|@{_PATH_CHAR}+/)"
_PRECEDING = f"(?:[^a-z0-9@\uFF20$#\uFF03{_INVALID}]|[{_DIRECTIONAL}]|^)"
OLD_URL = re.compile(
    f"({_PRECEDING})((https?://)?({_DOMAIN})(?::[0-9]+)?(/{_PATH}*)?"
    f"(?:\\?{_QUERY_CHAR}*{_QUERY_END})?)", re.IGNORECASE)
OLD_ASCII_DOMAIN = re.compile(f"(?:[\\-a-z0-9{_LATIN_ACCENTS}]+\\.)+{_TLD}", re.IGNORECASE)


def old_url_entities(text: str) -> list[tuple[int, int, str]]:
    if "." not in text:
        return []
    spans: list[tuple[int, int, str]] = []
    for match in OLD_URL.finditer(text):
        before, url, scheme, host, path = match.group(1, 2, 3, 4, 5)
        end = match.end()
        start = end - len(url)
        if not _host_is_valid(url, scheme or "https://", host):
            continue
        if scheme is None:
            if before and before[-1] in "-_./":
                continue
            found = [(start + m.start(), start + m.end(), m.group(0))
                     for m in OLD_ASCII_DOMAIN.finditer(host)]
            if not found:
                continue
            if path:
                found[-1] = (found[-1][0], end, url.replace(host, found[-1][2]))
            spans.extend(found)
        else:
            short = _TCO.match(url)
            if short:
                if len(short.group(1)) > _MAX_TCO_SLUG:
                    continue
                url = short.group(0)
                end = start + len(url)
            spans.append((start, end, url))
    return spans


def old_weighted_length(text: str, emoji_parsing: bool = True) -> int:
    text = _normalise(text)
    urls = {start: len(url) for start, _, url in old_url_entities(text)}
    total, index = 0, 0
    while index < len(text):
        if index in urls:
            total += URL_WEIGHT
            index += urls[index]
            continue
        sequence = _emoji_at(text, index) if emoji_parsing else 0
        if sequence:
            total += 2
            index += sequence
            continue
        char = text[index]
        total += 2 if emoji_parsing and char in _LIGHT_EMOJI else _weight(char)
        index += 1
    return total


# --- Random text ---------------------------------------------------------------------------

_pieces = st.one_of(
    st.text(alphabet="abcxyzKS0129", min_size=1, max_size=8),
    st.text(alphabet="日本語のテスト。、漢字한국어", min_size=1, max_size=30),
    st.sampled_from([
        " ", "\n", ".", "..", ",", "-", "_", "/", ":", "://", "@", "#", "$", "(", ")", "?",
        "=", "&", "!", "'", "…", "。", "\u3000", "\u200b", "\u00ad", "\u202e", "\ufeff",
        "https://", "http://", "HTTPS://", "http\u017f://", "www.", "com", ".com", ".co",
        ".jp", ".COM", ".c\u006fm", ".\u0441\u0430\u0439\u0442", ".рф", ".РФ", ".みんな",
        ".コム", ".닷컴", ".ελ", ".xn--p1ai", ".xn--", "xn--wgv71a119e.jp", ".txt", ".museum",
        ".community", ".co.uk", ".org.", "example.com", "x.com", "t.co/abc", "bit.ly/x",
        "a_b.com", "_a.com", "a-.com", "-a.com", "a.b_c.com", "a.com.jp", "a.com.xyzfoo",
        "日本.jp", "例え.テスト", "\u212a", "\u0130", "\u0131", "\u017f", "/path", "/a_(b)",
        "?q=1&r=2", ":8080", "😷", "👍🏾", "🇯🇵", "1️⃣", "👨‍👩‍👧‍👦", "©", "a" * 64 + ".com",
        "\ufe0f", "\u20e3", "\u200d", "🏻", "🇦", "*", "®", "©\ufe0f", "🏴\U000e0067", "❤",
        "日本語" * 30, "x" * 70, ".a" * 20,
    ]),
)
# Look-alikes an IGNORECASE expression takes for ASCII letters (and upper case).
_LOOKALIKES = {"s": ["S", "\u017f"], "k": ["K", "\u212a"], "i": ["I", "\u0131", "\u0130"]}


@st.composite
def _tlds(draw: st.DrawFn) -> str:
    """A real TLD (a few with look-alike letters), or something that is not one."""
    tld = draw(st.one_of(st.sampled_from(GTLDS.split("|") + CCTLDS.split("|")),
                         st.sampled_from(["txt", "yaml", "xn--p1ai", "xn--", "comm", "c"])))
    if draw(st.booleans()):
        tld = "".join(draw(st.sampled_from([char, *_LOOKALIKES.get(char, [char.upper()])]))
                      for char in tld)
    return tld


_labels = st.one_of(st.text(alphabet="ab0_-日本K\u017f\u00ad", min_size=1, max_size=6),
                    st.sampled_from(["www", "x", "a" * 64, "日本語" * 25]))
_urlish = st.builds(
    lambda scheme, labels, tld, tail: f"{scheme}{'.'.join(labels)}.{tld}{tail}",
    st.sampled_from(["", "", "https://", "http://", "HTTPS://", "http\u017f://", "://", "@"]),
    st.lists(_labels, min_size=1, max_size=4), _tlds(),
    st.sampled_from(["", "", "/", "/path_(x)", "?q=1&r=2", ":8080/a", ".", "-", "x", "日本",
                     "/\u00e9", ".jp", "_"]),
)
_texts = st.lists(st.one_of(_pieces, _urlish), min_size=1, max_size=40).map("".join)


@settings(max_examples=3000, deadline=None)
@given(_texts)
@example("日本語の長い文。" * 40 + "https://example.com/a?b=1" + "です。" * 20 + "3.5版")
@example("a.b.c.d.e.f.g.h.com.i.j")
@example("x@a.com a.com.@b.com #a.com $a.com")
def test_urls_are_found_as_by_the_single_expression(text: str) -> None:
    assert url_entities(text) == old_url_entities(text)
    normal = unicodedata.normalize("NFC", text)
    assert url_entities(normal) == old_url_entities(normal)


@settings(max_examples=1000, deadline=None)
@given(_texts)
def test_weighted_length_is_as_before(text: str) -> None:
    twittertext.weighted_length.cache_clear()
    assert weighted_length(text) == old_weighted_length(text)
    assert weighted_length(text, False) == old_weighted_length(text, False)


@pytest.mark.parametrize("tld", [*GTLDS.split("|")[::7], *CCTLDS.split("|")[::5]])
def test_every_kind_of_tld_is_recognised_as_before(tld: str) -> None:
    for text in (f"see a.{tld} now", f"a.{tld.upper()}/x", f"日本a.{tld}です", f"a.{tld}x"):
        assert url_entities(text) == old_url_entities(text)


_paragraphs = st.lists(st.one_of(_pieces, st.sampled_from(["。", ". ", "! ", " "])),
                       min_size=20, max_size=200).map("".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(_paragraphs, min_size=1, max_size=4), st.booleans())
def test_splitting_gives_the_same_posts_as_before(paragraphs: list[str], numbering: bool,
                                                   ) -> None:
    chunks = [[Block(text) for text in paragraphs]]
    try:
        posts = split_into_posts(chunks, numbering=numbering)
    except Exception as exc:
        posts = exc
    original = split_module.weighted_length
    split_module.weighted_length = old_weighted_length  # type: ignore[assignment]
    try:
        expected = split_into_posts(chunks, numbering=numbering)
    except Exception as exc:
        expected = exc
    finally:
        split_module.weighted_length = original
    if isinstance(expected, Exception):
        assert type(posts) is type(expected) and str(posts) == str(expected)
    else:
        assert posts == expected


def test_counting_never_compiles_the_tld_alternation() -> None:
    """Counting a post with URLs of both kinds compiles no expression holding the TLD
    list (it took ~30 ms at every preview); checked in a fresh interpreter."""
    code = (
        "import re\n"
        "from agent_diary.text.twittertext import weighted_length\n"
        "assert weighted_length('see example.com and https://例え.テスト/x?y=1 日本.jp') > 0\n"
        "print(sum('|zuerich|' in str(key) for key in re._cache))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "0", "the TLD alternation was compiled"


# --- Splitting: stopping early at a cap ----------------------------------------------------

_split_words = st.one_of(
    st.text(alphabet="abcdefgh", min_size=1, max_size=12),
    st.sampled_from(["日本語の文。", "end.", "Why?", "😷", "https://example.com/a", "x.com",
                     "z" * 300, "長" * 200]),
)
_split_blocks = st.builds(
    lambda words, heading: Block(" ".join(words), heading=heading),
    st.lists(_split_words, min_size=1, max_size=60), st.booleans())
_split_chunks = st.lists(st.lists(_split_blocks, min_size=1, max_size=6), min_size=1,
                         max_size=3)


@settings(max_examples=300, deadline=None)
@given(_split_chunks)
def test_a_smaller_limit_never_gives_fewer_posts(chunks: list[list[Block]]) -> None:
    """What lets a numbered split stop at its cap: the later passes reserve more room for
    the numbers (" 9/9", " 99/99", ...), so they cannot end with many fewer posts. Not
    none fewer: a heading and its paragraph that fit in an empty post start one, and with
    a little less room they do not, so the heading joins the post before (found by this
    test: 3 posts at 272, 2 at 270); at most one post fewer for each heading."""
    counts = []
    for limit in (280, 276, 274, 272, 270):
        try:
            counts.append(len(split_module._pack(chunks, limit)))
        except Exception as exc:
            counts.append(type(exc).__name__)
    headings = sum(block.heading and bool(block.text) for chunk in chunks for block in chunk)
    if all(isinstance(count, int) for count in counts):
        assert all(later >= count - headings
                   for index, count in enumerate(counts) for later in counts[index + 1:])
        if not headings:
            assert counts == sorted(counts)


@settings(max_examples=300, deadline=None)
@given(_split_chunks, st.integers(min_value=1, max_value=12), st.booleans())
def test_a_capped_split_gives_the_same_posts_or_stops_past_the_cap(
        chunks: list[list[Block]], cap: int, numbering: bool) -> None:
    try:
        expected = split_into_posts(chunks, numbering=numbering)
    except Exception as exc:
        with pytest.raises(type(exc)):
            split_into_posts(chunks, numbering=numbering, cap=cap)
        return
    try:
        posts = split_into_posts(chunks, numbering=numbering, cap=cap)
    except split_module.TooManyPosts as stop:
        assert stop.cap == cap and len(expected) > cap
    else:
        assert posts == expected


def test_an_entry_far_too_long_is_refused_with_its_size(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "diary")
    repo.write("config.yaml", "thread:\n  max_posts: 2\n")
    body = "".join(f"今日は{n}番目の記録を書いた。Pythonの3.{n % 9}版を試した。"
                   for n in range(10_000))  # ~730 KB: under the size limit
    repo.entry("2026-11-28", f"{body}\n")
    result = repo.run("preview", "--date", "2026-11-28")
    assert result.code == 2, result.stderr
    assert ("diary/2026-11-28.md: the entry (" in result.stderr
            and "characters after the template) needs more than 8 posts, more than "
                "thread.max_posts (2)" in result.stderr)


def test_an_entry_that_fits_exactly_is_not_refused(tmp_path: Path) -> None:
    """Two paragraphs of 280 each make two posts: the blank line between them is in
    neither (the old shortcut counted it, and refused the entry as needing three)."""
    repo = make_repo(tmp_path / "diary")
    repo.write("config.yaml", "thread:\n  max_posts: 2\n")
    repo.entry("2026-11-28", "a" * 280 + "\n\n" + "b" * 280 + "\n")
    result = repo.run("preview", "--date", "2026-11-28")
    assert result.code == 0, result.stderr
    assert "2 posts" in result.stdout
