"""What the golden tests and tests/golden/regen.py share: inputs become outputs here."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Any

from agent_diary.config import load_config
from agent_diary.diary import Diary
from agent_diary.thread import build_thread

FM_IDS = ["1861234567890123456", "1861234567890123457"]
FM_POSTED_AT = "2026-11-28T18:30:04Z"
GOLDEN_DATE = dt.date(2026, 1, 15)


def thread_json(source: Path) -> dict[str, Any]:
    """The preview JSON of a golden entry, built in a throwaway diary.

    `NAME.config.yaml` beside `NAME.md`, if present, is that diary's config.yaml.
    """
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "diary").mkdir()
        shutil.copyfile(source, root / "diary" / f"{GOLDEN_DATE.isoformat()}.md")
        settings = source.with_name(source.stem + ".config.yaml")
        if settings.exists():
            shutil.copyfile(settings, root / "config.yaml")
        diary = Diary(root=root, config_path=root / "config.yaml")
        return build_thread(diary, load_config(diary.config_path), GOLDEN_DATE).as_json()
