"""Golden files: entries → threads, and entries → front matter with tweet IDs.

Regenerate only with `python tests/golden/regen.py`, and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_diary.text.entry import with_tweet_ids

from .golden_support import FM_IDS, FM_POSTED_AT, thread_json

GOLDEN = Path(__file__).parent / "golden"
THREADS = sorted((GOLDEN / "threads").glob("*.md"))
FRONT_MATTER = sorted(p for p in (GOLDEN / "frontmatter").glob("*.md")
                      if not p.name.endswith(".expected.md"))


def test_golden_sets_are_not_empty() -> None:
    assert len(THREADS) >= 8 and len(FRONT_MATTER) >= 12


@pytest.mark.parametrize("source", THREADS, ids=lambda p: p.stem)
def test_thread(source: Path) -> None:
    expected = json.loads(source.with_suffix(".thread.json").read_text(encoding="utf-8"))
    assert thread_json(source) == expected


@pytest.mark.parametrize("source", FRONT_MATTER, ids=lambda p: p.stem)
def test_front_matter_write(source: Path) -> None:
    text = source.read_bytes().decode("utf-8")
    expected = source.with_suffix(".expected.md").read_bytes().decode("utf-8")
    assert with_tweet_ids(text, FM_IDS, FM_POSTED_AT, source.name) == expected
