"""Splitting into posts: every post valid, nothing lost or reordered, words never cut."""

from __future__ import annotations

import re

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_diary.entry import MediaRef
from agent_diary.render import Block, markdown_to_chunks
from agent_diary.split import split_into_posts
from agent_diary.twittertext import is_valid as is_valid_post
from agent_diary.twittertext import weighted_length

_words = st.one_of(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12),
    st.sampled_from(["日本語", "今日は", "😷", "👨‍👩‍👧‍👦", "🇯🇵", "👍🏾", "café", "naïve",
                     "https://example.com/a/b?c=d", "x.com", "e.g.", "end.", "Why?", "Ok!",
                     "—", "1/2", "#tag", "@user", "a\u0301"]),
)
_sentence = st.lists(_words, min_size=1, max_size=40).map(" ".join)
_paragraph = st.lists(_sentence, min_size=1, max_size=6).map(" ".join)
_chunks = st.lists(st.lists(_paragraph, min_size=1, max_size=5), min_size=1, max_size=3)

NUMBERING = re.compile(r" \d+/\d+$")


def _blocks(chunks: list[list[str]]) -> list[list[Block]]:
    return [[Block(text) for text in chunk] for chunk in chunks]


def _non_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


@settings(max_examples=150, deadline=None)
@given(_chunks, st.booleans())
def test_posts_are_valid_and_lose_nothing(chunks: list[list[str]], numbering: bool) -> None:
    posts = split_into_posts(_blocks(chunks), numbering=numbering)
    for post in posts:
        assert weighted_length(post.text) <= 280
        assert is_valid_post(post.text)
    texts = [NUMBERING.sub("", p.text) if numbering else p.text for p in posts]
    if numbering:
        assert all(p.text.endswith(f" {i}/{len(posts)}") for i, p in enumerate(posts, 1))
    original = [text for chunk in chunks for text in chunk]
    assert _non_space("".join(texts)) == _non_space("".join(original))
    # No word is cut: these words are all shorter than a post.
    assert " ".join(texts).split() == " ".join(original).split()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["x", "日", "😷", "👨‍👩‍👧‍👦", "e\u0301", "🇯🇵"]),
                min_size=150, max_size=600).map("".join))
def test_an_over_long_token_is_cut_at_grapheme_boundaries(token: str) -> None:
    posts = split_into_posts([[Block(token)]])
    assert "".join(p.text for p in posts) == token
    assert all(weighted_length(p.text) <= 280 for p in posts)
    graphemes = regex.findall(r"\X", token)
    assert [g for p in posts for g in regex.findall(r"\X", p.text)] == graphemes


def test_short_paragraphs_share_a_post_and_a_long_one_starts_fresh() -> None:
    short, fits_alone = "A short paragraph.", "word " * 50
    posts = split_into_posts([[Block(short), Block(short), Block(fits_alone.strip())]])
    assert [p.text for p in posts] == [f"{short}\n\n{short}", fits_alone.strip()]


def test_a_paragraph_longer_than_a_post_splits_at_sentence_ends() -> None:
    sentence = "This sentence is about sixty characters long, give or take."
    posts = split_into_posts([[Block(" ".join([sentence] * 8))]])
    assert len(posts) == 2
    assert all(p.text.endswith("take.") and p.text.startswith("This") for p in posts)


def test_explicit_chunks_always_start_a_new_post() -> None:
    posts = split_into_posts([[Block("one")], [Block("two")]])
    assert [p.text for p in posts] == ["one", "two"]


def test_inline_images_attach_to_the_post_they_stand_in() -> None:
    image = MediaRef("media/b.png", "second")
    first = "First paragraph " + "word " * 50
    chunks = markdown_to_chunks(f"{first}\n\nSecond paragraph ![second](media/b.png) ends.\n")
    posts = split_into_posts(chunks)
    assert [p.media for p in posts] == [(), (image,)]
    assert posts[1].text == "Second paragraph ends."


def test_an_image_on_its_own_line_goes_with_the_post_before() -> None:
    chunks = markdown_to_chunks("Some text.\n\n![alt](media/a.png)\n")
    posts = split_into_posts(chunks)
    assert len(posts) == 1 and posts[0].media == (MediaRef("media/a.png", "alt"),)


def test_numbering_width_grows_with_the_count() -> None:
    chunks = [[Block("word " * 50)] for _ in range(12)]
    posts = split_into_posts([[Block(c[0].text.strip())] for c in chunks], numbering=True)
    assert len(posts) == 12 and posts[-1].text.endswith(" 12/12")
    assert all(weighted_length(p.text) <= 280 for p in posts)
