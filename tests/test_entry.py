"""Parsing and validating entries, and the surgical front-matter write (property-tested)."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_diary.errors import AgentDiaryError, InputError
from agent_diary.text.entry import Entry, parse_entry, with_tweet_ids

DATE = dt.date(2026, 11, 28)


def parse(text: str):
    return parse_entry(text, DATE, "diary/2026-11-28.md")


def test_full_entry() -> None:
    entry = parse('---\ntitle: One key pair\nstatus: ready\ntemplate: thread\ntime: "18:30"\n'
                  "tags: [security, oauth]\nmedia:\n  - path: media/a.png\n    alt: A shot\n"
                  "---\nBody text.\n")
    assert (entry.title, entry.status, entry.template, entry.time) == \
        ("One key pair", "ready", "thread", "18:30")
    assert entry.tags == ("security", "oauth")
    assert entry.media[0].path == "media/a.png" and entry.media[0].alt == "A shot"
    assert entry.body == "Body text." and not entry.posted


def test_defaults_without_front_matter() -> None:
    entry = parse("Just words.\n")
    assert entry.status == "ready" and entry.title is None and entry.body == "Just words."


@pytest.mark.parametrize(("text", "fragment"), [
    ("---\ntitle: [unclosed\n---\nBody\n", "not valid YAML (line 3)"),
    ("---\ntitle: x\nBody without a closing marker\n", "never closed"),
    ("---\ntitle: x\n---\n\n  \n", "no text after the front matter"),
    ("---\n- a list\n---\nBody\n", "must be a mapping"),
    ("---\nstatus: published\n---\nBody\n", "'status': 'published' is not valid; expected draft"),
    ("---\nstauts: draft\n---\nBody\n", "unknown key 'stauts'"),
    ("---\ndate: 2026-11-27\n---\nBody\n", "disagrees with the file name's date 2026-11-28"),
    ("---\ntime: 18:30\n---\nBody\n", 'quote it: time: "18:30"'),
    ("---\ntime: \"25:00\"\n---\nBody\n", '"HH:MM"'),
    ("---\ntemplate: ../etc/passwd\n---\nBody\n", "not a template name"),
    ("---\nmedia: [{alt: no path}]\n---\nBody\n", "'path' must be a file path"),
    ("---\nmedia: [{path: a.png, size: 3}]\n---\nBody\n", "unknown key 'size'"),
    ("---\nmedia: [{path: a.png, alt: " + "x" * 1001 + "}]\n---\nBody\n", "at most 1000"),
    ("---\ntweet_ids: [abc]\n---\nBody\n", "'tweet_ids'"),
    ("---\ntags: {a: 1}\n---\nBody\n", "'tags'"),
])
def test_invalid_entries_name_file_and_key(text: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        parse(text)
    assert "diary/2026-11-28.md" in info.value.message
    assert fragment in info.value.message
    assert info.value.exit_code == 2


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InputError) as info:
        parse("---\nstatus: nope\ntags: 3\nbogus: 1\n---\nBody\n")
    assert "3 problem(s)" in info.value.message


def test_matching_date_key_is_accepted() -> None:
    assert parse("---\ndate: 2026-11-28\n---\nBody\n").date == DATE


def test_yaml_is_safe_loaded() -> None:
    with pytest.raises(InputError, match="not valid YAML"):
        parse("---\ntitle: !!python/object/apply:os.system ['echo hi']\n---\nBody\n")


@pytest.mark.parametrize(("front", "fragment"), [
    # Walking the aliases of six levels of nine would build a 3.7 MB message.
    ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
     + "".join(f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcde", "bcdef",
                                                                        strict=True))
     + "status: *f\n", "(line 2): YAML anchors (&a) are not allowed"),
    ("title: x\ntags: [a]\nmedia: *m\n", "(line 4): YAML aliases (*m) are not allowed"),
    ("title: 2026-02-30\n", "(line 2): '2026-02-30' is not a valid date"),
    ("title: x\ndate: 2026-13-01\n", "(line 3): '2026-13-01' is not a valid date"),
    ("title: x\ntags: [!!int x]\n", "(line 3): 'x' is not a valid !!int"),
    ("tags: " + "[" * 5000 + "]" * 5000 + "\n",
     "(line 2): lists and mappings nested more than 32 levels"),
])
def test_front_matter_yaml_limits(front: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        parse(f"---\n{front}---\nBody\n")
    assert info.value.message.startswith("diary/2026-11-28.md: the front matter is not "
                                         "valid YAML (line ")
    assert fragment in info.value.message and len(info.value.message) < 500


@pytest.mark.parametrize("front", ['posted_at: "2026-11-28T18:30:04Z"\n',
                                   'posted_at: "2026-11-28T18:30:04Z"\ntweet_ids: []\n'])
def test_posted_at_without_tweet_ids_is_an_input_error(front: str) -> None:
    with pytest.raises(InputError) as info:
        parse(f"---\n{front}---\nBody\n")
    assert "'posted_at'" in info.value.message and "'tweet_ids'" in info.value.message
    assert "written by agent-diary" in info.value.message


def test_publish_refuses_posted_at_without_tweet_ids(repo, emulator) -> None:
    repo.write("diary/2026-11-28.md", '---\nposted_at: "2026-11-28T18:30:04Z"\n---\nBody\n')
    repo.commit()
    result = repo.run("publish", "--date", "2026-11-28", env=emulator.env())
    assert result.code == 2, result.stderr
    assert "'posted_at'" in result.stderr and "'tweet_ids'" in result.stderr
    assert emulator.requests() == 0


def test_write_refuses_non_digit_ids() -> None:
    with pytest.raises(ValueError):
        with_tweet_ids("---\n---\nBody\n", ["12a"], "2026-11-28T00:00:00Z")


def test_write_refuses_what_it_cannot_rewrite_safely() -> None:
    # A flow mapping that already holds the keys cannot be rewritten surgically.
    text = "---\n{title: x, tweet_ids: ['1']}\n---\nBody\n"
    with pytest.raises(InputError):
        with_tweet_ids(text, ["2"], "2026-11-28T00:00:00Z")


def test_write_verifies_its_result() -> None:
    # A top-level key hidden inside a multi-line flow value would be split by a naive
    # insertion; the verification must refuse rather than write a changed file.
    text = "---\ntitle: x\ntags: [a,\n  b]\n---\nBody\n"
    result = with_tweet_ids(text, ["2"], "2026-11-28T00:00:00Z")
    assert yaml.safe_load(result.split("---\n")[1])["tags"] == ["a", "b"]
    assert isinstance(AgentDiaryError("x"), Exception)


# --- property test of the surgical write --------------------------------------------------

_plain = st.text(alphabet="abcdefghij klmnop-_.,", min_size=1, max_size=12).map(str.strip) \
    .filter(lambda s: s and s[0] not in "-" and not s.endswith(("-", ".", ",")))
_value = st.one_of(
    _plain.map(lambda s: f"'{s}'"), _plain.map(lambda s: f'"{s}"'),
    st.integers(0, 9999).map(str), st.lists(_plain.map(lambda s: f'"{s}"'), max_size=3)
    .map(lambda items: "[" + ", ".join(items) + "]"),
)
_comment = st.sampled_from(["", "  # a comment", " # ünïcödé ✓"])


@st.composite
def front_matters(draw):
    """(original text, expected text) for random front matter around our two keys."""
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    names = draw(st.lists(st.sampled_from(["title", "status_note", "tags", "time_x", "alpha",
                                           "beta", "gamma"]), unique=True, max_size=5))
    parts: list[tuple[str, str | None]] = []  # (original lines, own key or None)
    for name in names:
        block = draw(st.booleans())
        if block:
            items = draw(st.lists(_plain, min_size=1, max_size=3))
            text = f"{name}:{newline}" + "".join(f"  - '{i}'{newline}" for i in items)
        else:
            text = f"{name}: {draw(_value)}{draw(_comment)}{newline}"
        parts.append((text, None))
        if draw(st.booleans()):
            parts.append((draw(st.sampled_from(["", "# note"])) + newline, None))
    own_keys = draw(st.sampled_from([(), ("tweet_ids",), ("posted_at",),
                                     ("tweet_ids", "posted_at")]))
    for key in own_keys:
        old = (f"tweet_ids: ['1', '2']{newline}" if draw(st.booleans())
               else f"tweet_ids:{newline}  - '1'{newline}") if key == "tweet_ids" \
            else f"posted_at: 2026-01-01T00:00:00Z{newline}"
        parts.insert(draw(st.integers(0, len(parts))), (old, key))
    body = draw(st.text(alphabet="abc xyz\n{}%#-", max_size=40))
    body = body.replace("\n", newline)
    trailing = draw(st.booleans())
    return newline, parts, body + ("" if trailing else "x"), own_keys


IDS = ["1861234567890123456", "1861234567890123457"]
POSTED = "2026-11-28T18:30:04Z"


@settings(max_examples=300, deadline=None)
@given(front_matters())
def test_write_changes_no_other_byte(case) -> None:
    newline, parts, body, own_keys = case
    new = {"tweet_ids": f'tweet_ids: ["{IDS[0]}", "{IDS[1]}"]{newline}',
           "posted_at": f'posted_at: "{POSTED}"{newline}'}
    original = f"---{newline}" + "".join(text for text, _ in parts) + f"---{newline}{body}"
    expected_parts: list[str] = []
    for text, key in parts:
        if key is None:
            expected_parts.append(text)
            continue
        expected_parts.append(new[key])
        if len(own_keys) == 1:  # the missing key goes right beside the existing one
            other = "posted_at" if key == "tweet_ids" else "tweet_ids"
            expected_parts.append(new[other])
    if not own_keys:
        expected_parts.append(new["tweet_ids"] + new["posted_at"])
    expected = f"---{newline}" + "".join(expected_parts) + f"---{newline}{body}"
    assert with_tweet_ids(original, IDS, POSTED) == expected


# --- messages a newcomer meets (issue 10) -------------------------------------------------

@pytest.mark.parametrize(("tags", "list_form"), [
    ("agents, devops", "tags: [agents, devops]"),
    ("agents devops", "tags: [agents, devops]"),
    ('"#agents, #devops"', "tags: [agents, devops]"),
])
def test_tags_written_as_text_are_refused_with_the_list_form(tags: str, list_form: str) -> None:
    with pytest.raises(InputError) as info:
        parse(f"---\ntitle: x\ntags: {tags}\n---\nBody\n")
    message = info.value.message
    assert "key 'tags'" in message and list_form in message
    assert "one piece of text, not a list" in message and info.value.exit_code == 2


def test_one_word_of_tags_is_one_tag() -> None:
    # As before issue 10: entries already posted with `tags: oauth` stay valid.
    assert parse("---\ntitle: x\ntags: oauth\n---\nBody\n").tags == ("oauth",)


def test_tags_as_text_is_exit_2_from_the_cli(repo) -> None:
    repo.entry("2026-11-28", "Body.\n", tags="agents, devops")
    repo.commit()
    result = repo.run("preview", "--date", "2026-11-28")
    assert result.code == 2, result.stdout
    assert "'tags'" in result.stderr and "tags: [agents, devops]" in result.stderr
    assert "#agentsdevops" not in result.stdout


def test_a_key_given_twice_is_refused_naming_both_lines() -> None:
    with pytest.raises(InputError) as info:
        parse("---\ntitle: x\nstatus: ready\ntags: [a]\nstatus: draft\n---\nBody\n")
    message = info.value.message
    assert "'status' is given twice (lines 3 and 5)" in message
    assert message.startswith("diary/2026-11-28.md: the front matter is not valid YAML (line 5)")


@pytest.mark.parametrize(("text", "last_key_line", "text_line"), [
    # The body's first line has a colon: YAML read it as an unknown key.
    ("---\ntitle: x\nstatus: ready\nToday I fixed the bug: the clock was wrong\n\n"
     "---\n\nMore.\n", 3, 4),
    # A body line YAML cannot read at all.
    ("---\ntitle: x\nstatus: ready\n\nToday I wrote code\nand more of it.\n\n---\nMore.\n",
     3, 5),
    ("---\ntitle: x\ntags:\n  - a\n  - b\nIt was a good day.\n---\nMore.\n", 5, 6),
    ("---\nstatus: ready\nA day of work, in short.\n---\nMore.\n", 2, 3),
    # Markdown that YAML reads as its own syntax: a list, a link, a quote, bold.
    ("---\ntitle: x\n\n- fixed the clock\n- fixed the PIN\n\n---\nMore.\n", 2, 4),
    ("---\ntitle: x\ntags:\n- a\n[The docs](https://x.com) helped.\n---\nMore.\n", 4, 5),
    ("---\ntitle: x\n> A quote to start.\n---\nMore.\n", 2, 3),
    ("---\ntitle: x\n**Bold** start.\n---\nMore.\n", 2, 3),
])
def test_a_missing_closing_marker_is_named(text: str, last_key_line: int,
                                           text_line: int) -> None:
    with pytest.raises(InputError) as info:
        parse(text)
    message = info.value.message
    assert f"closing '---' line is probably missing after line {last_key_line}" in message
    assert f"line {text_line}" in message
    assert "unknown key" not in message and "simple key" not in message


@pytest.mark.parametrize("text", [
    "---\nstauts: draft\n---\nBody\n",  # a typo stays a typo
    "---\nNote: one\n---\nBody\n",
    "---\ntags:\n- a\n- b\nstauts: draft\n---\nBody\n",
    "---\n{title: x,\nstauts: draft}\n---\nBody\n",
    "---\ntitle: x # note: one\nstauts: draft\n---\nBody\n",
])
def test_a_mistyped_key_is_still_an_unknown_key(text: str) -> None:
    with pytest.raises(InputError, match="unknown key") as info:
        parse(text)
    assert "probably missing" not in info.value.message


@pytest.mark.parametrize(("front", "shown"), [
    ("date: 2026-11-27", "key 'date': 2026-11-27 disagrees"),
    ("date: 2026-11-27 10:00:00", "key 'date': 2026-11-27T10:00:00 disagrees"),
    ("status: 2026-11-27", "key 'status': 2026-11-27 is not valid"),
    ("status: [a, 2026-11-27]", "key 'status': ['a', 2026-11-27] is not valid"),
    ("template: 2026-11-27", "key 'template': 2026-11-27 is not a template name"),
    ("2026-11-27: x", "unknown key 2026-11-27"),
    ("media: [{path: a.png, 2026-11-27: x}]", "unknown key 2026-11-27"),
    ("status: true", "key 'status': true is not valid"),
])
def test_values_are_shown_as_written_not_as_python(front: str, shown: str) -> None:
    with pytest.raises(InputError) as info:
        parse(f"---\n{front}\n---\nBody\n")
    assert shown in info.value.message
    assert "datetime" not in info.value.message and "True" not in info.value.message


@pytest.mark.parametrize(("written", "number", "quoted"), [
    ("18:00", 1080, '"18:00"'), ("7:05", 425, '"07:05"'), ("18:30:15", 66615, '"18:30:15"'),
])
def test_an_unquoted_time_is_shown_as_written(written: str, number: int, quoted: str) -> None:
    with pytest.raises(InputError) as info:
        parse(f"---\ntime: {written}\n---\nBody\n")
    message = info.value.message
    assert f"unquoted, {written} is read by YAML as the number {number}" in message
    assert f"time: {quoted}" in message and "an unquoted 18:30" not in message


_LINES = ["---", "title: x", "status: ready", "status: draft", "tags: a, b", "tags: [a]",
          "time: 18:00", "date: 2026-11-27", "Today I fixed it: done", "Some text.", "",
          "  - a", "- b", "# heading", "{a: 1}", "? x", ": y", "key:", "  nested: 1",
          "\ufeff---", "'quoted': 1", "yes: 1", "true: 2", "<<: {a: 1}", "a: |", "  text"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_LINES), st.text(max_size=20)), max_size=14),
       st.sampled_from(["\n", "\r\n"]))
def test_any_text_is_an_entry_or_an_input_error(lines: list[str], newline: str) -> None:
    try:
        result = parse(newline.join(lines))
    except InputError:
        return
    assert isinstance(result, Entry)
