"""Finding URLs as twitter-text does, in time linear in the text (see twittertext.py).

Found with or without a scheme, valid TLDs only, hosts that survive IDNA encoding, so
`example.com` is a URL and `file.txt` is not; twitter-text's quirks are kept (a URL
without a scheme whose host holds an ASCII domain after other text, t.co slugs).
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right, insort
from collections.abc import Callable, Iterator
from functools import lru_cache

from ._tables import CCTLDS, GTLDS

_MAX_URL_LENGTH = 4096
_MAX_TCO_SLUG = 40

# Character classes of twitter-text's URL grammar.
_PUNCT = r"!'#%&'()*+,\\\-./:;<=>?@\[\]^_{|}~$"
_SPACES = r"\x09-\x0D\x20\x85\xA0\u1680\u180E\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_INVALID = r"\uFFFE\uFEFF\uFFFF"
_DIRECTIONAL = r"\u202A-\u202E\u061C\u200E\u200F\u2066-\u2069"
_LATIN_ACCENTS = (r"\xC0-\xD6\xD8-\xF6\xF8-\xFF\u0100-\u024F\u0253\u0254\u0256\u0257\u0259"
                  r"\u025B\u0263\u0268\u026F\u0272\u0289\u028B\u02BB\u0300-\u036F\u1E00-\u1EFF")
_CYRILLIC = r"\u0400-\u04FF"
_QUERY_CHAR, _QUERY_END = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]", r"[a-z0-9\-_&=#/]"

# The URL grammar is twitter-text's one regular expression, `preceding (scheme)? domain
# (:port)? (/path)? (?query)?` with `domain = subdomain* domain_name TLD` and the TLD an
# alternation of ~1,500 names. That expression costs ~30 ms to compile, and in a long run
# of text without spaces (Japanese) it is tried at every position and reads to the run's
# end each time: quadratic. Here the same grammar is followed by hand: the TLDs are a set
# (looked up after dots only), the labels of each run of host characters are read once,
# and a match is tried only where one can start. Only the small parts stay expressions.
# tests/test_text_scale.py checks the result against the expression, on random text.
_FLAGS = re.IGNORECASE
_SCHEME = re.compile(r"https?://", _FLAGS)
_PRECEDING = re.compile(f"[^a-z0-9@\uFF20$#\uFF03{_INVALID}]|[{_DIRECTIONAL}]", _FLAGS)
_TLD_FOLLOWER = re.compile(r"[0-9a-z@+-]", _FLAGS)  # a TLD must not be followed by one
_PUNYCODE_TLD = re.compile(r"xn--[-0-9a-z]+", _FLAGS)
# A host's characters: label characters (neither punctuation nor space), '_', '-', '.'.
_HOST_RUN = re.compile(
    f"[^{_PUNCT.replace(chr(92) + '-', '').replace('.', '').replace('_', '')}"
    f"{_SPACES}{_INVALID}{_DIRECTIONAL}]+", _FLAGS)
_LABEL_START = re.compile(r"[^_\-]")  # within a host run: a label character
_ASCII_LABEL = re.compile(f"[\\-a-z0-9{_LATIN_ACCENTS}]+", _FLAGS)


@lru_cache(maxsize=1)
def _tail() -> re.Pattern[str]:
    """What follows the domain: port, path, query (all optional, so greedy and final)."""
    path_char = f"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\\[\\]\\-\u2013_~@|&{_LATIN_ACCENTS}]"
    parens = f"\\((?:{path_char}+|{path_char}*\\({path_char}+\\){path_char}*)\\)"
    path_end = f"(?:[+\\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|{parens})"
    path = f"(?:{path_char}*(?:{parens}{path_char}*)*{path_end}|@{path_char}+/)"
    return re.compile(f"(?::[0-9]+)?(/{path}*)?(?:\\?{_QUERY_CHAR}*{_QUERY_END})?", _FLAGS)


@lru_cache(maxsize=1)
def _case_classes() -> dict[int, int]:
    """The few lower-case letters an IGNORECASE expression also takes for one another
    (s and U+017F long s, i and U+0131 dotless i, ...), each mapped to the smallest of its
    class. From the table `re` itself uses (Python ≥ 3.11), a private module: without it
    a TLD with one of these letters would quietly be found or missed unlike twitter-text's
    expression, so a Python that moved it fails here, on the first non-ASCII look-up."""
    try:
        from _sre import unicode_tolower  # noqa: F401 - _fold needs it too
        from re._casefix import _EXTRA_CASES
    except ImportError as exc:
        raise RuntimeError(f"this Python ({sys.version.split()[0]}) has no re._casefix "
                           "table or _sre.unicode_tolower, which counting URLs relies on to "
                           "fold case as re does; use Python 3.11 to 3.13, or port "
                           f"agent_diary/text/urlscan.py ({exc})") from None
    return {low: min(low, *others) for low, others in _EXTRA_CASES.items()}


@lru_cache(maxsize=1)
def _tld_table() -> tuple[dict[str, int], tuple[int, ...], str]:
    """(folded TLD → its place in twitter-text's alternation, the TLD lengths, the
    characters a TLD can start with): gTLDs first, then ccTLDs, as the expression."""
    table: dict[str, int] = {}
    for rank, tld in enumerate((*GTLDS.split("|"), *CCTLDS.split("|"))):
        table.setdefault(_fold(tld), rank)
    return table, tuple(sorted({len(tld) for tld in table})), "".join(
        sorted({tld[0] for tld in table} | {"x"}))


def _fold(text: str) -> str:
    """Two strings fold alike exactly when an IGNORECASE expression takes one for the
    other (character by character: simple lower case, then the classes above)."""
    if text.isascii():
        return text.lower()
    classes = _case_classes()
    from _sre import unicode_tolower

    return "".join(chr(classes.get(low, low))
                   for low in (unicode_tolower(ord(char)) for char in text))


@lru_cache(maxsize=1)
def _tld_site() -> re.Pattern[str]:
    """A dot followed by a character some TLD starts with: the only places a domain ends."""
    starts = "".join(re.escape(char) for char in _tld_table()[2])
    return re.compile(f"\\.(?=[{starts}])", _FLAGS)


def _tld_at(text: str, site: int) -> int:
    """The length of the TLD twitter-text's alternation takes at `site` (0: none): the
    first one in its order not followed by [0-9a-z@+-], else xn--[-0-9a-z]+."""
    table, lengths, _ = _tld_table()
    folded = _fold(text[site:site + lengths[-1]])
    best, found = len(table), 0
    for length in lengths:
        if length > len(folded):
            break
        rank = table.get(folded[:length])
        if rank is not None and rank < best and not _TLD_FOLLOWER.match(text, site + length):
            best, found = rank, length
    if found:
        return found
    punycode = _PUNYCODE_TLD.match(text, site)
    return punycode.end() - site if punycode else 0


def _deepest_tlds(count: int, opens: Callable[[int], bool], links: Callable[[int], bool],
                  has_tld: Callable[[int], bool]) -> list[int]:
    r"""For each of `count` labels (and -1 past the last), the deepest label a chain from
    it reaches whose dot is followed by a TLD (-1: none). The expression's
    `(label\.)* label\. TLD` takes as many labels as it can, so a domain ends at the
    deepest TLD along such a chain. `opens(q)`: label q ends at a dot and may be in a
    chain; `links(q)`: the label after q starts right after that dot (continues it);
    `has_tld(q)`: label q can be the last, a TLD right after its dot."""
    deepest = [-1] * (count + 1)
    for q in range(count - 1, -1, -1):
        if opens(q):
            deepest[q] = deepest[q + 1] if links(q) and deepest[q + 1] >= 0 else \
                q if has_tld(q) else -1
    return deepest


class _HostRun:
    """One run of host characters, text[start:end], cut into its dot-separated labels.

    A domain starting at d is `subdomain* domain_name TLD`: labels each ending at a dot,
    made of label characters, '_' and '-', starting and ending with a label character;
    the last one (domain_name) without '_'; then a TLD right after its dot. The
    expression takes as many subdomains as it can, so the domain ends at the deepest
    TLD the chain of labels reaches: `deepest[q]` is that label for a chain starting at
    label q's start (-1: none).
    """

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text, self.start, self.end = text, start, end
        starts, ends = [start], []
        dot = text.find(".", start, end)
        while dot != -1:
            ends.append(dot)
            starts.append(dot + 1)
            dot = text.find(".", dot + 1, end)
        ends.append(end)
        self.starts, self.ends = starts, ends
        count = len(starts)
        # Label q can end a subdomain or domain name: it ends at a dot, with a label char.
        self.closed = [q < count - 1 and ends[q] > starts[q] and text[ends[q] - 1] not in "_-"
                       for q in range(count)]
        self.tld = [_tld_at(text, ends[q] + 1) if self.closed[q] else 0 for q in range(count)]
        self.underscore = [text.rfind("_", starts[q], ends[q]) for q in range(count)]
        # The labels of a run follow one another, dot by dot.
        self.deepest = _deepest_tlds(
            count, lambda q: self.closed[q] and text[starts[q]] not in "_-",
            lambda q: True, lambda q: bool(self.tld[q]) and self.underscore[q] < 0)
        self.live = any(self.tld)

    def _label(self, index: int) -> int:
        return bisect_right(self.starts, index) - 1

    def domain_end(self, index: int) -> int:
        """Where the domain starting at `index` ends (0: no domain starts there)."""
        if self.text[index] in "._-":
            return 0
        q = self._label(index)
        if not self.closed[q]:
            return 0
        deeper = self.deepest[q + 1]
        if deeper >= 0:
            return self.ends[deeper] + 1 + self.tld[deeper]
        if self.tld[q] and index > self.underscore[q]:  # a domain name holds no '_'
            return self.ends[q] + 1 + self.tld[q]
        return 0

    def next_domain(self, low: int) -> int | None:
        """The first index ≥ `low` at which a domain starts."""
        q = max(0, self._label(low))
        while q < len(self.starts):
            first, end = max(low, self.starts[q]), self.ends[q]
            if self.closed[q] and first < end:
                if self.deepest[q + 1] < 0:  # only this label's own TLD: after any '_'
                    first = max(first, self.underscore[q] + 1) if self.tld[q] else end
                char = _LABEL_START.search(self.text, first, end)
                if char:
                    return char.start()
            q += 1
        return None


class _UrlScanner:
    """Every match of twitter-text's URL expression in a text, in order (as finditer)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.reversed = text[::-1]
        self.runs: dict[int, _HostRun] = {}
        self.run_starts: list[int] = []

    def run_at(self, index: int) -> _HostRun | None:
        """The run of host characters holding `index` (None: not a host character)."""
        at = bisect_right(self.run_starts, index) - 1
        if at >= 0:
            run = self.runs[self.run_starts[at]]
            if index < run.end:
                return run
        forward = _HOST_RUN.match(self.text, index)
        if not forward:
            return None
        back = _HOST_RUN.match(self.reversed, len(self.text) - index)
        start = index - (len(back.group()) if back else 0)
        run = _HostRun(self.text, start, forward.end())
        self.runs[start] = run
        insort(self.run_starts, start)
        return run

    def domain_end(self, index: int) -> int:
        if index >= len(self.text):
            return 0
        run = self.run_at(index)
        return run.domain_end(index) if run else 0

    def attempt(self, start: int) -> tuple[str | None, int, int] | None:
        """(scheme, host start, host end) of a URL starting at `start`."""
        scheme = _SCHEME.match(self.text, start)
        if scheme:
            end = self.domain_end(scheme.end())
            if end:
                return scheme.group(), scheme.end(), end
        end = self.domain_end(start)
        return (None, start, end) if end else None

    def match_at(self, index: int) -> tuple[str, str, str | None, str, str | None, int] | None:
        """The expression's match at `index` as (preceding, url, scheme, host, path, end):
        one preceding character, else the start of the text."""
        text = self.text
        found, before = None, ""
        if index < len(text) and _PRECEDING.match(text, index):
            found, before = self.attempt(index + 1), text[index]
        if found is None and index == 0:
            found, before = self.attempt(0), ""
        if found is None:
            return None
        scheme, host_start, host_end = found
        tail = _tail().match(text, host_end)
        url_start = host_start - len(scheme or "")
        return (before, text[url_start:tail.end()], scheme, text[host_start:host_end],
                tail.group(1), tail.end())

    def live_runs(self) -> Iterator[_HostRun]:
        """The runs holding a TLD after a dot, in order: no URL is anywhere else."""
        end = 0
        for site in _tld_site().finditer(self.text):
            if site.start() < end:
                continue
            run = self.run_at(site.start())
            assert run is not None  # a dot is a host character
            end = run.end
            if run.live:
                yield run

    def scheme_before(self, run: _HostRun) -> int | None:
        """Where a scheme ending right at the run's start begins."""
        start = run.start
        if self.text[max(0, start - 3):start] != "://":
            return None
        for begin in (start - 8, start - 7):
            scheme = _SCHEME.match(self.text, begin) if begin >= 0 else None
            if scheme and scheme.end() == start:
                return begin
        return None

    def matches(self) -> Iterator[tuple[str, str, str | None, str, str | None, int]]:
        """As finditer: the leftmost match at or after the end of the one before. A match
        starts one character before its URL (or at 0): before a domain of a live run,
        or before a scheme right in front of one."""
        position = 0
        for run in self.live_runs():
            if run.end <= position:
                continue
            begin = self.scheme_before(run)
            if begin is not None and max(begin - 1, 0) >= position and run.domain_end(run.start):
                found = self.match_at(max(begin - 1, 0))
                if found:
                    yield found
                    position = found[-1]
            low = max(run.start, position + 1 if position else 0)
            while (domain := run.next_domain(low)) is not None:
                found = self.match_at(max(domain - 1, 0))
                if found:
                    yield found
                    position = found[-1]
                    low = max(low, position + 1)
                else:
                    low = domain + 1


def _ascii_domains(host: str) -> list[tuple[int, int, str]]:
    """(start, end, domain) as finditer of `(?:[-a-z0-9accents]+\\.)+TLD` over `host`:
    runs of those characters, each ending at a dot, then the deepest TLD they reach."""
    labels = [(m.start(), m.end()) for m in _ASCII_LABEL.finditer(host)]
    count = len(labels)
    deepest = _deepest_tlds(
        count, lambda q: host[labels[q][1]:labels[q][1] + 1] == ".",
        lambda q: q + 1 < count and labels[q + 1][0] == labels[q][1] + 1,
        lambda q: bool(_tld_at(host, labels[q][1] + 1)))
    found: list[tuple[int, int, str]] = []
    position = 0
    for q, (start, end) in enumerate(labels):
        if end <= position or deepest[q] < 0:
            continue
        first = max(start, position)
        site = labels[deepest[q]][1] + 1
        last = site + _tld_at(host, site)
        found.append((first, last, host[first:last]))
        position = last
    return found


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
    for before, url, scheme, host, path, end in _UrlScanner(text).matches():
        start = end - len(url)
        if not _host_is_valid(url, scheme or "https://", host):
            continue
        if scheme is None:
            # Without a scheme only ASCII domains count, and not right after -_./ .
            if before and before[-1] in "-_./":
                continue
            found = [(start + first, start + last, domain)
                     for first, last, domain in _ascii_domains(host)]
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
