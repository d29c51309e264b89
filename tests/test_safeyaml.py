"""YAML from a repository or the credentials file: no alias bombs, bounded depth, and
every failure a YAML input error with its line (property-tested)."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_diary.config import config_from_mapping, load_config
from agent_diary.errors import InputError
from agent_diary.text import safeyaml
from agent_diary.text.entry import Entry, parse_entry

DATE = dt.date(2026, 11, 28)

# ~300 bytes that expand to 9**8 strings when walked (the "billion laughs").
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefg", "bcdefgh", strict=True))


def test_plain_yaml_loads() -> None:
    assert safeyaml.load("a: [1, {b: x}]\nwhen: 2026-11-28\n", "t.yaml") == \
        {"a": [1, {"b": "x"}], "when": dt.date(2026, 11, 28)}
    assert safeyaml.load("", "t.yaml") is None


def test_aliases_are_refused_with_their_line() -> None:
    assert len(BOMB) < 400
    with pytest.raises(InputError) as info:
        safeyaml.load(BOMB, "config.yaml")
    message = info.value.message
    assert message.startswith("config.yaml: not valid YAML (line 1): ")
    assert "YAML anchors (&a) are not allowed" in message and len(message) < 400
    with pytest.raises(InputError) as info:
        safeyaml.load("a: 1\nb: *a\n", "config.yaml")
    assert "(line 2): YAML aliases (*a) are not allowed" in info.value.message
    assert info.value.exit_code == 2


def test_first_line_and_wording_for_front_matter() -> None:
    with pytest.raises(InputError) as info:
        safeyaml.load("title: x\ntags: *t\n", "diary/d.md", first_line=2,
                      what="the front matter is not valid YAML")
    assert info.value.message.startswith(
        "diary/d.md: the front matter is not valid YAML (line 3): YAML aliases (*t)")
    assert info.value.line == 3


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "{a: " * 5000 + "}" * 5000,
                                  "".join(f"{'  ' * i}k:\n" for i in range(5000)),
                                  "".join(f"{'  ' * i}- \n" for i in range(5000))])
def test_deep_nesting_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match=f"nested more than {safeyaml.MAX_DEPTH} levels"):
        safeyaml.load(text, "config.yaml")
    ok = "[" * safeyaml.MAX_DEPTH + "]" * safeyaml.MAX_DEPTH
    assert safeyaml.load(ok, "config.yaml") is not None


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("title: ok\ndate: 2026-13-01\n", 2, "'2026-13-01' is not a valid date"),
    ("title: 2026-02-30\n", 1, "quote it"),
    ("a:\n  b: !!int x\n", 2, "'x' is not a valid !!int"),
    ("a: !!float nope\n", 1, "!!float"),
    ("a: !!bool maybe\n", 1, "!!bool"),
    ("a: !!binary a\n", 1, "base64"),
    ("a: !!python/object/apply:os.system [echo]\n", 1, "python/object"),
    ("a: !!int 1" + "0" * 5000 + "\n", 1, "!!int"),
    ("a: \x01\n", 1, "unacceptable character"),
    ("a: 1\n---\nb: 2\n", 2, "single document"),
    ("a: 1\n? [b, c]\n: 2\n", 2, "unhashable"),
])
def test_every_failure_is_an_input_error_with_its_line(text: str, line: int,
                                                       fragment: str) -> None:
    with pytest.raises(InputError) as info:
        safeyaml.load(text, "config.yaml")
    assert info.value.message.startswith(f"config.yaml: not valid YAML (line {line}): ")
    assert fragment in info.value.message


# --- properties: whatever the text, a result or an InputError, never another exception --

_FRAGMENTS = ["a", "title", "status", "tags", "media", "tweet_ids", "posted_at", "date",
              "time", "x", "api_url", "schedule", "thread", "timezone", "2026-02-30",
              "2026-13-01", "2026-11-28", "18:30", "1e999", "0x1F", "0o17", "1_0", "-.inf",
              ".nan", "~", "null", "yes", "!!int", "!!float", "!!bool", "!!binary",
              "!!timestamp", "!!str", "!!set", "!!omap", "!!pairs", "!!map", "!!seq",
              "!!python/name:os.system", "!foo", "&a", "*a", "<<", "?", ":", ": ", "-", "- ",
              "[", "]", "{", "}", ",", "|", ">", "'", '"', "#", "%YAML 1.1", "---", "...",
              "\n", "\n  ", "\n    ", " ", "\t", "\r\n", "\x00", "\x85", "\ufeff", "\ud800",
              "é", "✓", "😀"]
yaml_ish = st.one_of(
    st.lists(st.sampled_from(_FRAGMENTS), max_size=30).map("".join),
    st.text(max_size=80),
    st.binary(max_size=80).map(lambda b: b.decode("utf-8", "replace")),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
)
FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(yaml_ish)
def test_any_front_matter_is_an_entry_or_an_input_error(front: str) -> None:
    try:
        result = parse_entry(f"---\n{front}\n---\nBody\n", DATE, "diary/2026-11-28.md")
    except InputError:
        return
    assert isinstance(result, Entry)


@FAST
@given(yaml_ish)
def test_any_config_text_is_a_config_or_an_input_error(text: str) -> None:
    with contextlib.suppress(InputError):
        config_from_mapping(safeyaml.load(text, "config.yaml"), "config.yaml", environ={})


@settings(max_examples=50, deadline=None)
@given(yaml_ish)
def test_any_config_file_is_a_config_or_an_input_error(tmp_path_factory, text: str) -> None:
    path: Path = tmp_path_factory.mktemp("config") / "config.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    with contextlib.suppress(InputError):
        load_config(path, environ={})


@pytest.mark.parametrize("value", ["0x" + "F" * 4000, "1" + "0" * 400, "-0b" + "1" * 70])
def test_a_number_too_large_for_any_setting_is_an_input_error(value: str) -> None:
    with pytest.raises(InputError, match="far too large"):
        safeyaml.load(f"title: {value}\n", "entry")


# --- a key given twice (YAML says keys are unique; PyYAML keeps the last silently) -------

@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("status: ready\nstatus: draft\n", 2, "key 'status' is given twice (lines 1 and 2)"),
    ("a: 1\nschedule:\n  time: '18:00'\n  poll: 5m\n  time: '19:00'\n", 5,
     "key 'time' is given twice (lines 3 and 5)"),
    ("{a: 1, b: 2, a: 3}\n", 1, "key 'a' is given twice on line 1"),
    ("- {x: 1}\n- x: 1\n  y: 2\n  x: 3\n", 4, "key 'x' is given twice (lines 2 and 4)"),
    ("yes: 1\ntrue: 2\n", 2, "key 'true' (line 2) is the same key as 'yes' (line 1)"),
    ("1: a\n0x1: b\n", 2, "key '0x1' (line 2) is the same key as '1' (line 1)"),
])
def test_a_key_given_twice_is_refused_with_both_lines(text: str, line: int,
                                                      fragment: str) -> None:
    with pytest.raises(InputError) as info:
        safeyaml.load(text, "config.yaml")
    assert info.value.message.startswith(f"config.yaml: not valid YAML (line {line}): ")
    assert fragment in info.value.message and info.value.exit_code == 2


def test_keys_given_once_and_merge_keys_still_load() -> None:
    assert safeyaml.load("a: {b: 1}\nc: {b: 2}\n", "t.yaml") == {"a": {"b": 1}, "c": {"b": 2}}
    # An explicit key overrides a merged one; that is what `<<` is for, not a repeat.
    assert safeyaml.load("<<: {a: 1, b: 2}\na: 3\n", "t.yaml") == {"a": 3, "b": 2}


def test_a_key_given_twice_in_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("timezone: UTC\nthread:\n  numbering: true\nthread:\n  max_posts: 3\n",
                    encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_config(path, environ={})
    assert info.value.message == (f"{path}: not valid YAML (line 4): key 'thread' is given "
                                  "twice (lines 2 and 4); keep one")


def test_a_profile_given_twice_in_the_credentials_file(tmp_path: Path) -> None:
    from agent_diary.auth import load_credentials

    path = tmp_path / "credentials.yaml"
    keys = "".join(f"  {k}: s3cr3t{k}\n" for k in ("consumer_key", "consumer_secret",
                                                  "access_token", "access_token_secret"))
    path.write_text(f"default:\n{keys}default:\n{keys}", encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(InputError) as info:
        load_credentials("default", environ={}, path=path)
    assert "(line 6)" in info.value.message and "s3cr3t" not in info.value.message


@FAST
@given(st.lists(st.sampled_from(["a", "b", "1", "0x1", "yes", "true", "'a'", "<<"]),
                max_size=6),
       st.sampled_from(["block", "flow"]))
def test_repeated_keys_are_an_input_error_or_a_mapping_without_repeats(keys, style) -> None:
    text = ("".join(f"{k}: {{v: {i}}}\n" for i, k in enumerate(keys)) if style == "block"
            else "{" + ", ".join(f"{k}: {i}" for i, k in enumerate(keys)) + "}")
    try:
        result = safeyaml.load(text, "t.yaml")
    except InputError as exc:
        assert any(why in exc.message for why in ("given twice", "same key as", "merging"))
        return
    assert result is None or len(result) == len({*map(str, result)})
