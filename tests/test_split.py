"""Splitting into posts: every post valid, nothing lost or reordered, words never cut."""

from __future__ import annotations

import re

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_diary.text.entry import MediaRef
from agent_diary.text.render import Block, markdown_to_chunks
from agent_diary.text.split import split_into_posts
from agent_diary.text.twittertext import is_valid as is_valid_post
from agent_diary.text.twittertext import weighted_length

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


# --- a heading stays with what follows it ----------------------------------------------

def test_a_heading_moves_to_the_post_of_its_paragraph() -> None:
    first = "An opening paragraph that fills most of a post. " + "word " * 40
    second = "The paragraph the heading introduces, which fits with it. " + "more " * 20
    posts = split_into_posts(markdown_to_chunks(f"{first}\n\n## Next\n\n{second}\n"))
    assert [p.text for p in posts] == [first.strip(), f"Next\n\n{second.strip()}"]


def test_a_heading_goes_with_the_first_sentence_of_a_paragraph_longer_than_a_post() -> None:
    first = "word " * 45  # most of a post
    long = " ".join(f"Sentence number {i} goes on for a while to fill some space."
                    for i in range(8))
    posts = split_into_posts(markdown_to_chunks(f"{first}\n\n## Next\n\n{long}\n"))
    assert posts[0].text == first.strip()
    assert posts[1].text.startswith("Next\n\nSentence number 0")


def test_a_run_of_headings_moves_with_the_paragraph_after_it() -> None:
    first = "word " * 50
    posts = split_into_posts(markdown_to_chunks(
        f"{first}\n\n# Part two\n\n## Next\n\nContent {'more ' * 30}\n"))
    assert posts[0].text == first.strip()
    assert posts[1].text.startswith("Part two\n\nNext\n\nContent")


def test_a_heading_too_long_to_share_a_post_with_its_paragraph_splits_as_usual() -> None:
    paragraph = "word " * 56  # fits a post alone, not with the heading before it
    posts = split_into_posts(markdown_to_chunks(f"Intro.\n\n## Next\n\n{paragraph}\n"))
    assert [p.text for p in posts] == ["Intro.\n\nNext", paragraph.strip()]


def test_a_heading_at_the_end_of_an_explicit_post_stays_there() -> None:
    posts = split_into_posts(markdown_to_chunks("Text.\n\n## Last\n\n---\n\nNext post.\n"))
    assert [p.text for p in posts] == ["Text.\n\nLast", "Next post."]


_plain_words = st.one_of(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12),
    st.sampled_from(["日本語", "😷", "café", "end.", "Why?", "Ok!"]),
)
_heading = st.lists(_plain_words, min_size=1, max_size=8).map(" ".join)
_markdown_blocks = st.lists(
    st.one_of(st.tuples(st.just(True), _heading),
              st.tuples(st.just(False), st.lists(_plain_words, min_size=1, max_size=70)
                        .map(" ".join))),
    min_size=1, max_size=12)


def _group_length(blocks: list[tuple[bool, str]], index: int) -> int:
    """The weighted length of the run of headings holding block `index`, together with
    the block after the run: what must share a post for no heading to end one."""
    start = index
    while start > 0 and blocks[start - 1][0]:
        start -= 1
    end = index
    while end < len(blocks) - 1 and blocks[end][0]:
        end += 1
    return weighted_length("\n\n".join(text for _, text in blocks[start:end + 1]))


@settings(max_examples=200, deadline=None)
@given(_markdown_blocks)
def test_no_post_ends_with_a_heading_that_has_a_successor(
        blocks: list[tuple[bool, str]]) -> None:
    markdown = "\n\n".join(f"## {text}" if heading else text for heading, text in blocks)
    posts = split_into_posts(markdown_to_chunks(markdown))
    assert _non_space("".join(p.text for p in posts)) == \
        _non_space("".join(text for _, text in blocks))
    block_ends, total = {}, 0
    for index, (_, text) in enumerate(blocks):
        total += len(_non_space(text))
        block_ends[total] = index
    total = 0
    for post in posts[:-1]:
        total += len(_non_space(post.text))
        index = block_ends.get(total)
        if index is None or not blocks[index][0] or index == len(blocks) - 1:
            continue
        # Allowed only when the heading and what follows cannot fit in any post.
        assert _group_length(blocks, index) > 280, (post.text, blocks[index])
