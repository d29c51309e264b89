"""Regenerate the golden files from the current code; review the diff before committing.

    python tests/golden/regen.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from agent_diary.text.entry import with_tweet_ids  # noqa: E402
from tests.golden_support import FM_IDS, FM_POSTED_AT, thread_json  # noqa: E402


def main() -> None:
    for source in sorted((HERE / "frontmatter").glob("*.md")):
        if source.name.endswith(".expected.md"):
            continue
        text = source.read_bytes().decode("utf-8")
        result = with_tweet_ids(text, FM_IDS, FM_POSTED_AT, source.name)
        source.with_suffix(".expected.md").write_bytes(result.encode("utf-8"))
    for source in sorted((HERE / "threads").glob("*.md")):
        data = thread_json(source)
        source.with_suffix(".thread.json").write_text(
            json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print("regenerated; review with: git diff tests/golden")


if __name__ == "__main__":
    main()
