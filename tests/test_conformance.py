"""The official twitter-text v3 counting cases, read from ../shared/conformance/."""

from __future__ import annotations

import json

import pytest
import yaml

from agent_diary.text.twittertext import MAX_WEIGHTED_LENGTH, is_valid, weighted_length

from .helpers import SHARED

CONFORMANCE = SHARED / "conformance"
# Each section with the rules version twitter-text's own harness runs it under: the first
# was written for v2 (emoji parsing off); X applies v3, which the other two exercise.
SECTIONS = {"WeightedTweetsCounterTest": 2, "WeightedTweetsWithDiscountedEmojiCounterTest": 3,
            "UnicodeDirectionalMarkerCounterTest": 3}


def _cases() -> list:
    path = CONFORMANCE / "twitter-text-validate.yml"
    if not path.exists():
        return [pytest.param(None, 3, marks=pytest.mark.skip(
            reason=f"{CONFORMANCE} is absent (it sits beside the checkout in CI only)"))]
    tests = yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
    return [pytest.param(case, version, id=f"{section}: {case['description']}")
            for section, version in SECTIONS.items() for case in tests[section]]


CASES = _cases()


def test_all_sections_are_present() -> None:
    if CASES and CASES[0].values[0] is None:
        pytest.skip(f"{CONFORMANCE} is absent")
    assert len(CASES) == 44  # the number the notes promise; a changed file must be looked at


@pytest.mark.parametrize(("case", "version"), CASES)
def test_weighted_length_and_validity(case: dict, version: int) -> None:
    text = case["text"]
    emoji_parsing = version >= 3
    assert weighted_length(text, emoji_parsing) == case["expected"]["weightedLength"]
    assert is_valid(text, emoji_parsing) is case["expected"]["valid"]


def test_counting_config_matches_v3() -> None:
    path = CONFORMANCE / "twitter-text-config-v3.json"
    if not path.exists():
        pytest.skip(f"{CONFORMANCE} is absent")
    config = json.loads(path.read_text(encoding="utf-8"))
    assert config["maxWeightedTweetLength"] == MAX_WEIGHTED_LENGTH
    # Spot-check the range boundaries of the config against the counter.
    for rng in config["ranges"]:
        for code in (rng["start"], rng["end"]):
            assert weighted_length(chr(code) + "a") == rng["weight"] // config["scale"] + 1
    assert weighted_length("\u1100" * 2) == 2 * config["defaultWeight"] // config["scale"]
