"""X's error bodies, whatever their shape, become a message that says what X said."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_diary.errors import AccountError, InputError, TemporaryError
from agent_diary.networks.x import map_http_error

from .helpers import DiaryRepo, EmulatorHandle, thread_entry

DATE = "2026-11-28"
PROBLEM = "https://api.x.com/2/problems/"
ACTION = "creating a post (POST /2/tweets)"


def message(status: int, problem: dict[str, Any]) -> str:
    return map_http_error(status, problem, {}, ACTION, 0.0).message


@pytest.mark.parametrize(("problem", "said"), [
    # X v2's "errors" items carry detail and title, often no message.
    ({"errors": [{"detail": "Cannot parse parameter reply", "title": "Invalid Request",
                  "type": PROBLEM + "invalid-request"}]}, "Cannot parse parameter reply"),
    ({"errors": [{"title": "Not Found Error", "type": PROBLEM + "resource-not-found"}]},
     "Not Found Error"),
    ({"errors": [{"message": "Your Tweet text is too long.", "detail": "too long"}]},
     "Your Tweet text is too long."),
    ({"title": "Invalid Request", "detail": "One or more parameters to your request was "
      "invalid.", "errors": [{"parameters": {"text": ["x"]}, "message": "Bad text"}]},
     "Invalid Request: One or more parameters to your request was invalid.: Bad text"),
    ({"errors": [{"detail": "First"}, {"message": None, "detail": "Second"}]},
     "First: Second"),
    ({"errors": [{"code": 32}, "not a mapping"]}, "not a mapping"),
])
def test_each_error_item_says_its_message_detail_or_title(problem: dict[str, Any],
                                                          said: str) -> None:
    text = message(400, problem)
    assert text == f"X answered 400 while {ACTION}: {said}"
    assert "None" not in text


@pytest.mark.parametrize("problem", [{}, {"errors": []}, {"errors": [{}]},
                                     {"errors": [{"code": 131}]}, {"title": None, "detail": ""},
                                     {"errors": "oops"}])
def test_a_body_without_details_says_so(problem: dict[str, Any]) -> None:
    text = message(400, problem)
    assert text == f"X answered 400 while {ACTION}: X gave no reason (the body was empty, " \
                   "not JSON, or had no message)"


def test_an_error_item_is_matched_like_the_problem() -> None:
    duplicate = {"errors": [{"detail": "You are not allowed to create a Tweet with "
                                       "duplicate content.", "title": "Forbidden"}]}
    assert message(403, duplicate) == f"X refused a duplicate post while {ACTION}"
    forbidden = message(403, {"errors": [{"detail": "Not allowed here", "title": "Forbidden"}]})
    assert forbidden == f"X answered 403 Forbidden while {ACTION}: Not allowed here"


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                       lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
WORDS = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20).filter(
    lambda s: "None" not in s)


@settings(max_examples=300, deadline=None)
@given(status=st.sampled_from([400, 401, 403, 404, 409, 429, 500, 503]),
       problem=st.fixed_dictionaries({}, optional={
           "title": st.none() | WORDS, "detail": st.none() | WORDS, "type": WORDS,
           "errors": st.lists(st.fixed_dictionaries({}, optional={
               "message": st.none() | WORDS, "detail": st.none() | WORDS,
               "title": st.none() | WORDS, "code": st.integers(), "value": JSONISH}),
               max_size=3)}))
def test_no_error_body_prints_none(status: int, problem: dict[str, Any]) -> None:
    text = message(status, problem)
    assert text and "None" not in text


# --- end to end: `publish` against the emulator answering with such bodies ------------

@pytest.fixture
def entry(repo: DiaryRepo) -> DiaryRepo:
    repo.write(f"diary/{DATE}.md", thread_entry(2))
    repo.commit()
    return repo


def test_publish_says_what_an_error_item_detail_says(entry: DiaryRepo,
                                                     emulator: EmulatorHandle) -> None:
    emulator.fault(status=400, body={"errors": [{
        "detail": "Cannot parse parameter reply.in_reply_to_tweet_id", "title":
        "Invalid Request", "type": PROBLEM + "invalid-request"}]})
    result = entry.run("publish", "--date", DATE, env=emulator.env())
    assert result.code == InputError.exit_code, result.stderr
    assert "X answered 400 while creating a post (POST /2/tweets): Cannot parse parameter " \
           "reply.in_reply_to_tweet_id" in result.stderr
    assert "None" not in result.stderr
    assert emulator.posts() == []


def test_publish_on_an_html_503_says_x_is_down(entry: DiaryRepo,
                                               emulator: EmulatorHandle) -> None:
    emulator.fault(method="GET", path="/2/users/me", times=0, preset="unavailable")
    result = entry.run("publish", "--date", DATE, env=emulator.env())
    assert result.code == TemporaryError.exit_code, result.stderr
    assert "X answered 503 while reading the account (GET /2/users/me) (X is down or " \
           "overloaded); rerun later" in result.stderr
    assert "<html>" not in result.stderr and "None" not in result.stderr


def test_publish_on_an_empty_403_says_x_gave_no_reason(entry: DiaryRepo,
                                                       emulator: EmulatorHandle) -> None:
    emulator.fault(status=403, body="")
    result = entry.run("publish", "--date", DATE, env=emulator.env())
    assert result.code == AccountError.exit_code, result.stderr
    assert "X answered 403 Forbidden while creating a post (POST /2/tweets): X gave no " \
           "reason (the body was empty, not JSON, or had no message)" in result.stderr
    assert emulator.posts() == []


@pytest.mark.parametrize("body", [{"errors": None}, {"errors": "x"}, {"errors": [None, 3]},
                                  {"title": "UsageCapExceeded", "period": None,
                                   "type": "https://api.x.com/2/problems/usage-capped"}])
def test_odd_error_bodies_are_mapped_not_crashed(body: dict) -> None:
    for status in (401, 403, 429, 500):
        error = map_http_error(status, body, {}, "creating a post", 0.0)
        assert "None" not in error.message
