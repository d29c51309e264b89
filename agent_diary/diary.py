"""A diary repository on disk: where things are, dates, loading entries, init and new.

Finding the entry for a date is a path look-up (two candidate files), never a scan of
the diary, so a diary of 20,000 entries costs the same as one of ten.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import NamedTuple

from .config import Config, default_config_text, load_config
from .entry import Entry, parse_entry
from .errors import InputError, NothingToPost

PACKAGED_TEMPLATES = Path(__file__).parent / "templates"
_DATE_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})\.md")


class Diary(NamedTuple):
    """Every path of one diary repository, so tests can point it all at a temp dir."""

    root: Path
    config_path: Path

    @property
    def diary_dir(self) -> Path:
        return self.root / "diary"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def state_dir(self) -> Path:
        """Per-clone state (journal, lock): inside .git, so never committed."""
        return git_dir(self.root) / "agent-diary"

    @property
    def sandbox_dir(self) -> Path:
        """The sandbox's journal and emulator state, apart from the real ones."""
        return self.state_dir / "sandbox"

    def candidates(self, date: dt.date) -> list[Path]:
        name = f"{date.isoformat()}.md"
        return [self.diary_dir / name, self.diary_dir / f"{date.year:04d}" / name]

    def entry_path(self, date: dt.date) -> Path:
        """The entry file for `date`; NothingToPost naming the paths if there is none."""
        found = [path for path in self.candidates(date) if path.is_file()]
        if len(found) > 1:
            raise InputError(f"two entries for {date}: {self.rel(found[0])} and "
                             f"{self.rel(found[1])}; keep one")
        if not found:
            tried = " or ".join(self.rel(p) for p in self.candidates(date))
            raise NothingToPost(f"no entry for {date}: looked for {tried}; "
                                f"create one with 'agent-diary new --date {date}'")
        return found[0]

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def load_entry(self, date: dt.date) -> Entry:
        path = self.entry_path(date)
        return parse_entry(read_text(path, self.rel(path)), date, self.rel(path))

    def latest_date(self) -> dt.date:
        """The newest entry's date (this one does list the diary folder)."""
        newest: dt.date | None = None
        if self.diary_dir.is_dir():
            for _, _, files in os.walk(self.diary_dir):
                for name in files:
                    match = _DATE_NAME.fullmatch(name)
                    if match:
                        try:
                            date = dt.date.fromisoformat(match[1])
                        except ValueError:
                            continue
                        newest = date if newest is None or date > newest else newest
        if newest is None:
            raise NothingToPost(f"no entries in {self.rel(self.diary_dir)}/; create one with "
                                "'agent-diary new'")
        return newest

    def config(self) -> Config:
        return load_config(self.config_path)


def read_text(path: Path, label: str) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{label}: not UTF-8 text (byte {exc.start}); save it as UTF-8") \
            from None


def git_dir(root: Path) -> Path:
    """The repository's git directory (`.git` may be a file in a worktree)."""
    dotgit = root / ".git"
    if dotgit.is_file():
        text = dotgit.read_text(encoding="utf-8").strip()
        if text.startswith("gitdir:"):
            target = Path(text[len("gitdir:"):].strip())
            return target if target.is_absolute() else (root / target).resolve()
    return dotgit


def find_root(start: Path) -> Path:
    """The top of the git work tree containing `start`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    raise InputError(f"{start} is not inside a git repository; run 'git init' and "
                     "'agent-diary init' there, or pass --repo PATH")


def open_diary(repo: Path | None, config: Path | None) -> Diary:
    root = find_root(repo if repo is not None else Path.cwd())
    return Diary(root=root, config_path=config if config is not None else root / "config.yaml")


def resolve_date(spec: str, timezone: str, now: dt.datetime | None = None,
                 diary: Diary | None = None) -> dt.date:
    """`today`, `yesterday` (in the configured zone), `latest` or `YYYY-MM-DD`."""
    from zoneinfo import ZoneInfo

    if spec in ("today", "yesterday"):
        moment = now if now is not None else dt.datetime.now(dt.UTC)
        today = moment.astimezone(ZoneInfo(timezone)).date()
        return today if spec == "today" else today - dt.timedelta(days=1)
    if spec == "latest":
        if diary is None:
            raise InputError("--date latest needs a diary")
        return diary.latest_date()
    try:
        return dt.date.fromisoformat(spec)
    except ValueError:
        raise InputError(f"--date {spec!r}: expected today, yesterday, latest or a date "
                         "YYYY-MM-DD, e.g. 2026-11-28") from None


# --- init and new ------------------------------------------------------------------------

def init_layout(root: Path) -> list[tuple[str, bool]]:
    """Create config.yaml, diary/, templates/thread.j2; never overwrite. (path, created)."""
    results: list[tuple[str, bool]] = []
    created_git = not (root / ".git").exists()
    if created_git:
        from git import Repo

        Repo.init(root)
        results.append((".git", True))
    for folder in ("diary", "diary/media", "templates"):
        path = root / folder
        results.append((folder + "/", not path.exists()))
        path.mkdir(parents=True, exist_ok=True)
    files = {
        "config.yaml": default_config_text(),
        "templates/thread.j2": (PACKAGED_TEMPLATES / "thread.j2").read_text(encoding="utf-8"),
    }
    for name, text in files.items():
        results.append((name, write_new(root / name, text)))
    return results


def write_new(path: Path, text: str) -> bool:
    """Write a file only if it does not exist (atomically, via O_EXCL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except FileExistsError:
        return False
    return True


def entry_skeleton(date: dt.date, title: str | None) -> str:
    title_line = title if title else f"Day of {date.isoformat()}"
    quoted = '"' + title_line.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"""---
title: {quoted}
status: draft            # set to ready when the entry may be posted
tags: []
---
What happened today, in plain Markdown. Paragraphs are packed into posts of up to
280 characters; a line holding only --- starts a new post.
"""


def new_entry(diary: Diary, date: dt.date, title: str | None) -> Path:
    existing = [p for p in diary.candidates(date) if p.exists()]
    if existing:
        raise InputError(f"{diary.rel(existing[0])} already exists; edit it instead "
                         "(agent-diary new never overwrites)")
    path = diary.candidates(date)[0]
    if not write_new(path, entry_skeleton(date, title)):
        raise InputError(f"{diary.rel(path)} already exists; edit it instead")
    return path
