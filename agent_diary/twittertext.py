"""The weighted length of a post by the twitter-text v3 rules, which X applies.

Code points in 0-4351, 8192-8205, 8208-8223 and 8242-8247 weigh 1, all others 2; an
emoji sequence weighs 2 as a whole; every URL weighs 23; the text is NFC-normalised.
URLs are found the way twitter-text finds them (with or without a scheme, valid TLDs
only, hosts that survive IDNA encoding), so `example.com` counts 23 and `file.txt` 8.

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

from ._tables import CCTLDS, EMOJI_SEQUENCES, GTLDS

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_MAX_URL_LENGTH = 4096
_MAX_TCO_SLUG = 40
# The only single-code-point emoji whose code point would otherwise weigh 1.
_LIGHT_EMOJI = "\u00a9\u00ae"

# Character classes of twitter-text's URL grammar.
_PUNCT = r"!'#%&'()*+,\\\-./:;<=>?@\[\]^_{|}~$"
_SPACES = r"\x09-\x0D\x20\x85\xA0\u1680\u180E\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_INVALID = r"\uFFFE\uFEFF\uFFFF"
_DIRECTIONAL = r"\u202A-\u202E\u061C\u200E\u200F\u2066-\u2069"
_LATIN_ACCENTS = (r"\xC0-\xD6\xD8-\xF6\xF8-\xFF\u0100-\u024F\u0253\u0254\u0256\u0257\u0259"
                  r"\u025B\u0263\u0268\u026F\u0272\u0289\u028B\u02BB\u0300-\u036F\u1E00-\u1EFF")
_CYRILLIC = r"\u0400-\u04FF"


@lru_cache(maxsize=1)
def _emoji_sequences() -> tuple[frozenset[str], frozenset[str], int]:
    """(sequences, their first characters, the longest length)."""
    sequences = frozenset(EMOJI_SEQUENCES.split("|"))
    return sequences, frozenset(s[0] for s in sequences), max(map(len, sequences))


_TLD_END = "(?=[^0-9a-z@+-]|$)"
_TLD = f"(?:(?:{GTLDS}){_TLD_END}|(?:{CCTLDS}){_TLD_END}|xn--[-0-9a-z]+)"
_QUERY_CHAR, _QUERY_END = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]", r"[a-z0-9\-_&=#/]"


@lru_cache(maxsize=1)
def _url_pattern() -> re.Pattern[str]:
    """Compiled on first use (about 30 ms, mostly the TLD list): `--help` never pays."""
    char = f"[^{_PUNCT}{_SPACES}{_INVALID}{_DIRECTIONAL}]"
    subdomain = f"(?:(?:{char}(?:[_-]|{char})*)?{char}\\.)"
    domain_name = f"(?:(?:{char}(?:-|{char})*)?{char}\\.)"
    domain = f"(?:{subdomain}*{domain_name}{_TLD})"
    path_char = f"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\\[\\]\\-\u2013_~@|&{_LATIN_ACCENTS}]"
    parens = f"\\((?:{path_char}+|{path_char}*\\({path_char}+\\){path_char}*)\\)"
    path_end = f"(?:[+\\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|{parens})"
    path = f"(?:{path_char}*(?:{parens}{path_char}*)*{path_end}|@{path_char}+/)"
    preceding = f"(?:[^a-z0-9@\uFF20$#\uFF03{_INVALID}]|[{_DIRECTIONAL}]|^)"
    return re.compile(
        f"({preceding})((https?://)?({domain})(?::[0-9]+)?(/{path}*)?"
        f"(?:\\?{_QUERY_CHAR}*{_QUERY_END})?)", re.IGNORECASE)


@lru_cache(maxsize=1)
def _ascii_domain_pattern() -> re.Pattern[str]:
    """Only needed for a URL written without a scheme, so compiled only then."""
    return re.compile(f"(?:[\\-a-z0-9{_LATIN_ACCENTS}]+\\.)+{_TLD}", re.IGNORECASE)


_TCO = re.compile(f"^https?://t\\.co/([a-z0-9]+)(?:\\?{_QUERY_CHAR}*{_QUERY_END})?",
                  re.IGNORECASE)


def _host_is_valid(url: str, scheme: str, host: str) -> bool:
    """IDNA-encodable (labels ≤ 63 after punycode) and not over-long, as twitter-text."""
    try:
        encoded = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return bool(encoded) and len(scheme) + len(url) + len(encoded) - len(host) <= _MAX_URL_LENGTH


def url_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every URL twitter-text would find in `text`."""
    return [(start, end) for start, end, _ in url_entities(text)]


def url_entities(text: str) -> list[tuple[int, int, str]]:
    """(start, end, url) as twitter-text extracts them. For a URL without a scheme whose
    host holds an ASCII domain after other text (`example.com日本.jp/`), twitter-text keeps
    the whole span but shortens the url to that domain and the path; counting then skips
    only the url's length, so the rest is counted again as text. X counts it that way."""
    if "." not in text:
        return []
    spans: list[tuple[int, int, str]] = []
    for match in _url_pattern().finditer(text):
        before, url, scheme, host, path = match.group(1, 2, 3, 4, 5)
        end = match.end()
        start = end - len(url)
        if not _host_is_valid(url, scheme or "https://", host):
            continue
        if scheme is None:
            # Without a scheme only ASCII domains count, and not right after -_./ .
            if before and before[-1] in "-_./":
                continue
            found = [(start + m.start(), start + m.end(), m.group(0))
                     for m in _ascii_domain_pattern().finditer(host)]
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


@lru_cache(maxsize=4096)
def weighted_length(text: str, emoji_parsing: bool = True) -> int:
    """`emoji_parsing=False` is twitter-text's v2 rules, only for its v2 conformance cases."""
    text = _normalise(text)
    urls = {start: len(url) for start, _, url in url_entities(text)}
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


def is_valid(text: str, emoji_parsing: bool = True) -> bool:
    """Non-empty, at most 280 weighted, and free of the characters X refuses."""
    return 0 < weighted_length(text, emoji_parsing) <= MAX_WEIGHTED_LENGTH and not re.search(
        f"[{_INVALID}]", _normalise(text))


def has_url(text: str) -> bool:
    return bool(url_spans(_normalise(text)))
