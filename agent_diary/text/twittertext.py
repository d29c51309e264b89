"""The weighted length of a post by the twitter-text v3 rules, which X applies.

Code points in 0-4351, 8192-8205, 8208-8223 and 8242-8247 weigh 1, all others 2; an
emoji sequence weighs 2 as a whole; every URL weighs 23; the text is NFC-normalised.
URLs are found the way twitter-text finds them (with or without a scheme, valid TLDs
only, hosts that survive IDNA encoding; urlscan.py), so `example.com` counts 23 and
`file.txt` 8.

Why not twitter-text-parser, which passes the same conformance cases: importing it
takes about 0.5 s on every start (it parses the Unicode emoji list and compiles very
large regular expressions), three times `preview`'s whole start-up budget, and it
imports pkg_resources, which setuptools 81 removed and Python 3.12 venvs lack. It stays
as the oracle in the tests, and its data (the TLD lists, the Unicode 12 emoji sequences)
is generated into _tables.py by tools/gen_tables.py. Emoji sequences newer than that
list are counted code point by code point, as there: over-counted, so a post is split
earlier, never rejected.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from ._tables import EMOJI_SEQUENCES
from .urlscan import _INVALID, url_entities, url_spans  # the URL finder

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
# The only single-code-point emoji whose code point would otherwise weigh 1.
_LIGHT_EMOJI = "\u00a9\u00ae"


@lru_cache(maxsize=1)
def _emoji_sequences() -> tuple[frozenset[str], frozenset[str], int]:
    """(sequences, their first characters, the longest length)."""
    sequences = frozenset(EMOJI_SEQUENCES.split("|"))
    return sequences, frozenset(s[0] for s in sequences), max(map(len, sequences))


def _normalise(text: str) -> str:
    return re.sub(r"\r\n|\r", "\n", unicodedata.normalize("NFC", text))


def _weight(char: str) -> int:
    code = ord(char)
    return 1 if any(low <= code <= high for low, high in _LIGHT_RANGES) else 2


def _emoji_at(text: str, index: int) -> int:
    """Length of the longest listed emoji sequence starting at `index` (0 if none), the
    way twitter-text's longest-first alternation of the list matches."""
    sequences, starters, longest = _emoji_sequences()
    if text[index] not in starters:
        return 0
    for length in range(min(longest, len(text) - index), 1, -1):
        if text[index:index + length] in sequences:
            return length
    return 0


# Runs of code points that weigh 2 (the complement of _LIGHT_RANGES).
_HEAVY_RUN = re.compile("[^\x00-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]+")


@lru_cache(maxsize=1)
def _emoji_hints() -> re.Pattern[str]:
    """© ®, which weigh 2 on their own, and the characters listed emoji sequences have
    second: a sequence can start only right before one. As ranges (a search through a
    class of ranges is fast; one through the ~350 first characters is slow)."""
    sequences, _, _ = _emoji_sequences()
    codes = sorted({ord(sequence[1]) for sequence in sequences if len(sequence) > 1})
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    listed = "".join(re.escape(chr(low)) + ("-" + re.escape(chr(high)) if high > low else "")
                     for low, high in ranges)
    return re.compile(f"[{re.escape(_LIGHT_EMOJI)}{listed}]")


def _plain_weight(text: str, start: int, end: int) -> int:
    """text[start:end] with no emoji sequence in it: 1 a code point, 2 for heavy ones."""
    return end - start + sum(map(len, _HEAVY_RUN.findall(text, start, end)))


def _weigh(text: str, start: int, end: int, emoji_parsing: bool) -> tuple[int, int]:
    """The weight of text[start:end] as counted from `start` character by character, and
    where that count stands after it: past `end` when an emoji sequence runs over it."""
    if not emoji_parsing:
        return _plain_weight(text, start, end), end
    total, index, cursor = 0, start, start
    hints, limit = _emoji_hints(), min(len(text), end + 1)  # +1: a second char at `end`
    while index < end:
        hint = hints.search(text, cursor, limit)
        if hint is None:
            break
        cursor = hint.start() + 1
        at = hint.start() - (text[hint.start()] not in _LIGHT_EMOJI)
        if at < index:
            continue
        if at >= end:
            break
        total += _plain_weight(text, index, at)
        sequence = _emoji_at(text, at)
        total += 2 if sequence or text[at] in _LIGHT_EMOJI else _weight(text[at])
        index = at + (sequence or 1)
        cursor = max(cursor, index)
    if index >= end:
        return total, index
    return total + _plain_weight(text, index, end), end


@lru_cache(maxsize=4096)
def weighted_length(text: str, emoji_parsing: bool = True) -> int:
    """`emoji_parsing=False` is twitter-text's v2 rules, only for its v2 conformance cases.

    As twitter-text walks the text: a URL where one starts weighs 23, else the longest
    listed emoji sequence 2, else the code point its weight. The stretches between URLs
    are weighed a run at a time, and only where an emoji sequence can start one by one."""
    text = _normalise(text)
    total, index = 0, 0
    for start, _, url in url_entities(text):
        if start < index:  # inside an emoji sequence that ran over it: never seen
            continue
        weight, index = _weigh(text, index, start, emoji_parsing)
        total += weight
        if index == start:
            total += URL_WEIGHT
            index += len(url)
    weight, index = _weigh(text, index, len(text), emoji_parsing)
    return total + weight


def is_valid(text: str, emoji_parsing: bool = True) -> bool:
    """Non-empty, at most 280 weighted, and free of the characters X refuses."""
    return 0 < weighted_length(text, emoji_parsing) <= MAX_WEIGHTED_LENGTH and not re.search(
        f"[{_INVALID}]", _normalise(text))


def has_url(text: str) -> bool:
    return bool(url_spans(_normalise(text)))
