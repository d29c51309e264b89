"""Our counter against the reference implementation (twitter-text-parser, test-only).

The conformance cases pin the rules; this compares the two counters on generated text
made of the pieces diary posts are made of: prose, CJK, accents, punctuation, URLs with
and without a scheme, hosts of every length, and emoji that the Unicode-12 table of the
reference knows, and pieces that look like emoji but are not listed.
"""

from __future__ import annotations

import unicodedata
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_diary.text.twittertext import has_url, url_spans, weighted_length

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    twitter_text = pytest.importorskip("twitter_text", reason="the test extra is not installed")

_pieces = st.one_of(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789", min_size=1, max_size=15),
    st.sampled_from([
        " ", "  ", "\n", "\r\n", ".", ",", "-", "_", "/", "@", "#", "$", "(", ")", "?", "!",
        "…", "—", "’", "•", "©", "™", "日本語", "한국어", "café", "e\u0301", "Ωμέγα", "Привет",
        "https://", "http://", "www.", "example.com", "x.com", ".com", ".co", ".jp", ".txt",
        ".yaml", "t.co/abc", "bit.ly/x", "/path", "?q=1&r=2", "xn--wgv71a119e.jp", "日本.jp",
        "https://example.com/a_(b)", "mailto:", "a" * 64 + ".com", "😷", "👍🏾", "🇯🇵", "1️⃣",
        "👨‍👩‍👧‍👦", "❤️", "🏴󠁧󠁢󠁥󠁮󠁧󠁿", "\u200d", "\ufe0f",
    ]),
)
_texts = st.lists(_pieces, min_size=1, max_size=30).map("".join)


def _reference(text: str) -> int:
    return twitter_text.parse_tweet(text).weightedLength


@settings(max_examples=1500, deadline=None)
@given(_texts)
def test_agrees_with_the_reference_counter(text: str) -> None:
    assert weighted_length(text) == _reference(text)
    # URLs are looked for in the NFC form, as the counting does.
    assert has_url(text) == bool(twitter_text.extract_urls(unicodedata.normalize("NFC", text)))


@pytest.mark.parametrize(("text", "expected"), [
    ("See example.com today", 4 + 23 + 6),
    ("config.yaml and file.txt are not URLs", 37),
    ("https://docs.x.com/x-api/posts/create-post?x=1 ok", 23 + 3),
    ("ends with a URL https://example.com.", 16 + 23 + 1),
    # Found by the property test: twitter-text counts 本.jp/ again after the URL.
    ("example.com日本.jp/", 23 + 2 + 4),
])
def test_examples(text: str, expected: int) -> None:
    assert weighted_length(text) == expected == _reference(text)


def test_newer_emoji_sequences_are_over_counted_never_under() -> None:
    # Unicode 14's "handshake: light skin tone, dark skin tone" is one emoji (2) on an
    # up-to-date counter; code point by code point it is 9: safe, the post splits earlier.
    assert weighted_length("\U0001FAF1\U0001F3FC\u200d\U0001FAF2\U0001F3FF") == 9
    assert weighted_length("\u00a9\u200d\u00a9") == 5  # not an emoji sequence at all


def test_url_spans_are_positions() -> None:
    text = "a https://x.com/b c"
    assert [text[s:e] for s, e in url_spans(text)] == ["https://x.com/b"]
