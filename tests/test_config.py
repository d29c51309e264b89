"""config.yaml: defaults, validation messages that name the key, environment override."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from agent_diary.config import SCHEMA, config_from_mapping, default_config_text, load_config
from agent_diary.errors import InputError


def test_missing_and_empty_config_mean_defaults(tmp_path: Path) -> None:
    for config in (load_config(tmp_path / "absent.yaml", environ={}),
                   config_from_mapping(None, environ={}), config_from_mapping({}, environ={})):
        assert config.timezone == "UTC"
        assert config.schedule.time == "18:00" and config.schedule.poll_seconds == 300
        assert config.thread.max_posts == 25 and config.thread.numbering is False
        assert config.x.api_url == "https://api.x.com"
        assert config.pricing.post == 0.015 and config.pricing.post_with_url == 0.20


def test_the_written_default_config_is_valid_and_complete() -> None:
    raw = yaml.safe_load(default_config_text())
    config = config_from_mapping(raw, environ={})
    assert config == config_from_mapping({}, environ={})
    written = {f"{section}.{key}" for section, value in raw.items() if isinstance(value, dict)
               for key in value} | {key for key, value in raw.items()
                                    if not isinstance(value, dict)}
    # Every key is written except the optional ones, which are commented examples.
    assert set(SCHEMA) - written == {"thread.repo_url", "git.author", "budget.monthly_usd",
                                     "budget.max_posts_per_thread"}


@pytest.mark.parametrize(("raw", "fragments"), [
    ({"timezon": "UTC"}, ["unknown config key 'timezon'", "did you mean 'timezone'?"]),
    ({"thread": {"max_post": 3}}, ["'thread.max_post'"]),
    ({"timezone": "Mars/Olympus"}, ["'timezone'", "not a known time zone", "Europe/Berlin"]),
    ({"schedule": {"time": "6pm"}}, ["'schedule.time'", '"18:30"']),
    ({"schedule": {"time": 1110}}, ["'schedule.time'", "quote it"]),
    ({"schedule": {"poll": "often"}}, ["'schedule.poll'", '"5m"']),
    ({"schedule": {"poll": "0s"}}, ["'schedule.poll'", '"1s"']),
    ({"schedule": {"max_posts_per_day": 0}}, ["'schedule.max_posts_per_day'"]),
    ({"x": {"profile": "a", "credentials": "b"}}, ["x.profile and x.credentials"]),
    ({"thread": {"numbering": "yes"}}, ["'thread.numbering'", "true or false"]),
    ({"thread": {"max_posts": 0}}, ["'thread.max_posts'", "from 1 to 100"]),
    ({"thread": "x"}, ["'thread'", "expected a mapping"]),
    ({"x": {"api_url": "ftp://x"}}, ["'x.api_url'", "https://api.x.com"]),
    ({"pricing": {"post": -1}}, ["'pricing.post'", "0.015"]),
    ({"budget": {"monthly_usd": "lots"}}, ["'budget.monthly_usd'"]),
    ({"budget": {"max_posts_per_thread": 0}}, ["'budget.max_posts_per_thread'"]),
    ({"git": {"author": "no email"}}, ["'git.author'", "Name <email@example.com>"]),
    (["a", "list"], ["expected a mapping of settings"]),
])
def test_errors_name_the_key_and_a_valid_value(raw, fragments: list[str]) -> None:
    with pytest.raises(InputError) as info:
        config_from_mapping(raw, environ={})
    for fragment in fragments:
        assert fragment in info.value.message
    assert info.value.exit_code == 2


def test_environment_overrides_the_api_url() -> None:
    config = config_from_mapping({"x": {"api_url": "https://api.x.com"}},
                                 environ={"AGENT_DIARY_X_API_URL": "http://127.0.0.1:9/"})
    assert config.x.api_url == "http://127.0.0.1:9"
    with pytest.raises(InputError, match="AGENT_DIARY_X_API_URL"):
        config_from_mapping({}, environ={"AGENT_DIARY_X_API_URL": "not a url"})


def test_seconds_in_times_and_the_credentials_alias() -> None:
    config = config_from_mapping({"schedule": {"time": "07:05:30"},
                                  "x": {"credentials": "work"}}, environ={})
    assert config.schedule.time == "07:05:30" and config.x.profile == "work"


def test_durations_and_yaml_errors(tmp_path: Path) -> None:
    assert config_from_mapping({"schedule": {"poll": "1h"}}, environ={}).schedule.poll_seconds \
        == 3600
    assert config_from_mapping({"schedule": {"poll": 90}}, environ={}).schedule.poll_seconds == 90
    bad = tmp_path / "config.yaml"
    bad.write_text("thread: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML"):
        load_config(bad, environ={})
    bad.write_bytes(b"timezone: \xff\n")
    with pytest.raises(InputError, match="not UTF-8"):
        load_config(bad, environ={})


def test_yaml_limits_in_config(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("thread: &t\n  numbering: true\ngit: *t\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_config(path, environ={})
    assert info.value.message.startswith(f"{path}: not valid YAML (line 1): YAML anchors (&t)")
    path.write_text("timezone: UTC\nthread: {max_posts: !!int x}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"\(line 2\): 'x' is not a valid !!int"):
        load_config(path, environ={})


@pytest.mark.parametrize("url", [
    "https://api.x.com", "https://api.x.com:8443/base", "http://127.0.0.1:18765",
    "http://127.9.9.9", "http://[::1]:8765", "http://localhost:8765", "HTTP://LOCALHOST",
])
def test_api_urls_that_may_receive_credentials(url: str) -> None:
    assert config_from_mapping({"x": {"api_url": url}}, environ={}).x.api_url == url


@pytest.mark.parametrize(("url", "fragments"), [
    ("http://api.x.com", ["'x.api_url'", "plain http", "https://", "loopback"]),
    ("http://192.168.1.5:8765", ["'x.api_url'", "plain http", "AGENT_DIARY_X_API_URL"]),
    ("http://127.0.0.1.evil.example", ["'x.api_url'", "plain http"]),
    ("https://user:pw@api.x.com", ["'x.api_url'", "user name or password"]),
    ("127.0.0.1:18765", ["'x.api_url'", "no scheme", "http://127.0.0.1:18765"]),
    ("api.x.com", ["'x.api_url'", "no scheme", "https://api.x.com"]),
    ("ftp://x", ["'x.api_url'", "https://api.x.com"]),
    ("https://", ["'x.api_url'", "no host"]),
    ("https://api.x.com:99999", ["'x.api_url'", "port"]),
    ("https://api.x.com/ x", ["'x.api_url'"]),
    (3, ["'x.api_url'"]),
])
def test_api_urls_that_must_not_receive_credentials(url, fragments: list[str]) -> None:
    with pytest.raises(InputError) as info:
        config_from_mapping({"x": {"api_url": url}}, environ={})
    for fragment in fragments:
        assert fragment in info.value.message
    assert "pw" not in info.value.message.replace("user name or password", "")


def test_the_environment_may_choose_plain_http_to_another_host() -> None:
    environ = {"AGENT_DIARY_X_API_URL": "http://emulator.internal:8765/"}
    assert config_from_mapping({}, environ=environ).x.api_url == "http://emulator.internal:8765"
    for bad, fragment in [("127.0.0.1:18765", "no scheme"), ("ftp://host", "http(s)"),
                          ("http://u:p@host", "user name or password")]:
        with pytest.raises(InputError) as info:
            config_from_mapping({}, environ={"AGENT_DIARY_X_API_URL": bad})
        assert "AGENT_DIARY_X_API_URL" in info.value.message and fragment in info.value.message


# --- messages a newcomer meets (issue 10) -------------------------------------------------

@pytest.mark.parametrize(("raw", "fragments", "absent"), [
    ({"timezon": "UTC"}, ["unknown config key 'timezon'", "did you mean 'timezone'?",
                          "top-level keys: timezone, schedule, thread"], ["pricing.read"]),
    ({"thread": {"max_post": 3}}, ["'thread.max_post'", "did you mean 'thread.max_posts'?",
                                   "thread keys: template, numbering, max_posts, repo_url"],
     ["pricing.read", "schedule"]),
    ({"schedule": {"tme": "18:00"}}, ["did you mean 'schedule.time'?",
                                      "schedule keys: time, poll"], ["thread.template"]),
    ({"threads": {"max_posts": 3}}, ["'threads.max_posts'", "did you mean 'thread.max_posts'?"],
     ["pricing.read"]),
    ({"x": {"zzz": 1}}, ["unknown config key 'x.zzz'", "x keys: api_url, profile"],
     ["did you mean", "pricing.read"]),
])
def test_an_unknown_key_suggests_the_closest(raw, fragments: list[str],
                                             absent: list[str]) -> None:
    with pytest.raises(InputError) as info:
        config_from_mapping(raw, environ={})
    for fragment in fragments:
        assert fragment in info.value.message
    for fragment in absent:
        assert fragment not in info.value.message


@pytest.mark.parametrize("raw", [
    {"x": {"consumer_key": "SECRETVALUE"}},
    {"x": {"consumer_secret": "SECRETVALUE"}},
    {"x": {"access_token": "SECRETVALUE"}},
    {"x": {"access_token_secret": "SECRETVALUE", "profile": "default"}},
    {"bluesky": {"app_password": "SECRETVALUE"}},
    {"mastodon": {"access_token": "SECRETVALUE"}},
    {"consumer_key": "SECRETVALUE"},
    {"openai_api_key": "SECRETVALUE"},
    {"x": {"credentials": {"consumer_secret": "SECRETVALUE"}}},
    {"thread": {"github_token": "SECRETVALUE"}},
    {"git": {"password": "SECRETVALUE"}},
])
def test_a_secret_in_the_config_says_where_secrets_go(raw) -> None:
    with pytest.raises(InputError) as info:
        config_from_mapping(raw, environ={})
    message = info.value.message
    assert "SECRETVALUE" not in message
    assert "secrets never go in config.yaml" in message and "committed" in message
    assert "X_CONSUMER_KEY" in message and "agent-diary auth" in message
    assert "credentials.yaml" in message and info.value.exit_code == 2


@pytest.mark.parametrize(("raw", "fragment"), [
    ({"timezone": dt.date(2026, 11, 27)}, "'timezone': 2026-11-27 is not valid"),
    ({"thread": {"numbering": dt.date(2026, 11, 27)}}, "'thread.numbering': 2026-11-27 is not"),
    ({"schedule": {"poll": [dt.date(2026, 11, 27)]}}, "'schedule.poll': [2026-11-27] is not"),
    ({dt.date(2026, 11, 27): 1}, "key 2026-11-27 is not a name"),
    ({"schedule": {"time": dt.datetime(2026, 11, 27, 18, 0)}},
     "'schedule.time': 2026-11-27T18:00:00 is not valid"),
    ({"x": {"api_url": True}}, "'x.api_url': true is not valid"),
])
def test_config_values_are_shown_as_written_not_as_python(raw, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        config_from_mapping(raw, environ={})
    assert fragment in info.value.message
    assert "datetime" not in info.value.message and "True" not in info.value.message


@pytest.mark.parametrize(("written", "number", "quoted"), [
    ("18:00", 1080, '"18:00"'), ("9:30", 570, '"09:30"'), ("6:00:30", 21630, '"06:00:30"'),
])
def test_an_unquoted_schedule_time_is_shown_as_written(tmp_path: Path, written: str,
                                                       number: int, quoted: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"schedule:\n  time: {written}\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_config(path, environ={})
    message = info.value.message
    assert f"key 'schedule.time': unquoted, {written} is read by YAML as the number {number}" \
        in message
    assert f"quote it: time: {quoted}" in message and "18:30" not in message


def test_a_plain_number_as_a_time_is_not_called_base_60() -> None:
    with pytest.raises(InputError) as info:
        config_from_mapping({"schedule": {"time": 5}}, environ={})
    assert "5 is not valid" in info.value.message and "base 60" not in info.value.message
